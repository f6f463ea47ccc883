"""Leaderboards in the database: totals, score buckets and board versions, changed together.

A board is a season in a cohort. Every transaction that changes one writes, besides the
players' totals, the board's score buckets (players per points value, which ranks are read
from) and bumps its version, all before it commits; a copy of the board elsewhere (Redis)
is served only while it carries the version the database has.
"""

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, delete, func, insert, literal, select, update

from services.gamification.db import upsert
from services.gamification.models import OVERALL, Award, Board, BoardScore, Player, Season, Total

T, B, S, A = Total.__table__, Board.__table__, BoardScore.__table__, Award.__table__
P = Player.__table__

BoardKey = tuple[int, int]  # (season_id, cohort_id)


@dataclass
class Written:
    """A board's version before and after a transaction (None before: it is new), and the
    final points of the players it moved (None: removed) for a copy to follow."""

    before: int | None
    after: int
    members: dict[int, int | None] = field(default_factory=dict)


class BoardChanges:
    """What a transaction does to leaderboards, written at its end in one go."""

    def __init__(self):
        self.buckets: dict[BoardKey, Counter] = defaultdict(Counter)
        self.sizes: Counter = Counter()
        self.members: dict[BoardKey, dict[int, int | None]] = defaultdict(dict)
        self.touched: set[BoardKey] = set()

    def added(self, board: BoardKey, user_id: int, points: int) -> None:
        self.buckets[board][points] += 1
        self.sizes[board] += 1
        self.members[board][user_id] = points

    def removed(self, board: BoardKey, user_id: int, points: int) -> None:
        self.buckets[board][points] -= 1
        self.sizes[board] -= 1
        self.members[board][user_id] = None

    def moved(self, board: BoardKey, user_id: int, old: int, new: int) -> None:
        if old != new:
            self.buckets[board][old] -= 1
            self.buckets[board][new] += 1
        self.members[board][user_id] = new

    def refresh(self, board: BoardKey) -> None:
        """Bump a board whose players' details changed (a name, a streak), none moved: its
        copy follows with the new version, and an answer kept for the old one is not used."""
        self.members.setdefault(board, {})

    def touch(self, board: BoardKey) -> None:
        """Bump a board whose contents changed wholesale (a copy must be rebuilt)."""
        self.touched.add(board)

    def write(self, conn) -> dict[BoardKey, Written]:
        """Bump the versions (boards locked in key order: no deadlock between two writers),
        then write the buckets. Returns each board's versions and moved members."""
        boards = sorted(set(self.buckets) | set(self.sizes) | set(self.members) | self.touched)
        if not boards:
            return {}
        starts = {b: random_version() for b in boards}
        statement = upsert(conn, B)
        statement = statement.on_conflict_do_update(
            index_elements=[B.c.season_id, B.c.cohort_id],
            set_={"version": B.c.version + 1,
                  "players": B.c.players + statement.excluded.players},
        ).returning(B.c.season_id, B.c.cohort_id, B.c.version)
        rows = conn.execute(statement, [
            {"season_id": s, "cohort_id": c, "version": starts[(s, c)],
             "players": self.sizes[(s, c)]} for s, c in boards])
        written = {}
        for season_id, cohort_id, version in rows:
            board = (season_id, cohort_id)
            before = None if version == starts[board] else version - 1
            written[board] = Written(before, version, self.members.get(board, {}))
        write_buckets(conn, self.buckets)
        return written


def random_version() -> int:
    """A new board's first version: random, so a copy left from another database (a restore,
    a test run) is never taken for this one's."""
    return random.getrandbits(52)


def write_buckets(conn, buckets: dict[BoardKey, Counter]) -> None:
    rows = [{"season_id": s, "cohort_id": c, "points": p, "players": n}
            for (s, c), counts in sorted(buckets.items())
            for p, n in sorted(counts.items()) if n]
    if not rows:
        return
    statement = upsert(conn, S)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[S.c.season_id, S.c.cohort_id, S.c.points],
        set_={"players": S.c.players + statement.excluded.players}), rows)
    emptied = [r for r in rows if r["players"] < 0]
    if emptied:
        conn.execute(delete(S).where(
            S.c.season_id == bindparam("season_id"), S.c.cohort_id == bindparam("cohort_id"),
            S.c.points == bindparam("points"), S.c.players == 0),
            [{k: r[k] for k in ("season_id", "cohort_id", "points")} for r in emptied])


def refresh_cohorts(conn, cohort_ids, changes: BoardChanges) -> None:
    """Refresh the open boards of these cohorts: a player of theirs changed how the boards
    show them (name, zone, streak, the day last synced)."""
    if not cohort_ids:
        return
    for board in conn.execute(select(B.c.season_id, B.c.cohort_id).join(
            Season, Season.id == B.c.season_id).where(
            B.c.cohort_id.in_(sorted(set(cohort_ids))), Season.frozen.is_(False))):
        changes.refresh(tuple(board))


