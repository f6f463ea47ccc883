"""The leaderboard: a page, or the window around the caller, and the caller's place.

Three sources give the same answer byte for byte: Redis sorted sets while they carry the
board's current version, the live tables (totals read in index order, ranks from the score
buckets: no sort, no count of every player above), and a frozen season's standings. A live
board is shown in blocks kept per version (Blocks): a page of kept blocks costs one statement
(the season, the board's version and the caller's place), and so does a window around a
caller the blocks have shown, since they keep where each player stands; for another caller,
Redis tells where they stand, or without it a count of the players tied with them. Blocks
not kept are read from Redis, or from the database at the page's offset or next to the
caller (SPAN).
"""

import json
import threading
from datetime import datetime
from json.encoder import encode_basestring_ascii as json_string

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, text

from services.gamification import mirror
from services.gamification.models import Board, BoardScore, Season, Total
from services.gamification.seasons import COLUMNS, season_dict
from services.gamification.streaks import (
    NEVER,
    current_streak,
    reference_changes,
    reference_day,
)
from shared.db import utcnow
from shared.errors import Problem
from shared.front import after_response
from shared.metrics import count_cache

from .db import db
from .leaderboard_sql import FROZEN, FROZEN_AROUND, PAGE, PLAYERS, SPAN, TIED_BEFORE
from .leaderboard_sql import around as window_around

SE, B, T, S = Season.__table__, Board.__table__, Total.__table__, BoardScore.__table__
SEASON = select(*COLUMNS, B.c.version, B.c.players).select_from(SE.outerjoin(B, and_(
    B.c.season_id == SE.c.id, B.c.cohort_id == bindparam("cohort"))))
# Built once: a request only binds its values.
CURRENT = SEASON.where(or_(SE.c.cohort_id == bindparam("cohort"), SE.c.cohort_id.is_(None)),
                       SE.c.starts_at <= bindparam("now"), SE.c.ends_at > bindparam("now")) \
    .order_by(SE.c.starts_at.desc()).limit(1)
BY_ID = SEASON.where(SE.c.id == bindparam("season"))


def _with_place(season):
    """The season's row with the caller's place on its board: their points, the players
    above them and those tied with them (NULL points: not on the board)."""
    found = season.subquery()
    mine = T.alias("mine")
    on_board = and_(S.c.season_id == found.c.id, S.c.cohort_id == bindparam("cohort"))
    above = select(func.coalesce(func.sum(S.c.players), 0)).where(
        on_board, S.c.points > mine.c.points).scalar_subquery()
    tied = select(S.c.players).where(on_board, S.c.points == mine.c.points).scalar_subquery()
    return select(found, mine.c.points, above, tied).select_from(found.outerjoin(mine, and_(
        mine.c.season_id == found.c.id, mine.c.cohort_id == bindparam("cohort"),
        mine.c.user_id == bindparam("me"))))


CURRENT_WITH_PLACE, BY_ID_WITH_PLACE = _with_place(CURRENT), _with_place(BY_ID)


BLOCK = 50  # entries in a kept block: pages and windows are cut from blocks
RUN = 16  # blocks shown together when one is missing: the neighbours' windows come kept
BLOCKS_KEPT = 4096  # about 20 MB a process: every block of two 100,000-player boards
BOARDS_PLACED = 64  # boards whose players' positions are kept (about 10 MB per 100,000)
TIES_COUNTED = 1000  # the most tied players counted to place a window without Redis


