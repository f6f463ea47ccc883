"""The leaderboard: a page, or the window around the caller, and the caller's place.

Three sources give the same answer byte for byte: Redis sorted sets while they carry the
board's current version, the live tables (totals read in index order, ranks from the score
buckets: no sort, no count of every player above), and a frozen season's standings. Beside
Redis, a page's entries are shown once per board version (mirror.Pages) and only the
caller's place and the season are worked out again.
"""

import json
from datetime import datetime

from flask import after_this_request, current_app
from sqlalchemy import and_, bindparam, or_, select, text

from services.gamification import mirror
from services.gamification.models import Board, Player, Season
from services.gamification.seasons import COLUMNS, season_dict
from services.gamification.streaks import NEVER, Run, reference_changes, reference_day
from shared.db import utcnow
from shared.errors import Problem
from shared.metrics import count_cache

from .db import db
from .leaderboard_sql import FROZEN, FROZEN_AROUND, PAGE, PLAYERS, around

SE, B = Season.__table__, Board.__table__
SEASON = select(*COLUMNS, B.c.version, B.c.players).select_from(SE.outerjoin(B, and_(
    B.c.season_id == SE.c.id, B.c.cohort_id == bindparam("cohort"))))
# Built once: a request only binds its values.
CURRENT = SEASON.where(or_(SE.c.cohort_id == bindparam("cohort"), SE.c.cohort_id.is_(None)),
                       SE.c.starts_at <= bindparam("now"), SE.c.ends_at > bindparam("now")) \
    .order_by(SE.c.starts_at.desc()).limit(1)
BY_ID = SEASON.where(SE.c.id == bindparam("season"))
PL = Player.__table__


def _with_players(season):
    """The season's row once per player of `ids` (the page Redis gave), or once with no
    player: the board's version and the page's players in one statement."""
    found = season.subquery()
    return select(found, PL.c.user_id, PL.c.display_name, PL.c.timezone, PL.c.run_length,
                  PL.c.last_active_date, PL.c.synced_at, PL.c.leetcode_username.is_not(None)
                  ).select_from(found.outerjoin(PL, PL.c.user_id.in_(
                      bindparam("ids", expanding=True))))


CURRENT_WITH_PLAYERS, BY_ID_WITH_PLAYERS = _with_players(CURRENT), _with_players(BY_ID)


def find_season(season: str | int, cohort_id: int, now: datetime):
    """The season row with its board's version and size; 404 when there is none."""
    if season == "current":
        row = db.fetch_one(CURRENT, {"cohort": cohort_id, "now": now})
        if row is None:
            raise Problem(404, f"No season is active for cohort {cohort_id} now.")
        return row
    row = db.fetch_one(BY_ID, {"cohort": cohort_id, "season": season})
    if row is None or row[2] not in (None, cohort_id):
        raise Problem(404, f"There is no season {season} for cohort {cohort_id}.")
    return row


def leaderboard(*, cohort_id: int, season: str | int, limit: int, offset: int, around: bool,
                me: int | None, copy_tried: bool = False) -> bytes:
    """The board of a season in a cohort: the JSON the API answers (`copy_tried`: `quick`
    found no answer in the Redis copy just now, so it is not asked again)."""
    now = utcnow()
    if not copy_tried:
        answer = from_copy(cohort_id=cohort_id, season=season, limit=limit, offset=offset,
                           around=around, me=me, now=now)
        if answer is not None:
            return answer
    row = find_season(season, cohort_id, now)
    board_mirror = mirror.current()
    if season == "current" and board_mirror is not None:
        board_mirror.current_seasons[cohort_id] = row[0]
    version, size = row[6], row[7] or 0
    params = statement_params(row[0], cohort_id, limit, offset, me, size)
    if row[5]:
        entries, mine = frozen(params, around and me is not None)
    else:
        window = None
        if board_mirror is not None and version is not None:
            window = board_mirror.read(row[0], cohort_id, version, offset=offset, limit=limit,
                                       me=me, around=around)
            count_cache(current_app.name, "leaderboard", "miss" if window is None else "hit")
            if window is None and board_mirror.usable:
                rebuild_later(board_mirror, row[0], cohort_id)
        entries, mine = ((entries_of(window), place_of(window)) if window
                         else live(params, around and me))
    players = {r[0]: r for r in db.fetch(PLAYERS, {"ids": [e[1] for e in entries]})} \
        if entries and len(entries[0]) == 3 else None
    return answer_of(row, cohort_id, shown(entries, players, now)[0], mine, now)


