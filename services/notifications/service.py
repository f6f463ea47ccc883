"""The notifications domain: the queries and the commits."""

from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import bindparam, delete, exists, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from services.notifications import counts
from services.notifications.db import db
from services.notifications.models import Notification
from shared.db import UTCDateTime, utcnow
from shared.errors import Problem
from shared.pagination import decode_cursor, encode_cursor


def _cursor_secret() -> str:
    return current_app.config["SERVICE_TOKEN"] + ":notifications-cursor"


# What a listed notification shows: row tuples, in dump_notification's order.
LISTED = (Notification.id, Notification.kind, Notification.category, Notification.title,
          Notification.body, Notification.link, Notification.created_at, Notification.read_at)


@cache
def _page_query(kind: bool, unread: bool, after: bool):
    """The list's statement for one combination of filters, built once: building it per
    request costs more CPU than running it."""
    query = select(*LISTED).where(Notification.user_id == bindparam("user_id"))
    if kind:
        query = query.where(Notification.kind == bindparam("kind"))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if after:
        query = query.where(tuple_(Notification.created_at, Notification.id)
                            < tuple_(bindparam("created_at", type_=UTCDateTime()),
                                     bindparam("last_id")))
    return (query.order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(bindparam("rows")))


def list_notifications(user_id: int, *, limit: int, kind: str | None = None,
                       unread: bool = False, cursor: str | None = None):
    """A page of the user's notifications (row tuples), newest first, and the next cursor.

    One statement in autocommit: one round trip, no ORM object per row.
    """
    params = {"user_id": user_id, "kind": kind, "rows": limit + 1}
    if cursor:
        created, last_id = decode_cursor(cursor, _cursor_secret(), 2)
        try:
            params |= {"created_at": datetime.fromisoformat(created), "last_id": int(last_id)}
        except (TypeError, ValueError):
            raise Problem(400, "The cursor is not one this service issued.") from None
    rows = db.fetch(_page_query(bool(kind), unread, bool(cursor)), params)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor([last[6].isoformat(), last[0]], _cursor_secret())
    return page, next_cursor


# Built once; an UPDATE's parameters may not take its columns' names.
UNREAD = (Notification.user_id == bindparam("owner")) & Notification.read_at.is_(None)
MARK_READ = (update(Notification)
             .where(UNREAD, Notification.id == bindparam("target"))
             .values(read_at=bindparam("now")).returning(Notification.id))
IS_MINE = select(exists().where(Notification.id == bindparam("target"),
                                Notification.user_id == bindparam("owner")))


@cache
def _read_all(kind: bool):
    query = update(Notification).where(UNREAD)
    if kind:
        query = query.where(Notification.kind == bindparam("of_kind"))
    return query.values(read_at=bindparam("now")).returning(Notification.id)


def mark_read(user_id: int, notification_id: int) -> dict:
    """Mark one of the user's notifications read (again is fine); 404 if it is not theirs.

    The update is one statement in autocommit, its own transaction: one round trip.
    """
    params = {"owner": user_id, "target": notification_id, "now": utcnow()}
    if not db.fetch(MARK_READ, params) and not db.fetch(IS_MINE, params)[0][0]:
        raise Problem(404, f"You have no notification {notification_id}.")
    return counts.counts_after_write(user_id)


def mark_all_read(user_id: int, kind: str | None = None) -> dict:
    """Mark every unread notification of the user (of one kind, if given) read."""
    db.fetch(_read_all(bool(kind)), {"owner": user_id, "of_kind": kind, "now": utcnow()})
    return counts.counts_after_write(user_id)


def create_notifications(user_ids: list[int], *, kind: str, category: str, title: str,
                         body: str, link: str, dedupe_key: str | None) -> int:
    """Fan out one notification to many users in one transaction; idempotent per dedupe key.

    Returns how many rows were new.
    """
    now = utcnow()
    rows = [
        {"user_id": u, "kind": kind, "category": category, "title": title, "body": body,
         "link": link, "dedupe_key": dedupe_key, "created_at": now}
        for u in dict.fromkeys(user_ids)
    ]
    with db.transaction() as conn:
        created = insert_new(conn, rows)
    # Every user of the request, not only those with new rows: a retry of a create whose
    # first attempt committed but did not reach the cache must still refresh their counts.
    counts.invalidate(dict.fromkeys(user_ids))
    return len(created)


def insert_new(conn, rows: list[dict]) -> list[int]:
    """Insert rows on `conn`, skipping those whose (user_id, dedupe_key) exists.

    Returns the user ids of the rows that were new.
    """
    # A Core insert on the table: the ORM's bulk path would send rows whose null columns
    # differ (read and unread ones) as separate statements, one per run of alike rows.
    table = Notification.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(table.c.user_id)
    )
    return conn.execute(statement, rows).scalars().all()


def purge_read(older_than_days: int, batch_size: int, dry_run: bool = False, log=None) -> int:
    """Delete read notifications older than N days in batches of short transactions.

    Only read rows go, so no unread count changes and the cache stays right.
    """
    cutoff = utcnow() - timedelta(days=older_than_days)
    old_read = Notification.read_at.is_not(None) & (Notification.read_at < cutoff)
    if dry_run:
        return db.session.scalar(select(func.count()).where(old_read))
    total = 0
    while True:
        batch = select(Notification.id).where(old_read).limit(batch_size)
        if db.engine.dialect.name == "postgresql":
            batch = batch.with_for_update(skip_locked=True)
        deleted = db.session.execute(
            delete(Notification).where(Notification.id.in_(batch.scalar_subquery()))
        ).rowcount
        db.session.commit()
        total += deleted
        if log:
            log(f"deleted {deleted} (total {total})")
        if deleted < batch_size:
            return total