class Blocks:
    """Runs of BLOCK entries of boards as shown (each entry's JSON), kept in this process by
    the board's version and the run's place on it: a version fixes the players on a board,
    their points and how they are shown (every change to a player's name or streak bumps the
    boards they are on). Pages and windows around callers are cut from them, so callers near
    each other share them. Each is kept until the first moment one of its streaks could read
    differently (a local midnight), and the oldest go first beyond BLOCKS_KEPT.

    Where the players of the blocks shown stand on their board at its version is kept too
    (the latest version of BOARDS_PLACED boards): it places the window around a caller."""

    def __init__(self):
        self.kept: dict[tuple, tuple[list[str], datetime]] = {}
        self.positions: dict[tuple[int, int], tuple[int, dict[int, int]]] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple, now: datetime) -> list[str] | None:
        kept = self.kept.get(key)
        return kept[0] if kept is not None and now < kept[1] else None

    def put(self, key: tuple, entries: list[str], until: datetime) -> None:
        with self.lock:
            self.kept.pop(key, None)
            if len(self.kept) >= BLOCKS_KEPT:
                del self.kept[next(iter(self.kept))]
            self.kept[key] = (entries, until)

    def place(self, board: tuple, offset: int, entries: list) -> None:
        """Keep where the players of entries read at `offset` stand on the board."""
        season_id, cohort_id, version = board
        with self.lock:
            known = self.positions.get((season_id, cohort_id))
            if known is None or known[0] != version:
                self.positions.pop((season_id, cohort_id), None)
                if len(self.positions) >= BOARDS_PLACED:
                    del self.positions[next(iter(self.positions))]
                known = self.positions[(season_id, cohort_id)] = (version, {})
            known[1].update((e[1], offset + i) for i, e in enumerate(entries))

    def position(self, board: tuple, user_id: int) -> int | None:
        """Where the player stands on the board at its version, if a block showed them."""
        known = self.positions.get(board[:2])
        return known[1].get(user_id) if known is not None and known[0] == board[2] else None


def register_blocks(app) -> None:
    app.extensions["gamification.blocks"] = Blocks()


class Cut:
    """`count` entries from position `start` (0-based) of a board at a version, cut from kept
    blocks: `missing` names the blocks to read (`offset`, `limit`) before `json`, the RUNs
    of blocks around those not kept."""

    def __init__(self, board: tuple, start: int, count: int, now: datetime):
        self.board, self.start, self.count, self.now = board, start, count, now
        self.store: Blocks = current_app.extensions["gamification.blocks"]
        self.first, last = start // BLOCK, (start + count - 1) // BLOCK
        self.runs = {i: self.store.get((*board, i), now) for i in range(self.first, last + 1)}
        missing = [i for i, run in self.runs.items() if run is None]
        self.missing = None
        if missing and count > 0:
            low, high = missing[0] // RUN * RUN, (missing[-1] // RUN + 1) * RUN
            self.missing = (low * BLOCK, (high - low) * BLOCK)
        count_cache(current_app.name, "leaderboard_blocks", "miss" if self.missing else "hit")

    def fill(self, entries: list, players: dict | None) -> None:
        """Show and keep the missing blocks from their entries (read at `missing`)."""
        offset = self.missing[0]
        self.store.place(self.board, offset, entries)
        for at in range(0, len(entries), BLOCK):
            shown, until = shown_each(entries[at:at + BLOCK], players, self.now)
            block = (offset + at) // BLOCK
            self.store.put((*self.board, block), shown, until)
            if block in self.runs:
                self.runs[block] = shown

    def json(self) -> str:
        if self.count <= 0:
            return "[]"
        skip = self.start - self.first * BLOCK
        return json_list([e for i in sorted(self.runs) for e in self.runs[i]]
                         [skip:skip + self.count])


def page_cut(row, cohort_id: int, limit: int, offset: int, now: datetime, read) -> str:
    """The entries' JSON of a page of a live board (find_season's row) from kept blocks,
    reading the others with `read(offset, limit)`."""
    cut = Cut((row[0], cohort_id, row[6]), offset, min(limit, (row[7] or 0) - offset), now)
    if cut.missing:
        entries = read(*cut.missing)
        cut.fill(entries, players_of(entries))
    return cut.json()


