"""Cached values that are never served stale once a write has returned, whatever Redis does.

Each key has a version in Redis (`v:<key>`), replaced by every write after it commits; a
value (`c:<key>`) is stored with the version and the cache epoch it was read under, and
served only while both are current. That alone fails when a write cannot reach Redis (a
restart, a write pause, a dropped connection): other workers would go on serving the value
the write should have replaced. So every value is also served only under a lease:

- `lease` holds the current epoch and expires on Redis's own clock (PXAT): at most
  CACHE_LEASE_SECONDS after a renewer looked at the service's `<service>_cache_state` row.
- Any worker renews it (at most one a second, SET NX), after recording in that row that it
  looked (`checked_at`, the database's clock) and reading its count of lost invalidations.
  A count the current epoch has not seen, or another Redis process (a restart, a
  failover), starts a new epoch: every value stored before is dead at once.
- A write whose invalidation fails retries it on a fresh connection; if Redis still does
  not take it, the write counts the loss in the same row (one statement, so it and any
  renewal are ordered by the row lock) and returns only when its retry succeeds or when no
  lease granted before the loss can be alive (checked_at + CACHE_LEASE_SECONDS).

Nothing a process keeps decides what is served; the breaker only spares lookups a
connection attempt. The price: while Redis is down a write that changed cached keys waits
up to CACHE_LEASE_SECONDS (returning as soon as Redis answers), and while the database is
down cached values are served for at most that long.
"""

import logging
import pickle
import secrets
import time
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import BigInteger, Column, Double, Integer, MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from shared.cache import FailOpenCache, LocalStore
from shared.db import Database
from shared.dbguard import statement_deadline

log = logging.getLogger(__name__)

VERSION_TTL_MS = 24 * 3600 * 1000
RENEW_LOCK_MS = 1000  # one renewal a second for the whole service
RENEW_EVERY = 0.25  # seconds between one process's attempts while a renewal is due
RENEW_DEADLINE = 1.0  # seconds the renewal's database statement may take
RETRY_EVERY = 0.1  # seconds between a failed write's retries of its invalidation
CLOCK_MARGIN = 0.1  # seconds added for clocks that do not tick at quite the same rate


def cache_state_table(metadata: MetaData, service: str) -> Table:
    """The one-row table of a service's cache epoch (put it in the service's models); named
    after the service, so services sharing a database keep their own."""
    return Table(
        f"{service}_cache_state", metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("losses", BigInteger, nullable=False),
        Column("checked_at", Double, nullable=False),
    )


class db_clock(FunctionElement):
    """The database server's clock, in seconds since 1970 (one clock for every worker)."""

    type = Double()
    inherit_cache = True


@compiles(db_clock, "postgresql")
def _pg_clock(element, compiler, **kw):
    return "CAST(extract(epoch FROM clock_timestamp()) AS double precision)"


@compiles(db_clock, "sqlite")
def _sqlite_clock(element, compiler, **kw):
    return "((julianday('now') - 2440587.5) * 86400.0)"


@dataclass(frozen=True, slots=True)
class Looked:
    """One lookup: the value on a hit, and what a miss needs to store one."""

    value: object = None
    epoch: bytes | None = None
    version: bytes | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    """What a write learnt while invalidating: the epoch and the keys' new versions."""

    epoch: bytes | None
    versions: dict


NO_CACHE = Looked()


def _token() -> bytes:
    return secrets.token_hex(8).encode()


