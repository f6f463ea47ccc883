"""The unread-count poll answered from the cache in front of Flask.

Every open tab polls the count. On a cache hit the answer needs one verified (and cached)
token and one MGET, and Flask's request context, dispatch and hooks would cost more than all
of that. So a hit is answered here, with the route's own status, headers and payload
(routes.counts_answer), log line and latency metric (shared.observability.record_request).
Anything else goes to Flask untouched: another path or method, a missing or bad token, a
service token, the flag off for this user, a cache miss, or Server-Timing asked for.
"""

import logging
import time

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from services.notifications.counts import cached_counts
from services.notifications.routes import counts_answer
from shared.auth import bearer_token
from shared.observability import REQUEST_ID_HEADER, record_request, request_id

log = logging.getLogger(__name__)
ENDPOINT = "notifications.unread_count"
STATUS_LINES = {code: f"{code} {HTTP_STATUS_CODES[code].upper()}" for code in (200, 304)}


class CachedPoll:
    """WSGI middleware: cache hits of GET unread-count, answered without entering Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.next = wsgi_app
        self.service = app.name
        self.route = next(r.rule for r in app.url_map.iter_rules(ENDPOINT))
        self.flag = app.config["FLAGS"]["USE_NOTIFICATION_CACHE"]
        self.poll_interval = app.config["NOTIFICATION_POLL_INTERVAL"]
        self.verifier = app.extensions["cohort.auth"]
        self.cache = app.extensions["cohort.cache"]
        # Server-Timing is added by Flask's after_request hook: leave those polls to it.
        self.enabled = (self.flag.percent > 0 and self.cache.kind != "null"
                        and app.config["FLAGS"]["LOG_QUERY_TIMES"].percent < 100)

    def __call__(self, environ, start_response):
        if (self.enabled and environ.get("PATH_INFO") == self.route
                and environ.get("REQUEST_METHOD") == "GET"):
            try:
                answer = self.answer(environ)
            except Exception:  # a fault here must not cost the poll: Flask answers it
                log.exception("cached poll failed; answering through Flask")
                answer = None
            if answer is not None:
                status, headers, payload = answer
                start_response(status, headers)
                return [payload]
        return self.next(environ, start_response)

    def answer(self, environ):
        """(status line, headers, payload) on a cache hit, else None."""
        started = time.perf_counter()
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        user = self.verifier.user(token) if token else None
        if user is None or not self.flag.enabled(user.user_id):
            return None
        counts = cached_counts(self.cache, self.service, user.user_id)
        if counts is None:
            return None
        status, headers, payload = counts_answer(
            counts, environ.get("HTTP_IF_NONE_MATCH"), self.poll_interval)
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        headers.append((REQUEST_ID_HEADER, rid))
        record_request(self.service, rid, user, "GET", self.route, self.route, status,
                       time.perf_counter() - started)
        return STATUS_LINES[status], headers, payload


def register_cached_poll(app: Flask) -> None:
    app.wsgi_app = CachedPoll(app, app.wsgi_app)
