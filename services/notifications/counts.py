"""Unread counts per user, from the database or the shared cache, never stale after a write.

Each user has a version token in the cache (`v:<user>`), replaced by every write after it
commits. Cached counts are stored with the token they were read under (`c:<user>`) and
served only while that token is still current. A poll that read the database before a
write committed may store old counts, but under a token the write has already replaced,
so no later poll serves them.
"""

import secrets

from flask import current_app
from sqlalchemy import bindparam, func, select

from services.notifications.db import db
from services.notifications.models import KINDS, Notification
from shared.metrics import count_cache

VERSION_TTL = 24 * 3600


# Built once: only the user's id changes from one count to the next.
COUNT_UNREAD = (
    select(Notification.kind, func.count())
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    .group_by(Notification.kind)
)


def query_counts(user_id: int) -> dict:
    """One grouped query over the partial index of unread rows.

    It runs on a connection of its own in autocommit: one statement needs no transaction, so
    a poll pays no BEGIN and ROLLBACK round trips and no ORM session. Writers call it after
    their commit, so it sees what they wrote.
    """
    engine = db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        rows = conn.execute(COUNT_UNREAD, {"user_id": user_id}).all()
    by_kind = dict.fromkeys(KINDS, 0) | dict(rows)
    return {"unread_count": sum(by_kind.values()), **by_kind}


def _cache():
    return current_app.extensions["cohort.cache"]


def lookup(cache, service: str, user_id: int) -> tuple:
    """One MGET: the user's version token, and their counts if cached under it (a hit)."""
    version, cached = cache.get_many(f"v:{user_id}", f"c:{user_id}")
    if version is not None and cached is not None and cached[0] == version:
        count_cache(service, "unread_counts", "hit")
        return version, cached[1]
    return version, None


def unread_counts(user_id: int, looked_up: tuple | None = None) -> dict:
    """The user's counts; from the cache when USE_NOTIFICATION_CACHE serves this user.

    `looked_up` is a lookup() the caller made already (the poll tries the cache before it
    enters the app context).
    """
    config = current_app.config
    if not config["FLAGS"]["USE_NOTIFICATION_CACHE"].enabled(user_id):
        return query_counts(user_id)
    cache = _cache()
    version, counts = looked_up or lookup(cache, current_app.name, user_id)
    if counts is not None:
        return counts
    count_cache(current_app.name, "unread_counts", "miss")
    if version is None:
        version = secrets.token_hex(8)
        if not cache.add(f"v:{user_id}", version, VERSION_TTL):
            return query_counts(user_id)  # a write got there first, or the cache is down
    counts = query_counts(user_id)
    cache.set(f"c:{user_id}", (version, counts), config["NOTIFICATION_CACHE_TTL"])
    return counts


def invalidate(user_ids) -> None:
    """Replace the version tokens of users whose counts a committed write changed."""
    cache = _cache()
    if cache.kind != "null":
        cache.set_many({f"v:{u}": secrets.token_hex(8) for u in set(user_ids)}, VERSION_TTL)


def counts_after_write(user_id: int) -> dict:
    """Invalidate, then read fresh counts and cache them under the new token."""
    cache = _cache()
    if cache.kind == "null":
        return query_counts(user_id)
    version = secrets.token_hex(8)
    cache.set(f"v:{user_id}", version, VERSION_TTL)
    counts = query_counts(user_id)
    cache.set(f"c:{user_id}", (version, counts), current_app.config["NOTIFICATION_CACHE_TTL"])
    return counts