class CoherentCache:
    """Lookups, fills and invalidations of one service's keys (see the module docstring)."""

    def __init__(self, app: Flask, db: Database, table: Table):
        self.app = app
        self.cache: FailOpenCache = app.extensions["cohort.cache"]
        self.kind = self.cache.kind
        self.db, self.table = db, table
        self.lease_seconds = app.config["CACHE_LEASE_SECONDS"]
        prefix = f"{app.name}:".encode()
        self.prefix = prefix
        self.lease_key, self.epoch_key = prefix + b"lease", prefix + b"epoch"
        self.renew_key = prefix + b"renew"
        if self.kind == "redis":
            self.store = self.cache.connections
        else:  # one process, a store that never fails: one epoch for ever
            self.store = LocalStore()
            self.store.execute("SET", self.lease_key, b"local|%d|local" % 2**62)
        self._next_renewal = 0.0

    # Reads -------------------------------------------------------------------------------

    def lookup(self, key: str) -> Looked:
        """One MGET: the value when it is current, else what a fill needs."""
        if self.kind == "null":
            return NO_CACHE
        k = key.encode()
        answer = self.cache.call(None, self.store.execute_on, "MGET", self.lease_key,
                                 self.prefix + b"v:" + k, self.prefix + b"c:" + k)
        if answer is None:
            return NO_CACHE
        run_id, (lease, version, entry) = answer
        epoch = None
        if lease is not None:
            epoch, _, rest = lease.partition(b"|")
            expires, _, granted_by = rest.partition(b"|")
            if granted_by != run_id:  # restored from a snapshot, or a replica promoted
                epoch = None
                self._renewal_due()
            elif int(expires) - time.time() * 1000 < self.lease_seconds * 500:
                self._renewal_due()
        if epoch is not None and version is not None and entry is not None:
            head = b"%b|%b|" % (epoch, version)
            if entry.startswith(head):
                return Looked(pickle.loads(entry[len(head):]), epoch, version)
        return Looked(None, epoch, version)

    def fill(self, key: str, looked: Looked, compute, ttl: int):
        """compute() (the source of truth), stored when the lookup allows it."""
        if self.kind == "null":
            return compute()
        epoch = looked.epoch or self._renewal_due()
        version = looked.version
        if epoch is not None and version is None:
            version = _token()
            stored = self.cache.call(None, self.store.execute, "SET",
                                     self.prefix + b"v:" + key.encode(), version,
                                     "PX", VERSION_TTL_MS, "NX")
            if stored is None:  # a write set one first, or Redis failed: do not store
                epoch = None
        value = compute()
        self.store_value(key, Fill(epoch, {key: version}), value, ttl)
        return value

    def store_value(self, key: str, fill: Fill | None, value, ttl: int) -> None:
        """Store a value read after `fill` was made (a lookup's or a write's)."""
        if fill is None or fill.epoch is None or fill.versions.get(key) is None:
            return
        entry = b"%b|%b|" % (fill.epoch, fill.versions[key]) + pickle.dumps(value, 5)
        self.cache.call(None, self.store.execute, "SET", self.prefix + b"c:" + key.encode(),
                        entry, "PX", int(ttl * 1000))

    # Writes ------------------------------------------------------------------------------

    def invalidate(self, keys) -> Fill | None:
        """After a commit: no value stored before it is served again once this returns.

        Returns what a fill of these keys needs (None when Redis could not be reached).
        """
        if self.kind == "null":
            return None
        versions = {key: _token() for key in dict.fromkeys(keys)}
        commands = [("SET", self.prefix + b"v:" + k.encode(), v, "PX", VERSION_TTL_MS)
                    for k, v in versions.items()]
        commands.append(("GET", self.lease_key))
        if self.cache.is_down:  # not even tried: as lost as a failed attempt
            self._lost(commands, "the cache is down")
            return None
        try:
            lease = self.store.pipeline(commands)[-1]
        except Exception as exc:
            self.cache.failed(exc)
            self._lost(commands, exc)
            return None
        return Fill(lease.partition(b"|")[0] if lease else None, versions)

    def _lost(self, commands, reason) -> None:
        """Count the loss, then wait until a retry succeeds or no old lease can be alive."""
        checked_at, now = self._record_loss()
        wait = checked_at + self.lease_seconds - now
        if wait <= 0:
            return  # no lease has been granted for longer than one lasts
        deadline = time.monotonic() + wait + CLOCK_MARGIN
        log.warning("cache invalidation of %d keys failed (%s); waiting up to %.1fs until no "
                    "worker can serve what it replaced", len(commands) - 1, reason,
                    wait + CLOCK_MARGIN)
        while True:
            try:
                self.store.pipeline(commands)
                return
            except Exception:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(RETRY_EVERY, left))

    def _record_loss(self) -> tuple[float, float]:
        insert = self._upsert().values(id=1, losses=secrets.randbits(62), checked_at=0.0)
        statement = insert.on_conflict_do_update(
            index_elements=["id"], set_={"losses": self.table.c.losses + 1},
        ).returning(self.table.c.checked_at, db_clock())
        return tuple(self.db.row(statement))

    # Leases ------------------------------------------------------------------------------

    def _renewal_due(self) -> bytes | None:
        """renew(), unless this process tried less than RENEW_EVERY ago (a latency guard:
        SET NX decides who renews)."""
        if time.monotonic() < self._next_renewal:
            return None
        self._next_renewal = time.monotonic() + RENEW_EVERY
        return self.renew()

    def renew(self) -> bytes | None:
        """Take the renewal (SET NX), look at the loss count, grant a lease; the epoch."""
        if self.kind != "redis":
            return b"local"
        if self.cache.is_down:
            return None
        try:
            got, now, record, info = self.store.pipeline([
                ("SET", self.renew_key, b"1", "PX", RENEW_LOCK_MS, "NX"), ("TIME",),
                ("GET", self.epoch_key), ("INFO", "server")])
        except Exception as exc:
            self.cache.failed(exc)
            return None
        if got is None:
            return None  # another worker renews
        # Redis's clock before the database is asked: the lease ends no later than
        # CACHE_LEASE_SECONDS after the check, even if the SET below is applied late.
        started_ms = int(now[0]) * 1000 + int(now[1]) // 1000
        run_id = next((line.split(b":", 1)[1].strip() for line in info.splitlines()
                       if line.startswith(b"run_id:")), b"")
        try:
            with self.app.app_context(), statement_deadline(RENEW_DEADLINE):
                losses = str(self._check()).encode()
        except Exception as exc:  # no lease: values are not served until one is granted
            log.warning("cache lease not renewed: %s: %s", type(exc).__name__, str(exc)[:200])
            return None
        parts = (record or b"").split(b"|")
        epoch, seen, recorded_run = parts if len(parts) == 3 else (b"", b"", b"")
        commands = []
        if not epoch or seen != losses or recorded_run != run_id:
            epoch = _token()
            commands.append(("SET", self.epoch_key, b"|".join((epoch, losses, run_id))))
            log.info("cache epoch %s begins (loss count %s, redis %s)", epoch.decode(),
                     losses.decode(), run_id.decode()[:8])
        expires = started_ms + int(self.lease_seconds * 1000)
        commands.append(("SET", self.lease_key, b"%b|%d|%b" % (epoch, expires, run_id),
                         "PXAT", expires))
        try:
            self.store.pipeline(commands)
        except Exception as exc:
            self.cache.failed(exc)
            return None
        return epoch

    def _check(self) -> int:
        insert = self._upsert().values(id=1, losses=secrets.randbits(62), checked_at=db_clock())
        statement = insert.on_conflict_do_update(
            index_elements=["id"], set_={"checked_at": db_clock()},
        ).returning(self.table.c.losses)
        return self.db.value(statement)

    def _upsert(self):
        dialect = postgresql if self.db.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(self.table)


def register_coherent_cache(app: Flask, db: Database, table: Table) -> None:
    """`app.extensions["cohort.coherent"]`, on the service's database and cache_state table."""
    app.extensions["cohort.coherent"] = CoherentCache(app, db, table)
