"""The leaderboard's statements: each request is one of them (after the season's lookup).

Rows are tagged by `part`: 0 an entry with its player, 1 a score bucket (players with
`points`), 2 the players above the window's best score, 3 the caller's points and the
players above them. Every read is an index range: totals in board order, buckets by points,
standings by position.
"""

from functools import cache

from sqlalchemy import BigInteger, Boolean, Date, Integer, String, bindparam, column, text

from shared.db import UTCDateTime

PLAYER = ("p.display_name, p.timezone, p.run_length, p.last_active_date, p.synced_at, "
          "p.leetcode_username IS NOT NULL")
NO_PLAYER = "NULL, NULL, NULL, NULL, NULL, NULL"
PLAYER_TYPES = [column("display_name", String), column("timezone", String),
                column("run_length", Integer), column("last_active_date", Date),
                column("synced_at", UTCDateTime), column("named", Boolean)]


def board(alias: str = "") -> str:
    """The condition that picks one board's rows."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}season_id = :s AND {prefix}cohort_id = :c"


# The window `w` and the caller `m` are CTEs defined before this tail.
LIVE_TAIL = f"""
SELECT 0 AS part, w.user_id, w.points, CAST(NULL AS BIGINT) AS n, {PLAYER}
FROM w JOIN players p ON p.user_id = w.user_id
UNION ALL
SELECT 1, NULL, b.points, b.players, {NO_PLAYER} FROM board_scores b
WHERE {board('b')} AND b.points IN (SELECT points FROM w UNION SELECT points FROM m)
UNION ALL
SELECT 2, NULL, NULL, (SELECT COALESCE(SUM(b.players), 0) FROM board_scores b
                       WHERE {board('b')} AND b.points > (SELECT MAX(points) FROM w)), {NO_PLAYER}
UNION ALL
SELECT 3, NULL, m.points, (SELECT COALESCE(SUM(b.players), 0) FROM board_scores b
                           WHERE {board('b')} AND b.points > m.points), {NO_PLAYER}
FROM m
"""
LIVE_TYPES = [column("part", Integer), column("user_id", BigInteger),
              column("points", BigInteger), column("n", BigInteger), *PLAYER_TYPES]
ME = f"m AS (SELECT points FROM totals WHERE {board()} AND user_id = :me)"


def _near(where: str, order: str, limit: int) -> str:
    return (f"SELECT user_id, points FROM (SELECT t.user_id, t.points FROM totals t "
            f"WHERE {board('t')} AND {where} ORDER BY {order} LIMIT {limit}) AS near")


PAGE = text(f"""
WITH w AS (SELECT user_id, points FROM totals WHERE {board()}
           ORDER BY points DESC, user_id LIMIT :limit OFFSET :offset),
{ME}
{LIVE_TAIL}""").columns(*LIVE_TYPES)


def _side(ties: str, rest: str, points_order: str, user_order: str, end: str,
          skip: str) -> str:
    """Players on one side of the caller, the nearest first (their ties, then the next
    scores), from the `skip`-th to the `end`-th."""
    near = [_near(f"t.points = (SELECT points FROM m) AND {ties}", f"t.user_id {user_order}",
                  end),
            _near(rest, f"t.points {points_order}, t.user_id {user_order}", end)]
    return (f"SELECT user_id, points FROM (SELECT user_id, points FROM "
            f"({' UNION ALL '.join(near)}) AS near ORDER BY points {points_order}, "
            f"user_id {user_order} LIMIT {end} - {skip} OFFSET {skip}) AS side")


# A run of the board given by where it lies from the caller: `:above_skip` of the nearest
# players above them skipped, `:above_end` reached; the caller and those below them from
# `:below_skip` to `:below_end`. Index ranges next to the caller, however deep they stand.
SPAN = text(f"""
WITH {ME},
w AS ({_side("t.user_id < :me", "t.points > (SELECT points FROM m)", "ASC", "DESC",
             ":above_end", ":above_skip")}
      UNION ALL
      {_side("t.user_id >= :me", "t.points < (SELECT points FROM m)", "DESC", "ASC",
             ":below_end", ":below_skip")})
{LIVE_TAIL}""").columns(*LIVE_TYPES)

# Where a caller stands among the players tied with them: those listed before them.
TIED_BEFORE = text(f"SELECT count(*) AS n FROM totals WHERE {board()} AND points = :points "
                   "AND user_id < :me").columns(column("n", BigInteger))


@cache
def around(limit: int):
    """The window of `limit` players around the caller (one statement per page size).

    The caller's neighbours `n`: at most `limit - 1` players on each side, the nearest first
    (ties on each side, then the next scores). Of them, the window `w`: `limit` players in
    board order, ⌊(limit-1)/2⌋ before the caller, shifted at either end; only they are
    joined to their players. Every score between the window's best and worst is among them.
    The sizes are written into the statement, not bound: knowing them, PostgreSQL settles on
    a generic plan (half the time of planning each execution afresh), where a bound LIMIT
    looks to it like a tenth of the board.
    """
    span, k = limit - 1, (limit - 1) // 2
    return text(f"""
