"""The notifications domain: the queries and the commits."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from services.notifications import counts
from services.notifications.db import db
from services.notifications.models import Notification
from shared.db import utcnow
from shared.errors import Problem
from shared.pagination import decode_cursor, encode_cursor


def _cursor_secret() -> str:
    return current_app.config["SERVICE_TOKEN"] + ":notifications-cursor"


def list_notifications(user_id: int, *, limit: int, kind: str | None = None,
                       unread: bool = False, cursor: str | None = None):
    """A page of the user's notifications, newest first, and the cursor of the next page."""
    query = select(Notification).where(Notification.user_id == user_id)
    if kind:
        query = query.where(Notification.kind == kind)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if cursor:
        created, last_id = decode_cursor(cursor, _cursor_secret(), 2)
        try:
            created = datetime.fromisoformat(created)
        except (TypeError, ValueError):
            raise Problem(400, "The cursor is not one this service issued.") from None
        query = query.where(tuple_(Notification.created_at, Notification.id) < (created, last_id))
    rows = db.session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ).all()
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), last.id], _cursor_secret())
    return page, next_cursor


def mark_read(user_id: int, notification_id: int) -> dict:
    """Mark one of the user's notifications read (again is fine); 404 if it is not theirs."""
    changed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id,
               Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
    if not changed:
        mine = db.session.scalar(select(exists().where(
            Notification.id == notification_id, Notification.user_id == user_id)))
        if not mine:
            db.session.rollback()
            raise Problem(404, f"You have no notification {notification_id}.")
    db.session.commit()
    return counts.counts_after_write(user_id)


def mark_all_read(user_id: int, kind: str | None = None) -> dict:
    """Mark every unread notification of the user (of one kind, if given) read."""
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))
    if kind:
        query = query.where(Notification.kind == kind)
    db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
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
    created = insert_new(rows)
    db.session.commit()
    # Every user of the request, not only those with new rows: a retry of a create whose
    # first attempt committed but did not reach the cache must still refresh their counts.
    counts.invalidate(dict.fromkeys(user_ids))
    return len(created)


def insert_new(rows: list[dict]) -> list[int]:
    """Insert rows, skipping those whose (user_id, dedupe_key) exists; no commit.

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
    return db.session.scalars(statement, rows).all()


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
