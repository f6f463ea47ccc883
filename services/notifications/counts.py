"""Unread counts per user, from the database or the shared cache, never stale after a write.

The counts are cached with shared.coherent under the user's id: a write replaces the user's
version after it commits, and a write that cannot reach Redis holds its answer until no
worker can serve what it replaced (see that module). A poll that read the database before a
write committed may store old counts, but under a version the write has already replaced.
"""

from flask import current_app
from sqlalchemy import bindparam, func, select

from services.notifications.db import db
from services.notifications.models import KINDS, Notification
from shared.coherent import Looked
from shared.metrics import count_cache

# Built once: only the user's id changes from one count to the next.
COUNT_UNREAD = (
    select(Notification.kind, func.count())
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    .group_by(Notification.kind)
)


def query_counts(user_id: int) -> dict:
    """One grouped query over the partial index of unread rows, in autocommit: one round
    trip. Writers call it after their commit, so it sees what they wrote."""
    by_kind = dict.fromkeys(KINDS, 0) | dict(db.fetch(COUNT_UNREAD, {"user_id": user_id}))
    return {"unread_count": sum(by_kind.values()), **by_kind}


def _cache():
    return current_app.extensions["cohort.coherent"]


def lookup(cache, service: str, user_id: int) -> Looked:
    """One MGET: the user's counts when they are cached and current (a hit)."""
    looked = cache.lookup(str(user_id))
    if looked.value is not None:
        count_cache(service, "unread_counts", "hit")
    return looked


def unread_counts(user_id: int, looked_up: Looked | None = None) -> dict:
    """The user's counts; from the cache when USE_NOTIFICATION_CACHE serves this user.

    `looked_up` is a lookup() the caller made already (the poll tries the cache before it
    enters the app context).
    """
    config = current_app.config
    if not config["FLAGS"]["USE_NOTIFICATION_CACHE"].enabled(user_id):
        return query_counts(user_id)
    cache = _cache()
    looked = looked_up or lookup(cache, current_app.name, user_id)
    if looked.value is not None:
        return looked.value
    count_cache(current_app.name, "unread_counts", "miss")
    return cache.fill(str(user_id), looked, lambda: query_counts(user_id),
                      config["NOTIFICATION_CACHE_TTL"])


def invalidate(user_ids) -> None:
    """After a commit that changed these users' counts: their cached counts are dead."""
    _cache().invalidate([str(u) for u in user_ids])


def counts_after_write(user_id: int) -> dict:
    """Invalidate, then read fresh counts and cache them under the new version."""
    cache = _cache()
    fill = cache.invalidate([str(user_id)])
    counts = query_counts(user_id)
    cache.store_value(str(user_id), fill, counts, current_app.config["NOTIFICATION_CACHE_TTL"])
    return counts
