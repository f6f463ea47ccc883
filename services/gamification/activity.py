"""Active days and stored streak runs, kept in step with submissions and awards.

Days are derived data: the stored submissions, calendar and awards are the source, read in
the player's zone, so a zone change rebuilds them exactly. Milestones and lost streaks are
queued in the outbox in the transaction that changed the run.
"""

from collections import Counter, defaultdict
from datetime import date, datetime

from sqlalchemy import and_, bindparam, delete, insert, or_, select, tuple_, update

from services.gamification import outbox
from services.gamification.db import upsert
from services.gamification.models import ActivityDay, Award, CalendarDay, Player, Submission
from services.gamification.streaks import (
    LOST_AFTER,
    ONE_DAY,
    Run,
    activity,
    extend,
    local_day,
    milestones_reached,
    reference_day,
    summarize,
)

P, D, A = Player.__table__, ActivityDay.__table__, Award.__table__
SUB, CAL = Submission.__table__, CalendarDay.__table__
# What the run's upkeep reads of a player (locked FOR UPDATE by the caller).
STATE = (P.c.user_id, P.c.cohort_id, P.c.timezone, P.c.run_length, P.c.longest,
         P.c.last_active_date)
SAVE_RUN = update(P).where(P.c.user_id == bindparam("u")).values(
    run_length=bindparam("n"), longest=bindparam("top"), last_active_date=bindparam("last"))


def run_of(player) -> Run:
    return Run(player.run_length, player.longest, player.last_active_date)


def add_platform_activity(conn, players: dict, awards: list[tuple[int, datetime]],
                          now: datetime) -> list[int]:
    """Positive awards make their local day active: count them and extend the runs.
    Returns the players whose run changed."""
    counts = Counter((user, local_day(at, players[user].timezone)) for user, at in awards)
    if not counts:
        return []
    pairs = list(counts)
    existing = set(conn.execute(select(D.c.user_id, D.c.day).where(
        tuple_(D.c.user_id, D.c.day).in_(pairs))).all())
    statement = upsert(conn, D)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[D.c.user_id, D.c.day],
        set_={"platform": D.c.platform + statement.excluded.platform}),
        [{"user_id": u, "day": d, "leetcode": 0, "platform": n} for (u, d), n in counts.items()])
    new_days = defaultdict(list)
    for user, day in pairs:
        if (user, day) not in existing:
            new_days[user].append(day)
    runs, reread = {}, []
    for user, days in new_days.items():
        after = extend(run_of(players[user]), days)
        if after is None:
            reread.append(user)
        else:
            runs[user] = after
    if reread:
        history = defaultdict(list)
        for user, day in conn.execute(select(D.c.user_id, D.c.day).where(D.c.user_id.in_(reread))):
            history[user].append(day)
        runs.update({user: summarize(history[user]) for user in reread})
    return save_runs(conn, players, runs, now)


def recompute(conn, players: dict, now: datetime) -> list[int]:
    """Rebuild players' active days from what is stored, each in their zone, and their runs;
    only the days that differ are written. Returns the players whose run changed."""
    ids = sorted(players)
    submissions, calendar, awards = defaultdict(list), defaultdict(list), defaultdict(list)
    for user, solved_at in conn.execute(select(SUB.c.user_id, SUB.c.solved_at)
                                        .where(SUB.c.user_id.in_(ids))):
        submissions[user].append(solved_at)
    for user, utc_date, count in conn.execute(
            select(CAL.c.user_id, CAL.c.utc_date, CAL.c.submissions).where(CAL.c.user_id.in_(ids))):
        calendar[user].append((utc_date, count))
    for user, at, points in conn.execute(select(A.c.user_id, A.c.occurred_at, A.c.points)
                                         .where(A.c.user_id.in_(ids), A.c.points > 0)):
        awards[user].append((at, points))
    wanted = {}
    for user in ids:
        days = activity(submissions[user], calendar[user], awards[user], players[user].timezone)
        wanted.update({(user, day): tuple(counts) for day, counts in days.items()})
    have = {(u, d): (lc, pf) for u, d, lc, pf in conn.execute(
        select(D.c.user_id, D.c.day, D.c.leetcode, D.c.platform).where(D.c.user_id.in_(ids)))}
    gone = [key for key in have if key not in wanted]
    changed = [(key, value) for key, value in wanted.items() if have.get(key) != value]
    if gone:
        conn.execute(delete(D).where(tuple_(D.c.user_id, D.c.day).in_(gone)))
    if changed:
        conn.execute(delete(D).where(tuple_(D.c.user_id, D.c.day).in_(
            [key for key, _ in changed if key in have])))
        conn.execute(insert(D), [{"user_id": u, "day": d, "leetcode": lc, "platform": pf}
                                 for (u, d), (lc, pf) in changed])
    by_user = defaultdict(list)
    for user, day in wanted:
        by_user[user].append(day)
    return save_runs(conn, players, {user: summarize(by_user[user]) for user in ids}, now)


def save_runs(conn, players: dict, runs: dict[int, Run], now: datetime) -> list[int]:
    """Store the runs that changed (returns their players); queue a milestone the current
    run has just reached."""
    rows, messages = [], []
    for user, after in runs.items():
        player = players[user]
        before = run_of(player)
        if after == before:
            continue
        rows.append({"u": user, "n": after.length, "top": after.longest,
                     "last": after.last_active})
        if after.last_active >= local_day(now, player.timezone) - ONE_DAY:
            messages += [milestone(user, after, n) for n in milestones_reached(before, after)]
    if rows:
        conn.execute(SAVE_RUN, rows)
    outbox.queue(conn, messages, now)
    return [row["u"] for row in rows]


def milestone(user_id: int, run: Run, days: int) -> dict:
    event = f"streak-milestone:{user_id}:{run.start}:{days}"
    return outbox.message(
        event, [user_id], kind="profile", category="streak", title=f"{days}-day streak!",
        body=f"You have been active {days} days in a row. Keep it going.",
        link="/profile#streak", dedupe_key=f"gamification:{event}")


def lost(user_id: int, length: int, last_active: date) -> dict:
    event = f"streak-lost:{user_id}:{last_active}"
    return outbox.message(
        event, [user_id], kind="profile", category="streak",
        title=f"Your {length}-day streak ended",
        body="A day went by without activity; your next solve starts a new streak.",
        link="/profile#streak", dedupe_key=f"gamification:{event}")


def tell_lost_streaks(conn, now: datetime, user_ids: list[int] | None = None) -> int:
    """Queue a notification for each run of LOST_AFTER days or more that has ended: a day
    after it went by, as far as activity is known (a failed sync never ends a run)."""
    query = select(P.c.user_id, P.c.timezone, P.c.run_length, P.c.last_active_date,
                   P.c.synced_at, P.c.leetcode_username.is_not(None)).where(
        P.c.run_length >= LOST_AFTER,
        or_(P.c.lost_notified_on.is_(None), P.c.lost_notified_on < P.c.last_active_date))
    if user_ids is not None:
        query = query.where(P.c.user_id.in_(user_ids))
    ended = [row for row in conn.execute(query) if row[3] < reference_day(
        row[1], row[4], row[5], now) - ONE_DAY]
    if not ended:
        return 0
    outbox.queue(conn, [lost(user, length, last) for user, _, length, last, _, _ in ended], now)
    conn.execute(update(P).where(and_(P.c.user_id == bindparam("u"))).values(
        lost_notified_on=bindparam("last")), [{"u": r[0], "last": r[3]} for r in ended])
    return len(ended)
