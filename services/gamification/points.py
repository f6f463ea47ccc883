"""The points ledger: awards, idempotent by `ref`, and the totals and boards they move."""

from collections import Counter
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from services.gamification import mirror
from services.gamification.activity import STATE, add_platform_activity
from services.gamification.boards import BoardChanges, applies, refresh_cohorts
from services.gamification.db import upsert, write_transaction
from services.gamification.models import OVERALL, Award, Player, Season, Total
from services.gamification.schemas import invalid
from shared.db import utcnow

A, P, T = Award.__table__, Player.__table__, Total.__table__
ADD_POINTS = update(T).where(T.c.user_id == bindparam("u"), T.c.season_id == bindparam("s")) \
    .values(points=T.c.points + bindparam("d"))


def season_finder(conn, awards: list[dict]):
    """A function giving the season an award counts toward: the season of the player's
    cohort holding its time, unless that season is frozen (then total only)."""
    first = min(a["occurred_at"] for a in awards)
    last = max(a["occurred_at"] for a in awards)
    seasons = conn.execute(select(Season.id, Season.cohort_id, Season.starts_at,
                                  Season.ends_at, Season.frozen)
                           .where(Season.starts_at <= last, Season.ends_at > first)).all()

    def season_of(cohort_id: int, at: datetime) -> int | None:
        for season_id, season_cohort, starts, ends, frozen in seasons:
            if applies(season_cohort, cohort_id) and starts <= at < ends:
                return None if frozen else season_id
        return None

    return season_of


def award(awards: list[dict], now: datetime | None = None) -> tuple[int, int]:
    """Write a batch of valid awards in one transaction: (awarded, duplicates).

    A ref seen before (in the ledger, or earlier in the batch) awards nothing again. An
    unknown player makes the whole batch a 400.
    """
    now = now or utcnow()
    users = sorted({a["user_id"] for a in awards})
    with write_transaction(seasons="shared") as conn:
        players = {row.user_id: row for row in conn.execute(
            select(*STATE).where(P.c.user_id.in_(users))
            .order_by(P.c.user_id).with_for_update())}
        unknown = [{"index": i, "ref": a["ref"], "detail": f"No player {a['user_id']}."}
                   for i, a in enumerate(awards) if a["user_id"] not in players]
        if unknown:
            raise invalid(unknown)
        season_of = season_finder(conn, awards)
        firsts = {}
        for a in awards:
            firsts.setdefault(a["ref"], a)
        rows = [{**a, "cohort_id": players[a["user_id"]].cohort_id, "created_at": now,
                 "season_id": season_of(players[a["user_id"]].cohort_id, a["occurred_at"])}
                for a in firsts.values()]
        inserted = set(conn.execute(upsert(conn, A).on_conflict_do_nothing(
            index_elements=[A.c.ref]).returning(A.c.ref), rows).scalars())
        new = [row for row in rows if row["ref"] in inserted]
        written = {}
        if new:
            changes = add_points(conn, new)
            active = add_platform_activity(conn, players, [
                (r["user_id"], r["occurred_at"]) for r in new if r["points"] > 0], now)
            refresh_cohorts(conn, {players[user].cohort_id for user in active}, changes)
            written = changes.write(conn)
    mirror.follow(written)
    return len(new), len(awards) - len(new)


def add_points(conn, new: list[dict]) -> BoardChanges:
    """Move the totals (season and all time) by the new awards; the boards' changes are
    returned for the transaction to write."""
    deltas = Counter()
    for row in new:
        deltas[(row["user_id"], OVERALL)] += row["points"]
        if row["season_id"] is not None:
            deltas[(row["user_id"], row["season_id"])] += row["points"]
    users = sorted({user for user, _ in deltas})
    old = {(u, s): (c, p) for u, s, c, p in conn.execute(
        select(T.c.user_id, T.c.season_id, T.c.cohort_id, T.c.points)
        .where(T.c.user_id.in_(users)))}
    changes = BoardChanges()
    cohorts = {row["user_id"]: row["cohort_id"] for row in new}
    missing = []
    for (user, season_id), delta in sorted(deltas.items()):
        if (user, season_id) not in old:  # not placed on this board yet: a new row
            missing.append({"user_id": user, "season_id": season_id,
                            "cohort_id": cohorts[user], "points": delta})
            if season_id != OVERALL:
                changes.added((season_id, cohorts[user]), user, delta)
        elif season_id != OVERALL:
            cohort_id, points = old[(user, season_id)]
            changes.moved((season_id, cohort_id), user, points, points + delta)
    present = [{"u": u, "s": s, "d": d} for (u, s), d in sorted(deltas.items()) if (u, s) in old]
    if present:
        conn.execute(ADD_POINTS, present)
    if missing:
        conn.execute(insert(T), missing)
    return changes
