"""One rate limit on LeetCode across the whole run and every process, and a shared breaker.

"N/S": requests start in slots S/N seconds apart (kept 10% wider), so no window of S seconds
holds more than N starts even when a request leaves up to a tenth of S after its slot. Each
caller reserves the next free slot and sleeps until it: one round trip a request. With
Redis (CACHE_URL) the next free slot is a key updated by one script on Redis's clock;
without it, a row of the service's database locked for each reservation. Both are shared by
every worker and every machine that runs a sync, which a file lock or a process's memory
would not be. The breaker (a 403 or a challenge page) lives beside it, so one worker's block
stops the others too.
"""

import time
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import select, update

from services.gamification.db import upsert, write_transaction
from services.gamification.models import RateLimit
from shared.db import utcnow

NAME = "leetcode"
SPREAD = 1.1  # slots 10% wider than N/S: a late request never squeezes N+1 into a window

# KEYS: the next free slot. ARGV: the spacing in microseconds. Reserves the next slot and
# returns the microseconds until it.
RESERVE = """
local now = redis.call('TIME')
local t = now[1] * 1000000 + now[2]
local slot = math.max(t, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.0f', slot + tonumber(ARGV[1])), 'PX',
           math.ceil((slot - t + tonumber(ARGV[1])) / 1000) + 1000)
return slot - t
"""


class Blocked(RuntimeError):
    """LeetCode refused us (403 or a challenge page): every sync stays away for a while."""


class RedisLimiter:
    def __init__(self, url: str, count: int, seconds: float):
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.spacing = seconds / count * SPREAD
        self.key = f"gamification:rate:{NAME}"
        self._reserve = self.client.register_script(RESERVE)

    def reserve(self) -> float:
        """Seconds until this caller's slot."""
        return self._reserve(keys=[self.key], args=[round(self.spacing * 1e6)]) / 1e6

    def blocked(self) -> str | None:
        reason = self.client.get(f"{self.key}:blocked")
        return reason.decode() if reason else None

    def block(self, seconds: int, reason: str) -> None:
        self.client.set(f"{self.key}:blocked", reason[:500], ex=seconds)


class DatabaseLimiter:
    def __init__(self, count: int, seconds: float):
        self.spacing = seconds / count * SPREAD
        self.table = RateLimit.__table__

    def _row(self, conn):
        conn.execute(upsert(conn, self.table).on_conflict_do_nothing(index_elements=["name"]),
                     {"name": NAME, "next_slot": 0.0})
        return conn.execute(select(self.table.c.next_slot, self.table.c.blocked_until,
                                   self.table.c.blocked_reason)
                            .where(self.table.c.name == NAME).with_for_update()).first()

    def reserve(self) -> float:
        with write_transaction() as conn:
            row = self._row(conn)
            now = time.time()
            slot = max(now, row.next_slot)
            conn.execute(update(self.table).where(self.table.c.name == NAME)
                         .values(next_slot=slot + self.spacing))
        return slot - now

    def blocked(self) -> str | None:
        with write_transaction() as conn:
            row = self._row(conn)
        if row.blocked_until is not None and row.blocked_until > utcnow():
            return row.blocked_reason or "blocked"
        return None

    def block(self, seconds: int, reason: str) -> None:
        with write_transaction() as conn:
            self._row(conn)
            conn.execute(update(self.table).where(self.table.c.name == NAME).values(
                blocked_until=utcnow() + timedelta(seconds=seconds), blocked_reason=reason[:500]))


def limiter():
    """The limiter every process of this service shares (made once per app)."""
    app = current_app._get_current_object()
    made = app.extensions.get("gamification.limiter")
    if made is None:
        count, seconds = app.config["LEETCODE_RATE"]
        url = app.config["CACHE_URL"]
        made = RedisLimiter(url, count, seconds) if url.startswith("redis") else \
            DatabaseLimiter(count, seconds)
        app.extensions["gamification.limiter"] = made
    return made


def acquire(rate_limiter, deadline: float | None = None, stop=None) -> bool:
    """Reserve a slot and sleep until it; False (the slot unused) if it is past the deadline
    (monotonic) or `stop` (an Event) is set meanwhile."""
    wait = rate_limiter.reserve()
    if deadline is not None and time.monotonic() + wait > deadline:
        return False
    if stop is not None:
        return not stop.wait(wait) if wait > 0 else not stop.is_set()
    if wait > 0:
        time.sleep(wait)
    return True
