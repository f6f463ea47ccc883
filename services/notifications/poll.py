"""The unread-count poll, answered in front of Flask (shared/front.py).

Every open tab polls the count, most often a cache hit that needs one verified (and cached)
token and one MGET: the route's own functions answer it, the counts from
counts.unread_counts (cache or database, never stale), status, headers and payload from
routes.counts_answer.
"""

from flask import Flask

from services.notifications.counts import lookup, unread_counts
from services.notifications.routes import counts_answer
from shared.front import register_front_route

ENDPOINT = "notifications.unread_count"


class UnreadCountPoll:
    """The front route's handler: the caller's counts, or their 304."""

    def __init__(self, app: Flask):
        self.app, self.service = app, app.name
        self.poll_interval = app.config["NOTIFICATION_POLL_INTERVAL"]
        self.cache = app.extensions["cohort.coherent"]
        self.flag = app.config["FLAGS"]["USE_NOTIFICATION_CACHE"]

    def __call__(self, environ, user):
        looked_up = (lookup(self.cache, self.service, user.user_id)
                     if self.cache.kind != "null" and self.flag.enabled(user.user_id) else None)
        if looked_up is not None and looked_up.value is not None:  # a hit: no app context
            counts = looked_up.value
        else:
            with self.app.app_context():
                counts = unread_counts(user.user_id, looked_up)
        return counts_answer(counts, environ.get("HTTP_IF_NONE_MATCH"), self.poll_interval)


def register_unread_count_poll(app: Flask) -> None:
    register_front_route(app, ENDPOINT, UnreadCountPoll(app))