def find_season(season: str | int, cohort_id: int, me: int | None, now: datetime):
    """The season row with its board's version and size, and the caller's place on it
    (`place_in`); 404 when there is none."""
    if season == "current":
        row = db.fetch_one(CURRENT_WITH_PLACE, {"cohort": cohort_id, "now": now, "me": me or 0})
        if row is None:
            raise Problem(404, f"No season is active for cohort {cohort_id} now.")
        return row
    row = db.fetch_one(BY_ID_WITH_PLACE, {"cohort": cohort_id, "season": season, "me": me or 0})
    if row is None or row[2] not in (None, cohort_id):
        raise Problem(404, f"There is no season {season} for cohort {cohort_id}.")
    return row


def place_in(row) -> dict | None:
    """The caller's place from find_season's row (a live board's)."""
    return None if row[8] is None else me_dict(row[9] + 1, row[8], row[10])


class Copy:
    """The Redis copy of a board, read at the version the database gave (find_season's
    row) until it is found behind or missing: then it is rebuilt once this answer is sent,
    and the database answers the rest."""

    def __init__(self, row, cohort_id: int):
        self.row, self.cohort_id = row, cohort_id
        self.mirror = mirror.current() if row[6] is not None else None

    def window(self, offset: int, limit: int) -> list | None:
        """Entries from `offset` (mirror.window), or None."""
        return self._checked(lambda m: m.window(self.row[0], self.cohort_id, offset=offset,
                                                limit=limit))

    def position(self, user_id: int) -> int | None:
        """Where the player stands on the board, or None."""
        answer = self._checked(lambda m: m.position(self.row[0], self.cohort_id, user_id))
        return None if answer is None or answer[1] < 0 else answer[1]

    def _checked(self, read) -> list | None:
        if self.mirror is None:
            return None
        answer = read(self.mirror)
        if answer is not None and int(answer[0]) != self.row[6]:
            answer = None
        count_cache(current_app.name, "leaderboard", "miss" if answer is None else "hit")
        if answer is None:
            if self.mirror.usable:
                rebuild_later(self.mirror, self.row[0], self.cohort_id)
            self.mirror = None
        return answer


