"""Request ids, one JSON log line per request, and per-request query statistics."""

import json
import logging
import re
import sys
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from shared.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-ID"
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
slow_log = logging.getLogger("cohort.slow_query")
request_log = logging.getLogger("cohort.request")


@dataclass
class QueryStats:
    """Queries run and time spent in the database, for one request or command."""

    count: int = 0
    seconds: float = 0.0
    log_slow_ms: float | None = None


_stats: ContextVar[QueryStats | None] = ContextVar("query_stats", default=None)


@contextmanager
def count_queries(log_slow_ms: float | None = None):
    """Collect the queries run inside the block (tests use it for query budgets)."""
    stats = QueryStats(log_slow_ms=log_slow_ms)
    token = _stats.set(stats)
    try:
        yield stats
    finally:
        _stats.reset(token)


@contextmanager
def request_queries():
    """The query stats of one request; a count_queries block around it sees them too."""
    outer = _stats.get()
    if outer is not None:
        yield outer
        return
    with count_queries() as stats:
        yield stats


@event.listens_for(Engine, "before_cursor_execute")
def _before_query(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("query_started", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def _after_query(conn, cursor, statement, parameters, context, executemany):
    record_query(statement, time.perf_counter() - conn.info["query_started"].pop())


def record_query(statement: str, elapsed: float) -> None:
    """Count a statement the database ran toward the current request's or block's stats."""
    stats = _stats.get()
    if stats is None:
        return
    stats.count += 1
    stats.seconds += elapsed
    if stats.log_slow_ms is not None and elapsed * 1000 >= stats.log_slow_ms:
        slow_log.warning("slow query", extra={"fields": {
            "duration_ms": round(elapsed * 1000, 2), "statement": statement[:2000],
            "request_id": g.get("request_id") if g else None,
        }})


# One encoder for every line: json.dumps(default=...) would build a new one a call.
_encode = json.JSONEncoder(default=str).encode
_second_formatted = (0, "1970-01-01T00:00:00")


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds; the part down to the second is formatted once."""
    global _second_formatted
    second = int(created)
    if _second_formatted[0] != second:
        _second_formatted = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second_formatted[1]}.{int((created - second) * 1000):03d}Z"


def json_line(created: float, level: str, logger: str, msg: str, fields: dict) -> str:
    """A log line: time, level, logger, message, then `fields`."""
    return _encode({"ts": _timestamp(created), "level": level, "logger": logger, "msg": msg,
                    **fields})


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any `fields` passed."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        if record.exc_info:
            fields = {**fields, "exc": self.formatException(record.exc_info)}
        return json_line(record.created, record.levelname.lower(), record.name,
                         record.getMessage(), fields)


class JsonLineHandler(logging.StreamHandler):
    """The handler of the service's JSON lines on the root logger."""

    def write_line(self, line: str) -> None:
        """Write a line formatted already: one write and one flush, as emit() would."""
        self.acquire()
        try:
            self.stream.write(line + self.terminator)
            self.flush()
        finally:
            self.release()


def _sole_handler() -> JsonLineHandler | None:
    """Our handler, when it alone would get the request log's INFO records (tests and other
    tools that add a handler or filter get real records instead)."""
    root = logging.getLogger()
    if request_log.handlers or request_log.filters or root.filters or not request_log.propagate:
        return None
    if len(root.handlers) != 1:
        return None
    handler = root.handlers[0]
    if type(handler) is not JsonLineHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler


def log_request(fields: dict) -> None:
    """The request's one log line (logger cohort.request, level info).

    It is written on every request, so when nothing but our handler listens, the line goes
    straight to it, skipping the LogRecord and handler chain that would cost several times
    more; the line is the same as JsonFormatter's.
    """
    if not request_log.isEnabledFor(logging.INFO):
        return
    handler = _sole_handler()
    if handler is None:
        request_log.info("request", extra={"fields": fields})
        return
    handler.write_line(json_line(time.time(), "info", request_log.name, "request", fields))


def request_id(incoming: str) -> str:
    """The caller's request id when it is a valid one, else a new one."""
    return incoming if VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def record_request(service: str, request_id: str, principal, method: str, route: str,
                   path: str, status: int, seconds: float, queries: int = 0,
                   db_seconds: float = 0.0) -> None:
    """The request's log line and latency metric, wherever the request was answered."""
    log_request({
        "service": service,
        "request_id": request_id,
        "user": principal.user_id if principal and not principal.is_service else None,
        "role": principal.role if principal else None,
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "queries": queries,
        "db_ms": round(db_seconds * 1000, 2),
    })
    observe_request(service, method, route, status, seconds)


def configure_logging(level: str) -> None:
    """Log JSON lines to stdout, once per process."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "cohort", False) for h in root.handlers):
        handler = JsonLineHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler.cohort = True
        logging.Formatter.converter = time.gmtime
        root.addHandler(handler)


def register_observability(app: Flask) -> None:
    """Request id in and out, query stats, one log line, and optionally Server-Timing."""
    timing = app.config["FLAGS"]["LOG_QUERY_TIMES"].percent == 100
    slow_ms = app.config["SLOW_QUERY_MS"] if timing else None
    service = app.name

    @app.before_request
    def start_request():
        g.request_id = request_id(request.headers.get(REQUEST_ID_HEADER, ""))
        g.started = time.perf_counter()
        outer = _stats.get()  # a test's count_queries block sees the request's queries too
        if outer is None:
            g.query_stats = QueryStats(log_slow_ms=slow_ms)
            g.query_stats_token = _stats.set(g.query_stats)
        else:
            g.query_stats = outer

    @app.after_request
    def finish_request(response):
        started = g.get("started")
        if started is None:  # a request that failed before start_request ran
            return response
        elapsed = time.perf_counter() - started
        stats = g.query_stats
        response.headers[REQUEST_ID_HEADER] = g.request_id
        if timing:
            response.headers["Server-Timing"] = (
                f'db;dur={stats.seconds * 1000:.2f};desc="{stats.count} queries", '
                f"app;dur={elapsed * 1000:.2f}"
            )
        rule = request.url_rule
        record_request(service, g.request_id, g.get("principal"), request.method,
                       rule.rule if rule else "<unmatched>", request.path,
                       response.status_code, elapsed, stats.count, stats.seconds)
        return response

    @app.teardown_request
    def reset_stats(exc):
        if g.pop("query_stats_token", None) is not None:
            _stats.set(None)
