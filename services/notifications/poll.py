"""The unread-count poll, answered in front of Flask.

Every open tab polls the count, most often a cache hit that needs one verified (and cached)
token and one MGET; Flask's request context, dispatch and hooks would cost more than all of
that. So a user's GET of the count is answered here, by the route's own functions: the
counts from counts.unread_counts (cache or database, never stale), status, headers and
payload from routes.counts_answer, the log line and latency metric from
shared.observability.record_request, and Flask's error handlers for a failure. Everything
else goes to Flask untouched: another path or method, a missing or bad token, a service
token, or LOG_QUERY_TIMES (its Server-Timing header comes from Flask's hooks).

It does what the app's request hooks do (shared/observability.py's), and no more: a hook it
does not know would be skipped for polls, so it refuses to start beside one, and should one be
added after the app was made, it sends every poll through Flask and logs an error.
"""

import logging
import time

from flask import Flask, g
from werkzeug.http import HTTP_STATUS_CODES

from services.notifications.counts import lookup, unread_counts
from services.notifications.routes import counts_answer
from shared.auth import bearer_token
from shared.observability import REQUEST_ID_HEADER, record_request, request_id, request_queries

ENDPOINT = "notifications.unread_count"
# The request hooks whose work the poll does itself (request id, log line, metrics).
MIRRORED = {f"shared.observability.register_observability.<locals>.{name}"
            for name in ("start_request", "finish_request", "reset_stats")}
log = logging.getLogger(__name__)


def unknown_hooks(app: Flask) -> list[str]:
    """Request hooks that would run for the poll's route in Flask but not in front of it."""
    blueprint = ENDPOINT.rsplit(".", 1)[0]
    found = []
    for hooks in (app.before_request_funcs, app.after_request_funcs,
                  app.teardown_request_funcs, app.url_value_preprocessors):
        for scope in (None, blueprint):
            for hook in hooks.get(scope, ()):
                name = f"{hook.__module__}.{hook.__qualname__}"
                if name not in MIRRORED:
                    found.append(name)
    return found


class UnreadCountPoll:
    """WSGI middleware: a signed-in user's GET of the unread count, without Flask's dispatch."""

    def __init__(self, app: Flask, wsgi_app):
        unknown = unknown_hooks(app)
        if unknown:
            raise RuntimeError(f"the unread-count poll would skip the request hooks {unknown}: "
                               "make it do their work too, or drop the poll")
        self.app, self.next = app, wsgi_app
        self.checked = False
        self.service = app.name
        self.route = next(r.rule for r in app.url_map.iter_rules(ENDPOINT))
        self.poll_interval = app.config["NOTIFICATION_POLL_INTERVAL"]
        self.verifier = app.extensions["cohort.auth"]
        self.cache = app.extensions["cohort.coherent"]
        self.flag = app.config["FLAGS"]["USE_NOTIFICATION_CACHE"]
        self.enabled = app.config["FLAGS"]["LOG_QUERY_TIMES"].percent < 100

    def __call__(self, environ, start_response):
        if not self.checked:  # hooks can be added until the first request, not after
            self.checked = True
            unknown = unknown_hooks(self.app)
            if unknown:
                log.error("request hooks %s were added after the app was made: every poll "
                          "now goes through Flask", unknown)
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
        looked_up = (lookup(self.cache, self.service, user.user_id)
                     if self.cache.kind != "null" and self.flag.enabled(user.user_id) else None)
        if looked_up is not None and looked_up.value is not None:  # a hit: no app context
            counts, queries, db_seconds = looked_up.value, 0, 0.0
        else:
            with self.app.app_context(), request_queries() as stats:
                try:
                    counts = unread_counts(user.user_id, looked_up)
                except Exception as exc:  # answered as the route's failure would be
                    return self.failed(environ, start_response, exc, user, rid, started, stats)
            queries, db_seconds = stats.count, stats.seconds
        status, headers, payload = counts_answer(
            counts, environ.get("HTTP_IF_NONE_MATCH"), self.poll_interval)
        headers.append((REQUEST_ID_HEADER, rid))
        record_request(self.service, rid, user, "GET", self.route, self.route, status,
                       time.perf_counter() - started, queries, db_seconds)
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}", headers)
        return [payload]

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


def register_unread_count_poll(app: Flask) -> None:
    app.wsgi_app = UnreadCountPoll(app, app.wsgi_app)
