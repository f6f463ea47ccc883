"""Leaderboards in Redis sorted sets, served only while they carry the database's version.

Each board is a sorted set (member: the zero-padded user id, so ties list by user id;
score: minus the points, so ZRANGE reads rank order) and a version key "<version>:<size>".
A transaction that changed a board bumps the board's version in the database; after it
commits, the change is applied here only if Redis holds exactly the version before it.
Anything else (Redis restarted empty, an update lost while it blipped, two writers applied
out of order, a key evicted) leaves the versions different, and the reader then answers
from the database and rebuilds the board from one consistent read.
"""

import logging
import time

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
PREFIX = "gamification:lb"
REBUILD_LOCK_SECONDS = 60
CHUNK = 10_000

# KEYS: board, version. ARGV: version before, version after, then member, score ("x": gone).
FOLLOW = """
local v = redis.call('GET', KEYS[2])
if not v then return 0 end
local sep = string.find(v, ':')
if string.sub(v, 1, sep - 1) ~= ARGV[1] then return 0 end
if redis.call('ZCARD', KEYS[1]) ~= tonumber(string.sub(v, sep + 1)) then return 0 end
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == 'x' then redis.call('ZREM', KEYS[1], ARGV[i])
  else redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i]) end
end
redis.call('SET', KEYS[2], ARGV[2] .. ':' .. redis.call('ZCARD', KEYS[1]))
return 1
"""

# KEYS: board, version. Ends the script with nil unless the board is complete, else leaves
# its `version` and `size`.
COMPLETE = """
local v = redis.call('GET', KEYS[2])
if not v then return nil end
local size = redis.call('ZCARD', KEYS[1])
local sep = string.find(v, ':')
if tonumber(string.sub(v, sep + 1)) ~= size then return nil end
local version = string.sub(v, 1, sep - 1)
"""

# ARGV: offset, limit. Returns {version, size, offset, players above the first entry, member,
# score, member, score ...}.
READ = COMPLETE + """
local start, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local page = redis.call('ZRANGE', KEYS[1], start, start + limit - 1, 'WITHSCORES')
local above = 0
if #page > 0 then above = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. page[2]) end
local answer = {version, size, start, above}
for i = 1, #page do answer[#answer + 1] = page[i] end
return answer
"""

# ARGV: a member. Returns {version, where the member stands (0-based; -1: not on the board)}.
PLACE = COMPLETE + """
return {version, redis.call('ZRANK', KEYS[1], ARGV[1]) or -1}
"""

# KEYS: board, version, the rebuilt set. ARGV: its version, its size. Installs the rebuilt
# board unless a newer version is there already.
INSTALL = """
local v = redis.call('GET', KEYS[2])
if v then
  local sep = string.find(v, ':')
  if tonumber(string.sub(v, 1, sep - 1)) > tonumber(ARGV[1]) then
    redis.call('UNLINK', KEYS[3])
    return 0
  end
end
redis.call('UNLINK', KEYS[1])
if tonumber(ARGV[2]) > 0 then redis.call('RENAME', KEYS[3], KEYS[1]) end
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2])
return 1
"""


def member(user_id: int) -> str:
    return f"{user_id:020d}"


def keys(season_id: int, cohort_id: int) -> list[str]:
    board = f"{PREFIX}:{season_id}:{cohort_id}"
    return [board, f"{board}:v"]


class Mirror:
    """The Redis copy of the boards, with a breaker: after an error Redis is left alone for
    CACHE_RETRY_AFTER seconds (the database answers meanwhile)."""

    def __init__(self, url: str, timeout: float, retry_after: float):
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                   "retry": Retry(NoBackoff(), 0)}
        self.client = redis.Redis.from_url(url, **options)
        # A rebuild writes a whole board: it gets more time than a read.
        self.writer = redis.Redis.from_url(url, **{**options, "socket_timeout": 5.0})
        self.retry_after = retry_after
        self.down_until = 0.0
        self._follow = self.client.register_script(FOLLOW)
        self._read = self.client.register_script(READ)
        self._place = self.client.register_script(PLACE)
        self._install = self.writer.register_script(INSTALL)

    def _failed(self, what: str, exc: Exception) -> None:
        if time.monotonic() >= self.down_until:
            log.warning("leaderboard redis %s failed; the database answers for %ss: %s",
                        what, self.retry_after, exc)
        self.down_until = time.monotonic() + self.retry_after

    @property
    def usable(self) -> bool:
        return time.monotonic() >= self.down_until

    def follow(self, written: dict) -> None:
        """Apply committed board changes whose version Redis holds the one before."""
        for (season_id, cohort_id), change in sorted(written.items()):
            if change.before is None or not self.usable:
                continue
            args = [change.before, change.after]
            for user_id, points in sorted(change.members.items()):
                args += [member(user_id), "x" if points is None else -points]
            try:
                self._follow(keys=keys(season_id, cohort_id), args=args)
            except redis.RedisError as exc:
                self._failed("update", exc)

    def window(self, season_id: int, cohort_id: int, *, offset: int,
               limit: int) -> list | None:
        """The board's entries from `offset` at whatever version Redis holds (the answer's
        first element), or None: no complete board there (or Redis down). Served only once
        the database has said that version is the board's."""
        return self._run(self._read, season_id, cohort_id, [offset, limit])

    def position(self, season_id: int, cohort_id: int, user_id: int) -> list | None:
        """[version, where the player stands on the board (-1: not on it)], as `window`."""
        return self._run(self._place, season_id, cohort_id, [member(user_id)])

    def _run(self, script, season_id: int, cohort_id: int, args: list) -> list | None:
        if not self.usable:
            return None
        try:
            return script(keys=keys(season_id, cohort_id), args=args)
        except redis.RedisError as exc:
            self._failed("read", exc)
            return None

    def rebuild(self, season_id: int, cohort_id: int, version: int, rows) -> bool:
        """Install the board read in one statement at `version`; one rebuild at a time."""
        board, version_key = keys(season_id, cohort_id)
        lock, temporary = f"{board}:rebuilding", f"{board}:new:{version}"
        try:
            if not self.writer.set(lock, "1", nx=True, ex=REBUILD_LOCK_SECONDS):
                return False
            try:
                self.writer.unlink(temporary)
                for start in range(0, len(rows), CHUNK):
                    chunk = rows[start:start + CHUNK]
                    self.writer.zadd(temporary, {member(u): -p for u, p in chunk})
                return bool(self._install(keys=[board, version_key, temporary],
                                          args=[version, len(rows)]))
            finally:
                self.writer.delete(lock)
        except redis.RedisError as exc:
            self._failed("rebuild", exc)
            return False

    def drop(self, season_id: int, cohort_id: int) -> None:
        try:
            self.writer.unlink(*keys(season_id, cohort_id))
        except redis.RedisError as exc:
            self._failed("drop", exc)


def register_mirror(app) -> None:
    url = app.config["CACHE_URL"]
    app.extensions["gamification.mirror"] = Mirror(
        url, app.config["CACHE_SOCKET_TIMEOUT"], app.config["CACHE_RETRY_AFTER"]
    ) if url.startswith("redis") else None


def current() -> Mirror | None:
    return current_app.extensions.get("gamification.mirror")


def follow(written: dict) -> None:
    """After a commit: let the Redis copy follow (nothing without Redis)."""
    board_mirror = current()
    if board_mirror is not None and written:
        board_mirror.follow(written)
