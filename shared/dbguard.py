"""A hung PostgreSQL fails fast: a deadline on every statement and commit, and a breaker.

Server-side timeouts (statement_timeout) need a server that answers, and TCP keepalives a
network that stops ACKing; a proxy or a half-dead host in front of PostgreSQL can ACK every
packet and answer nothing. So a watchdog thread shuts down the socket of any connection
whose statement, commit or rollback outlives its deadline: the waiting request gets an
error at once, in threads and sync workers alike.

After a deadline or a failed connection the process's breaker opens: checkouts fail at once
(503) instead of each waiting out a deadline, while a background probe tries the database
every PROBE_EVERY seconds and closes the breaker as soon as it answers. The breaker is this
process's own; it decides only how fast a request fails, never what any request sees.
"""

import logging
import socket
import threading
import time
from contextlib import contextmanager, suppress
from contextvars import ContextVar

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

PROBE_EVERY = 0.5
WATCH_EVERY = 0.05
# The client's deadline is a little longer than the server's statement_timeout, so a server
# that answers says why (a cancelled statement) before the socket is cut.
DEADLINE_GRACE = 1.0

_deadline: ContextVar[float | None] = ContextVar("statement_deadline", default=None)
_command: ContextVar[float | None] = ContextVar("command_statements", default=None)


class DatabaseUnavailable(Exception):
    """The database did not answer in time lately; requests fail fast until it does."""


@contextmanager
def statement_deadline(seconds: float):
    """Statements run inside the block may take at most `seconds` each."""
    token = _deadline.set(seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def command_statements(seconds: float):
    """Statements of a command (a migration, a recompute) may run `seconds` each, on the
    server and against the watchdog, instead of a request's DATABASE_STATEMENT_TIMEOUT."""
    token = _command.set(seconds)
    try:
        yield
    finally:
        _command.reset(token)


def _set_statement_timeout(dbapi_connection, value: str) -> None:
    """SET or RESET the session's statement_timeout outside any transaction."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(f"SET statement_timeout = {value}" if value != "DEFAULT"
                                 else "RESET statement_timeout")
    finally:
        dbapi_connection.autocommit = autocommit


class Watchdog:
    """Shuts down the socket of a connection busy past its deadline (one thread a process)."""

    def __init__(self):
        self._busy: dict[int, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, connection, seconds: float):
        key = id(connection)
        with self._lock:
            self._busy[key] = (time.monotonic() + seconds, connection)
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="db-watchdog")
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._busy.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_EVERY)
            now = time.monotonic()
            with self._lock:
                late = [(k, c) for k, (at, c) in self._busy.items() if at <= now]
                for key, connection in late:
                    del self._busy[key]
                    self._cut(connection)

    @staticmethod
    def _cut(connection) -> None:
        guard = getattr(connection, "cohort_guard", None)
        if guard is not None:
            guard.trip("a statement outlived its deadline")
        with suppress(Exception):
            fd = connection.pgconn.socket
            with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()


class WatchedCursor(psycopg.Cursor):
    def execute(self, *args, **kwargs):
        with WATCHDOG.watch(self.connection, self.connection.cohort_seconds()):
            return super().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        with WATCHDOG.watch(self.connection, self.connection.cohort_seconds()):
            return super().executemany(*args, **kwargs)


class WatchedConnection(psycopg.Connection):
    """A psycopg connection whose statements, commits and rollbacks have a deadline."""

    cohort_guard: "Guard | None" = None
    cohort_default = 10.0

    def cohort_seconds(self) -> float:
        command, given = _command.get(), _deadline.get()
        if command is not None:
            return command + DEADLINE_GRACE
        return self.cohort_default if given is None else min(given, self.cohort_default)

    def commit(self):
        with WATCHDOG.watch(self, self.cohort_seconds()):
            return super().commit()

    def rollback(self):
        with WATCHDOG.watch(self, self.cohort_seconds()):
            return super().rollback()


class Guard:
    """One engine's deadline and breaker."""

    def __init__(self, statement_timeout: float, retry_after: float):
        self.deadline, self.retry_after = statement_timeout + DEADLINE_GRACE, retry_after
        self._open_until = 0.0
        self._probe: threading.Thread | None = None
        self._connect = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self, reason: str) -> None:
        """Open the breaker and start the probe that closes it when the database answers."""
        with self._lock:
            if not self.is_open:
                log.error("database breaker open for this process: %s", reason)
            self._open_until = time.monotonic() + self.retry_after
            if self._connect and (self._probe is None or not self._probe.is_alive()):
                self._probe = threading.Thread(target=self._probing, daemon=True,
                                               name="db-probe")
                self._probe.start()

    def _probing(self) -> None:
        while self.is_open:
            time.sleep(PROBE_EVERY)
            try:
                with self._connect() as connection:
                    connection.execute("SELECT 1")
            except Exception:
                with self._lock:
                    self._open_until = time.monotonic() + self.retry_after
                continue
            with self._lock:
                self._open_until = 0.0
            log.warning("database answers again; breaker closed")

    def install(self, engine: Engine) -> None:
        """Connections of `engine` are watched; checkouts fail fast while the breaker is
        open."""
        guard = self

        def connect(cargs, cparams):
            connection = WatchedConnection.connect(*cargs, cursor_factory=WatchedCursor,
                                                   **cparams)
            connection.cohort_guard, connection.cohort_default = guard, guard.deadline
            return connection

        @event.listens_for(engine, "do_connect")
        def _do_connect(dialect, record, cargs, cparams):
            guard._connect = lambda: connect(cargs, cparams)  # the probe connects alike
            if guard.is_open:
                raise DatabaseUnavailable("the database breaker is open")
            try:
                return connect(cargs, cparams)
            except psycopg.OperationalError as exc:
                guard.trip(f"cannot connect: {str(exc)[:200]}")
                raise

        @event.listens_for(engine, "checkout")
        def _checkout(dbapi_connection, record, proxy):
            if guard.is_open:
                raise DatabaseUnavailable("the database breaker is open")
            command = _command.get()
            if command is not None and record.info.get("command_timeout") != command:
                _set_statement_timeout(dbapi_connection, str(int(command * 1000)))
                record.info["command_timeout"] = command

        @event.listens_for(engine, "checkin")
        def _checkin(dbapi_connection, record):
            if record.info.pop("command_timeout", None) is not None and dbapi_connection:
                with suppress(Exception):  # a broken connection is discarded anyway
                    _set_statement_timeout(dbapi_connection, "DEFAULT")
