"""Hot GETs answered in front of Flask, by the route's own functions.

A route every open page calls again and again (the unread count, the leaderboard) does less
work of its own than Flask's request context, dispatch and hooks do around it. A FrontRoute
answers a signed-in user's GET of it before Flask sees it: the route's answer comes from a
handler built on the route's own functions, the log line and latency metric from
shared.observability.record_request, a failure from Flask's error handlers. Everything else
goes to Flask untouched: another path or method, a missing or bad token, a service token,
what the handler declines (it returns None: bad parameters, a case only the route knows),
and every request under LOG_QUERY_TIMES (its Server-Timing header comes from Flask's hooks).
Work the route leaves for after its answer (`after_response`) runs once the answer is sent,
wherever it was answered.

It does what the app's request hooks do (shared/observability.py's), and no more: a hook it
does not know would be skipped, so it refuses to start beside one, and should one be added
after the app was made, it sends every request through Flask and logs an error.
"""

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from urllib.parse import parse_qsl

from flask import Flask, after_this_request, g
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import ClosingIterator

from shared.auth import Principal, bearer_token
from shared.observability import REQUEST_ID_HEADER, record_request, request_id, request_queries

# The request hooks whose work a front route does itself (request id, log line, metrics).
MIRRORED = {f"shared.observability.register_observability.<locals>.{name}"
            for name in ("start_request", "finish_request", "reset_stats")}
log = logging.getLogger(__name__)

# (environ, user) -> (status, headers, payload), or None to leave the request to Flask.
Handler = Callable[[dict, Principal], tuple[int, list, bytes] | None]
# The work a front route's answer leaves for after it is sent; None outside one.
_after: ContextVar[list | None] = ContextVar("after_response", default=None)


def after_response(work: Callable[[], None]) -> None:
    """Run `work` once the answer is sent (it then has no request context), whether a front
    route or Flask answers."""
    pending = _after.get()
    if pending is not None:
        pending.append(work)
        return

    @after_this_request
    def schedule(response):
        response.call_on_close(work)
        return response


def unknown_hooks(app: Flask, endpoint: str) -> list[str]:
    """Request hooks that would run for the endpoint in Flask but not in front of it."""
    blueprint = endpoint.rsplit(".", 1)[0]
    found = []
    for hooks in (app.before_request_funcs, app.after_request_funcs,
                  app.teardown_request_funcs, app.url_value_preprocessors):
        for scope in (None, blueprint):
            for hook in hooks.get(scope, ()):
                name = f"{hook.__module__}.{hook.__qualname__}"
                if name not in MIRRORED:
                    found.append(name)
    return found


def query_args(environ: dict) -> dict[str, str]:
    """The query string as the route's `query` decorator reads it: the first value of each
    name, empty values left out."""
    pairs = parse_qsl(environ.get("QUERY_STRING", "").encode("latin-1").decode(),
                      keep_blank_values=True, errors="werkzeug.url_quote")
    args = {}
    for name, value in pairs:
        args.setdefault(name, value)
    return {name: value for name, value in args.items() if value != ""}


class FrontRoute:
    """WSGI middleware: a signed-in user's GET of one endpoint, without Flask's dispatch."""

    def __init__(self, app: Flask, endpoint: str, handler: Handler):
        unknown = unknown_hooks(app, endpoint)
        if unknown:
            raise RuntimeError(f"the front route of {endpoint} would skip the request hooks "
                               f"{unknown}: make it do their work too, or drop it")
        self.app, self.next, self.endpoint, self.handler = app, app.wsgi_app, endpoint, handler
        self.checked = False
        self.service = app.name
        self.route = next(r.rule for r in app.url_map.iter_rules(endpoint))
        self.verifier = app.extensions["cohort.auth"]
        self.enabled = app.config["FLAGS"]["LOG_QUERY_TIMES"].percent < 100

    def __call__(self, environ, start_response):
        if not self.checked:  # hooks can be added until the first request, not after
            self.checked = True
            unknown = unknown_hooks(self.app, self.endpoint)
            if unknown:
                log.error("request hooks %s were added after the app was made: every request "
                          "to %s now goes through Flask", unknown, self.route)
                self.enabled = False
        if (self.enabled and environ.get("PATH_INFO") == self.route
                and environ.get("REQUEST_METHOD") == "GET"):
            token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
            user = self.verifier.user(token) if token else None
            if user is not None:
                return self.answer(environ, start_response, user)
        return self.next(environ, start_response)

    def answer(self, environ, start_response, user):
        started = time.perf_counter()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        pending = _after.set([])
        try:
            with request_queries() as stats:
                try:
                    answered = self.handler(environ, user)
                except Exception as exc:  # answered as the route's failure would be
                    return self.failed(environ, start_response, exc, user, rid, started, stats)
        finally:
            after = _after.get()
            _after.reset(pending)
        if answered is None:
            return self.next(environ, start_response)
        status, headers, payload = answered
        headers.append((REQUEST_ID_HEADER, rid))
        record_request(self.service, rid, user, "GET", self.route, self.route, status,
                       time.perf_counter() - started, stats.count, stats.seconds)
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}", headers)
        return ClosingIterator([payload], after) if after else [payload]

    def failed(self, environ, start_response, exc, user, rid, started, stats):
        """Flask's own error answer (problem details) for `exc`."""
        with self.app.request_context(environ):
            g.request_id = rid
            response = self.app.make_response(self.app.handle_user_exception(exc))
        response.headers[REQUEST_ID_HEADER] = rid
        record_request(self.service, rid, user, "GET", self.route, self.route,
                       response.status_code, time.perf_counter() - started, stats.count,
                       stats.seconds)
        return response(environ, start_response)


def register_front_route(app: Flask, endpoint: str, handler: Handler) -> None:
    """Answer the signed-in users' GETs of `endpoint` with `handler`, in front of Flask."""
    app.wsgi_app = FrontRoute(app, endpoint, handler)
