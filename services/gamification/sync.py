"""The LeetCode sync: fetch players in batches, concurrently under the shared rate limit,
store what came back (one transaction per batch), and never touch a streak on a failure."""

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, update

from services.gamification import mirror
from services.gamification.activity import STATE, recompute, tell_lost_streaks
from services.gamification.boards import BoardChanges, refresh_cohorts
from services.gamification.db import db, upsert, write_transaction
from services.gamification.leetcode import Fetched, LeetCode, Unavailable
from services.gamification.models import CalendarDay, Player, Submission
from services.gamification.ratelimit import Blocked, limiter
from shared.db import utcnow

P, SUB, CAL = Player.__table__, Submission.__table__, CalendarDay.__table__
RECORD = update(P).where(P.c.user_id == bindparam("u")).values(
    sync_at=bindparam("at"), sync_ok=bindparam("ok"), sync_error=bindparam("error"),
    unknown_username=bindparam("unknown"), sync_requested_at=None)


@dataclass
class SyncReport:
    players: int = 0
    requests: int = 0
    synced: int = 0
    failed: int = 0
    unknown: int = 0
    lost: int = 0
    blocked: str | None = None
    seconds: float = 0.0
    errors: dict[int, str] = field(default_factory=dict)

    def __str__(self) -> str:
        line = (f"{self.players} players in {self.requests} requests: {self.synced} synced, "
                f"{self.failed} failed ({self.unknown} unknown usernames), {self.lost} lost "
                f"streaks told, in {self.seconds:.1f} s")
        return line + (f"; stopped: {self.blocked}" if self.blocked else "")


def to_sync(now: datetime, *, user_ids: list[int] | None = None, requested: bool = False):
    """(user_id, username) of the players a run asks about. A username LeetCode did not know
    is asked about again only after LEETCODE_UNKNOWN_RETRY_DAYS (or by --student)."""
    query = select(P.c.user_id, P.c.leetcode_username).where(
        P.c.leetcode_username.is_not(None)).order_by(P.c.user_id)
    if user_ids is not None:
        return db.rows(query.where(P.c.user_id.in_(user_ids)))
    retry = now - timedelta(days=current_app.config["LEETCODE_UNKNOWN_RETRY_DAYS"])
    query = query.where(or_(P.c.unknown_username.is_(None),
                            P.c.unknown_username != P.c.leetcode_username,
                            and_(P.c.sync_at.is_not(None), P.c.sync_at < retry)))
    if requested:
        query = query.where(P.c.sync_requested_at.is_not(None))
    return db.rows(query)


def store(batch: list[tuple[int, str]], fetched: list[Fetched], now: datetime) -> None:
    """Store one batch's answers in one transaction: new submissions and calendar days, the
    rebuilt days and runs of those that succeeded, and each player's last_sync; their boards
    are refreshed (a sync moves the day a streak is known up to). A player whose username
    changed meanwhile is left for the next run."""
    with write_transaction() as conn:
        players = {row.user_id: row for row in conn.execute(
            select(*STATE, P.c.leetcode_username).where(P.c.user_id.in_([u for u, _ in batch]))
            .order_by(P.c.user_id).with_for_update())}
        good, records = {}, []
        for (user, name), result in zip(batch, fetched, strict=True):
            player = players.get(user)
            if player is None or player.leetcode_username != name:
                continue
            records.append({"u": user, "at": now, "ok": result.error is None,
                            "error": result.error, "unknown": name if result.unknown else None})
            if result.error is None:
                good[user] = (player, result)
        submissions = [{"user_id": u, "submission_id": i, "solved_at": t, "title_slug": s}
                       for u, (_, r) in good.items() for i, t, s in r.submissions]
        if submissions:
            conn.execute(upsert(conn, SUB).on_conflict_do_nothing(), submissions)
        calendar = [{"user_id": u, "utc_date": d, "submissions": n}
                    for u, (_, r) in good.items() for d, n in r.calendar]
        if calendar:
            statement = upsert(conn, CAL)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[CAL.c.user_id, CAL.c.utc_date],
                set_={"submissions": statement.excluded.submissions}), calendar)
        changes = BoardChanges()
        if good:
            recompute(conn, {u: p for u, (p, _) in good.items()}, now)
            conn.execute(update(P).where(P.c.user_id.in_(list(good))).values(synced_at=now))
            refresh_cohorts(conn, {p.cohort_id for p, _ in good.values()}, changes)
        if records:
            conn.execute(RECORD, records)
        written = changes.write(conn)
    mirror.follow(written)


def sync_players(*, user_ids: list[int] | None = None, requested: bool = False,
                 deadline: float | None = None, log=None) -> SyncReport:
    """Sync players (all with a username, or these, or those who asked): Blocked (after
    storing what came back) when LeetCode refuses us; the breaker is then open for every
    process for LEETCODE_BLOCK_SECONDS."""
    config, app = current_app.config, current_app._get_current_object()
    started, now = time.monotonic(), utcnow()
    report = SyncReport()
    rate_limiter = limiter()
    reason = rate_limiter.blocked()
    if reason:
        report.blocked = f"LeetCode blocked us earlier ({reason}); the breaker is open"
        raise Blocked(report.blocked)
    players = to_sync(now, user_ids=user_ids, requested=requested)
    report.players = len(players)
    size = config["LEETCODE_BATCH_SIZE"]
    batches = [players[i:i + size] for i in range(0, len(players), size)]
    client = LeetCode(config, rate_limiter)

    def fetch(batch):
        """Fetch and store one batch in a worker thread: stores of different batches touch
        different players, so they run side by side instead of queueing behind one thread."""
        with app.app_context():
            try:
                fetched = client.fetch([name for _, name in batch], deadline)
            except Unavailable as exc:
                fetched = [Fetched(error=str(exc)[:500]) for _ in batch]
            store(batch, fetched, now)
            return fetched

    blocked = None
    with ThreadPoolExecutor(max(1, min(config["LEETCODE_MAX_IN_FLIGHT"], len(batches)))) as pool:
        pending = {pool.submit(fetch, batch): batch for batch in batches}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                batch = pending.pop(future)
                try:
                    fetched = future.result()
                except Blocked as exc:
                    if blocked is None:  # every process stays off LeetCode from now on
                        blocked = str(exc)
                        rate_limiter.block(config["LEETCODE_BLOCK_SECONDS"], blocked)
                    continue
                report.requests += 1
                for (user, _), result in zip(batch, fetched, strict=True):
                    if result.error is None:
                        report.synced += 1
                    else:
                        report.failed += 1
                        report.unknown += result.unknown
                        report.errors[user] = result.error
                if log:
                    log(f"batch of {len(batch)} (up to user {batch[-1][0]}): "
                        f"{sum(r.error is None for r in fetched)} synced")
            if blocked and pending:
                for future in pending:
                    future.cancel()  # those already waiting for a permit stop at client.stop
                pending = {f: b for f, b in pending.items() if not f.cancelled()}
    if not requested:
        with write_transaction() as conn:
            report.lost = tell_lost_streaks(conn, now, user_ids)
    report.seconds = time.monotonic() - started
    if blocked:
        report.blocked = blocked
        raise Blocked(str(report))
    return report