def quick(*, cohort_id: int, season: str | int, limit: int, offset: int, around: bool,
          me: int | None) -> bytes | None:
    """The answer where no request is at hand: from the Redis copy, or from the database
    without one; None when only `leaderboard` can answer (the copy is behind or missing, and
    is rebuilt once that answer is sent; or a frozen season)."""
    if mirror.current() is None:
        return leaderboard(cohort_id=cohort_id, season=season, limit=limit, offset=offset,
                           around=around, me=me)
    return from_copy(cohort_id=cohort_id, season=season, limit=limit, offset=offset,
                     around=around, me=me, now=utcnow())


def statement_params(season_id: int, cohort_id: int, limit: int, offset: int, me: int | None,
                     size: int) -> dict:
    """The parameters of the board's statements (leaderboard_sql)."""
    return {"s": season_id, "c": cohort_id, "limit": limit, "offset": offset, "me": me or 0,
            "k": (limit - 1) // 2, "total": size}


def from_copy(*, cohort_id: int, season: str | int, limit: int, offset: int, around: bool,
              me: int | None, now: datetime) -> bytes | None:
    """The answer from Redis in one statement (the season, its board's version and, unless
    the page is kept already, its players), when Redis holds the board at the version the
    database has; None otherwise, and the caller answers the long way."""
    board_mirror = mirror.current()
    if board_mirror is None:
        return None
    guess = season if season != "current" else board_mirror.current_seasons.get(cohort_id)
    if guess is None:
        return None
    window = board_mirror.window(guess, cohort_id, offset=offset, limit=limit, me=me,
                                 around=around)
    if window is None:
        return None
    version = int(window[0])
    key = (guess, cohort_id, version, int(window[2]), limit)
    page = board_mirror.pages.get(key, now)
    entries = None if page is not None else entries_of(window)
    ids = [] if entries is None else [e[1] for e in entries]
    if season == "current":
        rows = db.fetch(CURRENT_WITH_PLAYERS, {"cohort": cohort_id, "now": now, "ids": ids})
    else:
        rows = db.fetch(BY_ID_WITH_PLAYERS, {"cohort": cohort_id, "season": season, "ids": ids})
    row = rows[0] if rows else None
    if (row is None or row[0] != guess or row[2] not in (None, cohort_id) or row[5]
            or row[6] != version):
        return None
    count_cache(current_app.name, "leaderboard", "hit")
    if page is None:
        page, until = shown(entries, {r[8]: r for r in rows if r[8] is not None}, now)
        board_mirror.pages.put(key, page, until)
    return answer_of(row, cohort_id, page, place_of(window), now)


def dumps(value) -> str:
    """JSON as the services' Flask writes it (keys in order, compact)."""
    return json.dumps(value, separators=(",", ":"))


def answer_of(row, cohort_id: int, entries: str, mine: dict | None, now: datetime) -> bytes:
    """The answer's JSON, as Flask would write the whole, around the entries' JSON."""
    return (f'{{"season":{dumps(season_dict(row, now))},"cohort_id":{cohort_id},'
            f'"total":{row[7] or 0},"entries":{entries},"me":{dumps(mine)}}}\n').encode()


def shown(entries: list, players: dict | None, now: datetime) -> tuple[str, datetime]:
    """The entries' JSON, and until when it holds (a streak may read differently after)."""
    days = ReferenceDays(now)
    return dumps([entry(e, players, days) for e in entries]), days.until


class ReferenceDays(dict):
    """The day each streak is asked about, worked out once per zone and sync time: a page
    of players mostly shares a few; `until` is when the first of them could change."""

    def __init__(self, now: datetime):
        super().__init__()
        self.now, self.until = now, NEVER

    def of(self, timezone: str, synced_at, has_username: bool):
        key = (timezone, synced_at if has_username else None)
        day = self.get(key)
        if day is None:
            day = self[key] = reference_day(timezone, synced_at, has_username, self.now)
            self.until = min(self.until, reference_changes(timezone, synced_at, has_username,
                                                           self.now))
        return day


def entry(e, players: dict | None, days: ReferenceDays) -> dict:
    """(rank, user_id, points) with the player from `players`, or the whole row."""
    rank, user_id, points = e[:3]
    info = players[user_id] if players is not None else e
    *_, name, timezone, length, last, synced, named = info
    streak = Run(length, 0, last).current(days.of(timezone, synced, named))
    return {"rank": rank, "user_id": user_id, "display_name": name, "points": points,
            "streak": streak}


def me_dict(rank: int, points: int, tied: int) -> dict:
    return {"rank": rank, "points": points, "tied_with": tied - 1}


def entries_of(window: list) -> list[tuple[int, int, int]]:
    """Entries (rank, user_id, points) from the Redis read."""
    _, _, start, above, _, _, _, *page = window
    entries, rank, previous = [], 0, None
    for i in range(0, len(page), 2):
        points = -int(float(page[i + 1]))
        if points != previous:
            rank = above + 1 if i == 0 else start + i // 2 + 1
            previous = points
        entries.append((rank, int(page[i]), points))
    return entries


def place_of(window: list) -> dict | None:
    """The caller's place from the Redis read (None: not on the board)."""
    score, me_above, me_tied = window[4:7]
    return None if score in (b"", "", None) else me_dict(me_above + 1, -int(float(score)),
                                                         me_tied)


def rank_of(values: set, buckets: dict, above_top: int) -> dict:
    """Rank by points for a run of rows adjacent in board order (so every score between
    their best and worst is among `values`): one plus the players in the buckets above."""
    ranks, above = {}, above_top
    for points in sorted(values, reverse=True):
        ranks[points] = above + 1
        above += buckets[points]
    return ranks


def live(params: dict, around_me):
    """Entries with their players and the caller's place from the live tables."""
    rows = db.fetch(around(params["limit"]) if around_me else PAGE, params)
    window = [r[1:] for r in rows if r[0] == 0]
    me_row = next((r for r in rows if r[0] == 3), None)
    if around_me and me_row is None:  # not on this board: the page at the offset
        return live(params, False)
    buckets = {r[2]: r[3] for r in rows if r[0] == 1}
    above_top = next((r[3] for r in rows if r[0] == 2), 0) or 0
    window.sort(key=lambda r: (-r[1], r[0]))
    ranks = rank_of({r[1] for r in window}, buckets, above_top)
    entries = [(ranks[r[1]], r[0], r[1], *r[2:]) for r in window]
    mine = None
    if me_row is not None:
        mine = me_dict(me_row[3] + 1, me_row[2], buckets.get(me_row[2], 1))
    return entries, mine


def frozen(params: dict, around_me: bool):
    """Entries and the caller's place from a frozen season's standings."""
    rows = db.fetch(FROZEN_AROUND if around_me else FROZEN, params)
    if around_me and not any(r[0] == 1 for r in rows):
        rows = db.fetch(FROZEN, params)
    entries = [(r[3], r[1], r[2], *r[5:]) for r in rows if r[0] == 0]
    me_row = next((r for r in rows if r[0] == 1), None)
    mine = None if me_row is None else me_dict(me_row[3], me_row[2], me_row[4])
    return entries, mine


def rebuild_later(board_mirror, season_id: int, cohort_id: int) -> None:
    """Rebuild the Redis copy once this answer is sent (the database answers it)."""
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            rebuild(board_mirror, season_id, cohort_id)

    @after_this_request
    def schedule(response):
        response.call_on_close(run)
        return response


BOARD_ROWS = text(
    "SELECT b.version, t.user_id, t.points FROM boards b LEFT JOIN totals t "
    "ON t.season_id = b.season_id AND t.cohort_id = b.cohort_id "
    "WHERE b.season_id = :s AND b.cohort_id = :c")


def rebuild_all(season_id: int | None = None) -> list[tuple[int, int, bool]]:
    """Copy every board of the unfrozen seasons (or of one season) to Redis."""
    board_mirror = mirror.current()
    if board_mirror is None:
        return []
    query = select(B.c.season_id, B.c.cohort_id).join(SE, SE.c.id == B.c.season_id).where(
        SE.c.frozen.is_(False)).order_by(B.c.season_id, B.c.cohort_id)
    if season_id is not None:
        query = query.where(SE.c.id == season_id)
    return [(s, c, rebuild(board_mirror, s, c)) for s, c in db.rows(query)]


def rebuild(board_mirror, season_id: int, cohort_id: int) -> bool:
    """Copy a board to Redis from one statement: its version and its players agree."""
    rows = db.rows(BOARD_ROWS, {"s": season_id, "c": cohort_id})
    if not rows:
        return False
    return board_mirror.rebuild(season_id, cohort_id, rows[0][0],
                                [(u, p) for _, u, p in rows if u is not None])