def applies(season_cohort: int | None, cohort_id: int) -> bool:
    return season_cohort is None or season_cohort == cohort_id


def place_player(conn, user_id: int, cohort_id: int, changes: BoardChanges) -> None:
    """Put a player on the boards of every open season of their cohort (and off the others'):
    a new player, or one who changed cohort. Frozen seasons are never touched."""
    open_seasons = dict(conn.execute(
        select(Season.id, Season.cohort_id).where(Season.frozen.is_(False))).all())
    rows = conn.execute(select(T.c.season_id, T.c.cohort_id, T.c.points)
                        .where(T.c.user_id == user_id)).all()
    current = {s: (c, p) for s, c, p in rows}
    wanted = {s for s, c in open_seasons.items() if applies(c, cohort_id)}
    gone, moved = [], []
    for season_id, (old_cohort, points) in current.items():
        if season_id == OVERALL or season_id not in open_seasons:
            continue
        if season_id not in wanted or old_cohort != cohort_id:
            changes.removed((season_id, old_cohort), user_id, points)
            (moved if season_id in wanted else gone).append(season_id)
            if season_id in wanted:
                changes.added((season_id, cohort_id), user_id, points)
    if gone:
        conn.execute(delete(T).where(T.c.user_id == user_id, T.c.season_id.in_(gone)))
    if moved or OVERALL in current:
        conn.execute(update(T).where(T.c.user_id == user_id, T.c.season_id.in_(
            [*moved, OVERALL])).values(cohort_id=cohort_id))
    missing = sorted(wanted - set(current))
    sums = dict(conn.execute(
        select(A.c.season_id, func.sum(A.c.points))
        .where(A.c.user_id == user_id, A.c.season_id.in_(missing))
        .group_by(A.c.season_id)).all()) if missing else {}
    new_rows = [{"user_id": user_id, "season_id": s, "cohort_id": cohort_id,
                 "points": int(sums.get(s) or 0)} for s in missing]
    if OVERALL not in current:
        new_rows.append({"user_id": user_id, "season_id": OVERALL, "cohort_id": cohort_id,
                         "points": 0})
    if new_rows:
        conn.execute(insert(T), new_rows)
    for row in new_rows:
        if row["season_id"] != OVERALL:
            changes.added((row["season_id"], cohort_id), user_id, row["points"])


def rebuild_season(conn, season_id: int, cohort_id: int | None, starts_at, ends_at,
                   changes: BoardChanges) -> None:
    """Attribute the ledger to a season created or moved, and rebuild its totals and boards.

    Its range intersects no other season of its cohorts (that is a conflict), so every
    award in range that counts toward no season is this one's.
    """
    conn.execute(update(A).where(A.c.season_id == season_id).values(season_id=None))
    in_range = and_(A.c.season_id.is_(None), A.c.occurred_at >= starts_at,
                    A.c.occurred_at < ends_at)
    if cohort_id is not None:
        in_range = and_(in_range, A.c.cohort_id == cohort_id)
    conn.execute(update(A).where(in_range).values(season_id=season_id))
    for board in conn.execute(select(B.c.season_id, B.c.cohort_id)
                              .where(B.c.season_id == season_id)).all():
        changes.touch(tuple(board))
    conn.execute(delete(T).where(T.c.season_id == season_id))
    conn.execute(delete(S).where(S.c.season_id == season_id))
    sums = (select(A.c.user_id, func.sum(A.c.points).label("points"))
            .where(A.c.season_id == season_id).group_by(A.c.user_id).subquery())
    players = select(P.c.user_id, literal(season_id, T.c.season_id.type), P.c.cohort_id,
                     func.coalesce(sums.c.points, 0)).outerjoin(
        sums, sums.c.user_id == P.c.user_id)
    if cohort_id is not None:
        players = players.where(P.c.cohort_id == cohort_id)
    conn.execute(insert(T).from_select(["user_id", "season_id", "cohort_id", "points"], players))
    counts = conn.execute(select(T.c.cohort_id, T.c.points, func.count())
                          .where(T.c.season_id == season_id)
                          .group_by(T.c.cohort_id, T.c.points)).all()
    conn.execute(update(B).where(B.c.season_id == season_id).values(players=0))
    for board_cohort, points, players_count in counts:
        changes.buckets[(season_id, board_cohort)][points] += players_count
        changes.sizes[(season_id, board_cohort)] += players_count
        changes.touch((season_id, board_cohort))
