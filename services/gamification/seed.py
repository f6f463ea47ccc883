"""Demo players with real streaks, a running season and a frozen one (cohort up).

Everything goes through the service's own paths (players, seasons, the ledger, the day and
streak rebuild, the freeze), so the demo's boards, buckets and standings are as consistent
as production's. Its notifications are history: they are marked sent, not delivered.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text, update

from services.gamification import points, seasons
from services.gamification.activity import STATE, recompute
from services.gamification.db import db, write_transaction
from services.gamification.models import OutboxMessage, Player, Submission
from shared.db import utcnow
from shared.demo import DEFAULT_STUDENTS, DEMO_STUDENT_ID, cohort_of, seed_command, student_ids
from shared.locks import command_lock

FIRST = ("Aisha", "Bruno", "Chen", "Dana", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kavya", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara")
LAST = ("Okafor", "Silva", "Wei", "Kowalski", "Demir", "Haddad", "Hopper", "Tanaka", "Moreno",
        "Berg", "Iyer", "Fischer", "Rojas", "Mensah", "Nasser", "Shah", "Byrne", "Costa")
ZONES = ("Asia/Kolkata", "Europe/Berlin", "America/New_York", "UTC", "Africa/Lagos",
         "America/Sao_Paulo", "Asia/Singapore", "Pacific/Auckland")
TABLES = ("standings", "board_scores", "boards", "totals", "awards", "activity_days",
          "calendar_days", "submissions", "outbox", "rate_limits", "players", "seasons")
BATCH = 500


@dataclass
class SeedReport:
    players: int = 0
    awards: int = 0
    submissions: int = 0
    seasons: int = 0
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "would create" if self.dry_run else "created"
        return (f"gamification: {verb} {self.players} players, {self.awards} awards, "
                f"{self.submissions} LeetCode submissions, {self.seasons} seasons")


def is_empty() -> bool:
    """Whether the service holds no player at all (a fresh install)."""
    return db.value(select(Player.user_id).limit(1)) is None


def profile(user_id: int) -> dict:
    rng = random.Random(user_id)
    named = user_id % 4 != 0  # most students linked their LeetCode account
    return {"user_id": user_id, "cohort_id": cohort_of(user_id),
            "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "leetcode_username": f"demo_coder_{user_id}" if named else None,
            "timezone": rng.choice(ZONES)}


def solved_days(user_id: int, today) -> list:
    """A current run (ending today or yesterday, or broken), and older practice."""
    rng = random.Random(user_id * 7919)
    run = rng.choice((0, 0, 1, 2, 3, 5, 8, 12, 21, 30, 45))
    end = today - timedelta(days=rng.choice((0, 0, 1, 3)))
    if user_id == DEMO_STUDENT_ID:  # the student whose token `cohort up` prints
        run, end = 12, today
    days = {end - timedelta(days=d) for d in range(run)}
    days |= {today - timedelta(days=rng.randrange(5, 90)) for _ in range(rng.randrange(0, 25))}
    return sorted(days)


def submissions_of(user_id: int, zone: str, now: datetime) -> list[dict]:
    rng = random.Random(user_id * 31)
    local = ZoneInfo(zone)
    rows = []
    for n, day in enumerate(solved_days(user_id, now.astimezone(local).date())):
        moment = datetime.combine(day, time(rng.randrange(7, 23), rng.randrange(60)), local)
        stamp = int(min(moment.astimezone(UTC), now - timedelta(minutes=5)).timestamp())
        rows.append({"user_id": user_id, "submission_id": 9_000_000_000 + user_id * 1000 + n,
                     "solved_at": stamp, "title_slug": f"demo-problem-{rng.randrange(1, 300)}"})
    return rows


def awards_for(user_id: int, now: datetime, start: datetime) -> list[dict]:
    rng = random.Random(user_id * 104729)
    span = (now - start).total_seconds()
    return [{"user_id": user_id, "points": rng.choice((5, 10, 10, 20, 25, 50)),
             "ref": f"demo:{user_id}:{n}", "reason": rng.choice(
                 ("submission approved", "review given", "challenge solved")),
             "occurred_at": start + timedelta(seconds=rng.random() * span)}
            for n in range(rng.randrange(0, 9))]


def seed_demo(students: int = DEFAULT_STUDENTS, *, reset: bool = False, dry_run: bool = False,
              log=None, **_options) -> SeedReport:
    """Players for students 1..N, their LeetCode history and awards, a frozen past season
    and a running one. Raises AlreadyRunning when another copy is seeding."""
    report = SeedReport(dry_run=dry_run)
    now = utcnow()
    ids = list(student_ids(students))
    with command_lock(db, "seed-demo"):
        if dry_run:
            report.players, report.seasons = len(ids), 2
            return report
        if reset:
            with db.transaction() as conn:
                for table in TABLES:
                    conn.execute(text(f"DELETE FROM {table}"))
        if not is_empty():
            return report
        profiles = [profile(u) for u in ids]
        with db.transaction() as conn:
            conn.execute(insert(Player), [{**p, "run_length": 0, "longest": 0,
                                           "created_at": now, "updated_at": now}
                                          for p in profiles])
        report.players = len(profiles)
        start = now - timedelta(days=70)
        for name, begins, ends in (("Demo season 1", start, now - timedelta(days=14)),
                                   ("Demo season 2", now - timedelta(days=14),
                                    now + timedelta(days=28))):
            seasons.create_season(name=name, cohort_id=None, starts_at=begins, ends_at=ends)
            report.seasons += 1
        awards = [a for u in ids for a in awards_for(u, now, start)]
        for first in range(0, len(awards), 1000):
            report.awards += points.award(awards[first:first + 1000], now)[0]
            if log:
                log(f"gamification: {report.awards} awards")
        named = [p for p in profiles if p["leetcode_username"]]
        for first in range(0, len(named), BATCH):
            batch = named[first:first + BATCH]
            rows = [r for p in batch for r in submissions_of(p["user_id"], p["timezone"], now)]
            with write_transaction() as conn:
                if rows:
                    conn.execute(insert(Submission), rows)
                players = {r.user_id: r for r in conn.execute(select(*STATE).where(
                    Player.user_id.in_([p["user_id"] for p in batch])))}
                recompute(conn, players, now)
                conn.execute(update(Player).where(Player.user_id.in_(list(players))).values(
                    synced_at=now, sync_at=now, sync_ok=True))
            report.submissions += len(rows)
        for season_id in seasons.ended_unfrozen(now):
            seasons.freeze(season_id, now, notify=False)
        with db.transaction() as conn:  # the demo's milestones are history, not news
            conn.execute(update(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))
                         .values(delivered_at=now))
    return report


seed_demo_command = seed_command(
    seed_demo, "Load demo players, streaks, awards and seasons (only into an empty database).")
