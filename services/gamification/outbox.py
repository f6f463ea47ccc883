"""Notifications to the notifications service, through an outbox that never loses one.

A change writes its notifications into the outbox in its own transaction; delivery claims
due rows for a lease, posts them, and marks each delivered or due again later (backoff).
Every notification carries a dedupe_key derived from its event, so a redelivery (a lease
that ran out, a crash after the POST) never doubles one.
"""

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import bindparam, func, select, update

from services.gamification.db import db, upsert
from services.gamification.models import OutboxMessage
from shared.db import utcnow
from shared.http import service_client

log = logging.getLogger(__name__)
OUT = OutboxMessage.__table__
ENDPOINT = "/internal/notifications/"
LEASE = timedelta(seconds=60)  # longer than a POST may take (the client's timeouts)
MAX_USERS = 10_000  # the notifications service takes this many users a call
BATCH = 100


def message(key: str, user_ids: list[int], *, kind: str, category: str, title: str,
            body: str = "", link: str = "", dedupe_key: str) -> dict:
    """An outbox row: `key` names the event (one row per event), the payload is the POST."""
    payload = {"user_ids": user_ids, "kind": kind, "category": category, "title": title,
               "body": body, "link": link, "dedupe_key": dedupe_key}
    return {"key": key, "payload": json.dumps(payload, separators=(",", ":"))}


def queue(conn, messages: list[dict], now: datetime | None = None) -> int:
    """Add messages in the caller's transaction; an event already queued is skipped."""
    if not messages:
        return 0
    now = now or utcnow()
    rows = [{**m, "created_at": now, "attempts": 0, "next_attempt_at": now} for m in messages]
    statement = upsert(conn, OUT).on_conflict_do_nothing(index_elements=[OUT.c.key])
    return conn.execute(statement, rows).rowcount


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... up to an hour, jittered so a backlog does not retry in step."""
    return timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2))


@dataclass
class Delivery:
    delivered: int = 0
    failed: int = 0
    pending: int = 0

    def __str__(self) -> str:
        return (f"delivered {self.delivered}, failed {self.failed} (retried later), "
                f"{self.pending} still pending")


def _claim(due_by: datetime, after: int, batch: int) -> list:
    """Take up to `batch` messages due by then, past id `after` (one pass a run), for a
    lease: a crash mid-delivery leaves them due again once it runs out."""
    with db.transaction() as conn:
        due = (select(OUT.c.id).where(OUT.c.delivered_at.is_(None), OUT.c.id > after,
                                      OUT.c.next_attempt_at <= due_by)
               .order_by(OUT.c.id).limit(batch))
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = conn.execute(due).scalars().all()
        if not ids:
            return []
        conn.execute(update(OUT).where(OUT.c.id.in_(ids))
                     .values(next_attempt_at=utcnow() + LEASE))
        return conn.execute(select(OUT.c.id, OUT.c.payload, OUT.c.attempts)
                            .where(OUT.c.id.in_(ids)).order_by(OUT.c.id)).all()


def _post(payload: str) -> str | None:
    """None when the notifications service accepted it, else what went wrong."""
    try:
        response = service_client().post(ENDPOINT, data=payload,
                                         headers={"Content-Type": "application/json"})
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    if response.status_code in (200, 201):
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def deliver(*, limit: int = 100_000, dry_run: bool = False, now: datetime | None = None,
            report=None) -> Delivery:
    """Post what is due (by `now`, default now), up to `limit` messages; failures are due
    again after a backoff."""
    result = Delivery()
    pending = select(func.count()).select_from(OUT).where(OUT.c.delivered_at.is_(None))
    if dry_run:
        result.pending = db.value(pending)
        return result
    after = 0
    while result.delivered + result.failed < limit:
        claimed = _claim(now or utcnow(), after,
                         min(BATCH, limit - result.delivered - result.failed))
        if not claimed:
            break
        after = claimed[-1][0]
        done, failed = [], []
        for message_id, payload, attempts in claimed:
            error = _post(payload)
            if error is None:
                done.append({"row": message_id, "at": utcnow()})
            else:
                log.warning("outbox message %s not delivered: %s", message_id, error)
                failed.append({"row": message_id, "n": attempts + 1, "error": error,
                               "next": utcnow() + backoff(attempts + 1)})
        with db.transaction() as conn:
            if done:
                conn.execute(update(OUT).where(OUT.c.id == bindparam("row"))
                             .values(delivered_at=bindparam("at"), last_error=None), done)
            if failed:
                conn.execute(update(OUT).where(OUT.c.id == bindparam("row")).values(
                    attempts=bindparam("n"), last_error=bindparam("error"),
                    next_attempt_at=bindparam("next")), failed)
        result.delivered += len(done)
        result.failed += len(failed)
        if report:
            report(f"outbox: delivered {len(done)}, failed {len(failed)}")
    result.pending = db.value(pending)
    return result
