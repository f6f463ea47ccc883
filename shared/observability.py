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


@event.listens_for(Engine, "before_cursor_execute")
def _before_query(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("query_started", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def _after_query(conn, cursor, statement, parameters, context, executemany):
    elapsed = time.perf_counter() - conn.info["query_started"].pop()
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


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any `fields` passed."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Log JSON lines to stdout, once per process."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "cohort", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
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
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
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
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        principal = g.get("principal")
        request_log.info("request", extra={"fields": {
            "service": service,
            "request_id": g.request_id,
            "user": principal.user_id if principal and not principal.is_service else None,
            "role": principal.role if principal else None,
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
            "queries": stats.count,
            "db_ms": round(stats.seconds * 1000, 2),
        }})
        observe_request(service, request.method, route, response.status_code, elapsed)
        return response

    @app.teardown_request
    def reset_stats(exc):
        if g.pop("query_stats_token", None) is not None:
            _stats.set(None)