def leaderboard(*, cohort_id: int, season: str | int, limit: int, offset: int, around: bool,
                me: int | None) -> bytes:
    """The board of a season in a cohort: the JSON the API answers."""
    now = utcnow()
    row = find_season(season, cohort_id, me, now)
    params = statement_params(row[0], cohort_id, limit, offset, me, row[7] or 0)
    if row[5]:
        entries, mine = frozen(params, around and me is not None)
        return answer_of(row, cohort_id, json_list(shown_each(entries, None, now)[0]), mine, now)
    copy = Copy(row, cohort_id)
    position = None
    if around and row[8] is not None:
        position = caller_position(row, copy, me)
        if position is None:  # a tie too large to count, without Redis: the window read whole
            entries, mine = live(window_around(limit), params)
            if mine is None:  # the caller left the board since: the page at the offset
                entries, mine = live(PAGE, params)
            page = json_list(shown_each(entries, None, now)[0])
            return answer_of(row, cohort_id, page, mine, now)
    start = offset if position is None else \
        max(0, min(position - (limit - 1) // 2, (row[7] or 0) - limit))

    def read(at: int, size: int) -> list:
        window = copy.window(at, size)
        if window is not None:
            return entries_of(window)
        if position is None:
            return live(PAGE, {**params, "offset": at, "limit": size})[0]
        return live(SPAN, {**params, **span(position, at, size)})[0]

    page = page_cut(row, cohort_id, limit, start, now, read)
    return answer_of(row, cohort_id, page, place_in(row), now)


def caller_position(row, copy: Copy, me: int) -> int | None:
    """Where the caller, on a live board, stands on it (find_season's row): as kept blocks
    know it, or Redis, or a count of the players tied with them listed before them; None
    when none of them can say (a tie of more than TIES_COUNTED without Redis)."""
    position = current_app.extensions["gamification.blocks"].position(
        (row[0], copy.cohort_id, row[6]), me)
    if position is None:
        position = copy.position(me)
    if position is None and row[10] <= TIES_COUNTED:
        position = row[9] + db.fetch_one(TIED_BEFORE, {"s": row[0], "c": copy.cohort_id,
                                                       "points": row[8], "me": me})[0]
    return position


def span(position: int, at: int, size: int) -> dict:
    """SPAN's parameters for the `size` entries from `at`, read from a player at `position`."""
    return {"above_skip": max(0, position - at - size), "above_end": max(0, position - at),
            "below_skip": max(0, at - position), "below_end": max(0, at + size - position)}


def statement_params(season_id: int, cohort_id: int, limit: int, offset: int, me: int | None,
                     size: int) -> dict:
    """The parameters of the board's statements (leaderboard_sql)."""
    return {"s": season_id, "c": cohort_id, "limit": limit, "offset": offset, "me": me or 0,
            "k": (limit - 1) // 2, "total": size}


def players_of(entries: list) -> dict | None:
    """The players of entries (rank, user_id, points) that came without them."""
    if not entries or len(entries[0]) != 3:
        return None
    return {r[0]: r for r in db.fetch(PLAYERS, {"ids": [e[1] for e in entries]})}


def dumps(value) -> str:
    """JSON as the services' Flask writes it (keys in order, compact)."""
    return json.dumps(value, separators=(",", ":"))


def json_list(items: list[str]) -> str:
    """The JSON array of items that are JSON already."""
    return "[" + ",".join(items) + "]"


def answer_of(row, cohort_id: int, entries: str, mine: dict | None, now: datetime) -> bytes:
    """The answer's JSON, as Flask would write the whole, around the entries' JSON."""
    return (f'{{"season":{dumps(season_dict(row, now))},"cohort_id":{cohort_id},'
            f'"total":{row[7] or 0},"entries":{entries},"me":{dumps(mine)}}}\n').encode()


def shown_each(entries: list, players: dict | None, now: datetime) -> tuple[list[str], datetime]:
    """Each entry's JSON, and until when they hold (a streak may read differently after)."""
    days = ReferenceDays(now)
    return [entry(e, players, days) for e in entries], days.until


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


def entry(e, players: dict | None, days: ReferenceDays) -> str:
    """The JSON of an entry (rank, user_id, points) with the player from `players`, or of
    the whole row: as Flask would write {rank, user_id, display_name, points, streak}."""
    rank, user_id, points = e[:3]
    info = players[user_id] if players is not None else e
    *_, name, timezone, length, last, synced, named = info
    streak = current_streak(length, last, days.of(timezone, synced, named))
    return (f'{{"rank":{rank},"user_id":{user_id},"display_name":{json_string(name)},'
            f'"points":{points},"streak":{streak}}}')


def me_dict(rank: int, points: int, tied: int) -> dict:
    return {"rank": rank, "points": points, "tied_with": tied - 1}


def entries_of(window: list) -> list[tuple[int, int, int]]:
    """Entries (rank, user_id, points) from the Redis read."""
    _, _, start, above, *page = window
    entries, rank, previous = [], 0, None
    for i in range(0, len(page), 2):
        points = -int(float(page[i + 1]))
        if points != previous:
            rank = above + 1 if i == 0 else start + i // 2 + 1
            previous = points
        entries.append((rank, int(page[i]), points))
    return entries


def rank_of(values: set, buckets: dict, above_top: int) -> dict:
    """Rank by points for a run of rows adjacent in board order (so every score between
    their best and worst is among `values`): one plus the players in the buckets above."""
    ranks, above = {}, above_top
    for points in sorted(values, reverse=True):
        ranks[points] = above + 1
        above += buckets[points]
    return ranks


def live(statement, params: dict):
    """Entries with their players and the caller's place from the live tables (a statement
    of leaderboard_sql)."""
    rows = db.fetch(statement, params)
    window = [r[1:] for r in rows if r[0] == 0]
    me_row = next((r for r in rows if r[0] == 3), None)
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

    after_response(run)


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