WITH {ME},
n AS ({_near("t.points = (SELECT points FROM m) AND t.user_id < :me", "t.user_id DESC", span)}
      UNION ALL
      {_near("t.points > (SELECT points FROM m)", "t.points, t.user_id DESC", span)}
      UNION ALL
      {_near("t.points = (SELECT points FROM m) AND t.user_id >= :me", "t.user_id", limit)}
      UNION ALL
      {_near("t.points < (SELECT points FROM m)", "t.points DESC, t.user_id", span)}),
o AS (SELECT user_id, points, row_number() OVER (ORDER BY points DESC, user_id) AS pos FROM n),
f AS MATERIALIZED (
  SELECT CASE WHEN y.start <= y.last_start AND y.start >= 1 THEN y.start
              WHEN y.last_start < y.start AND y.last_start >= 1 THEN y.last_start
              ELSE 1 END AS first
  FROM (SELECT (SELECT pos FROM o WHERE user_id = :me) - {k} AS start,
               (SELECT count(*) FROM o) - {limit} + 1 AS last_start) AS y),
w AS (SELECT o.user_id, o.points FROM o JOIN f ON o.pos >= f.first AND o.pos < f.first + {limit})
{LIVE_TAIL}""").columns(*LIVE_TYPES)

FROZEN_TYPES = [column("part", Integer), column("user_id", BigInteger),
                column("points", BigInteger), column("rank", Integer), column("tied", Integer),
                *PLAYER_TYPES]
FROZEN_ME = f"""
UNION ALL
SELECT 1, user_id, points, rank, tied, {NO_PLAYER} FROM standings
WHERE {board()} AND user_id = :me"""

FROZEN = text(f"""
SELECT 0 AS part, s.user_id, s.points, s.rank, s.tied, {PLAYER}
FROM standings s JOIN players p ON p.user_id = s.user_id
WHERE {board('s')} AND s.position > :offset AND s.position <= :offset + :limit
{FROZEN_ME}""").columns(*FROZEN_TYPES)

FROZEN_AROUND = text(f"""
WITH m AS (SELECT position FROM standings WHERE {board()} AND user_id = :me),
x AS (SELECT CASE WHEN m.position - :k > :total - :limit + 1 THEN :total - :limit + 1
                  ELSE m.position - :k END AS start FROM m),
f AS (SELECT CASE WHEN x.start < 1 THEN 1 ELSE x.start END AS first FROM x)
SELECT 0 AS part, s.user_id, s.points, s.rank, s.tied, {PLAYER}
FROM standings s JOIN players p ON p.user_id = s.user_id JOIN f ON 1 = 1
WHERE {board('s')} AND s.position >= f.first AND s.position < f.first + :limit
{FROZEN_ME}""").columns(*FROZEN_TYPES)

PLAYERS = text(f"""
SELECT p.user_id, {PLAYER} FROM players p WHERE p.user_id IN :ids
""").bindparams(bindparam("ids", expanding=True, type_=BigInteger)).columns(
    column("user_id", BigInteger), *PLAYER_TYPES)
