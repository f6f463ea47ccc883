"""The summary tables, recomputed set-based: a few passes over the facts, none per student.

Everything is published in one transaction (on PostgreSQL at REPEATABLE READ, so every pass
reads one snapshot): readers keep seeing the previous rows until it commits, then all the new
ones at once. The run is recorded in the same transaction. A full run on PostgreSQL writes the
mentors' tables on a second connection that reads the same snapshot (exported by the first),
while the first writes the students' and cohorts': most of those passes run on one core
(PostgreSQL runs window functions in the leader only and an INSERT ... SELECT never in
parallel), so side by side they keep both cores busy.
"""

import contextvars
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.analytics import passes, publish
from services.analytics import scope as scopes
from services.analytics.db import db
from services.analytics.figures import Windows
from services.analytics.sql import time_param
from shared.db import utcnow


@dataclass
class Report:
    """What a run did (or would do)."""

    kind: str
    covered: str
    rows: int = 0
    watermark: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    def __str__(self) -> str:
        if self.dry_run:
            return f"recompute-analytics ({self.kind}) would recompute {self.covered}"
        return (f"recompute-analytics ({self.kind}): {self.covered}, {self.rows} rows in "
                f"{self.seconds:.2f} s, watermark {self.watermark}")


def recompute(*, cohort: int | None = None, full: bool = False, dry_run: bool = False,
              now: datetime | None = None, log=None) -> Report:
    """Recompute the summaries (incremental unless `full` or `cohort`); callers hold the
    command lock."""
    started = utcnow()
    now = now or started
    engine = db.engine
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        publish.drop_leftovers(conn)
        mark, previous = scopes.watermark(conn), scopes.last_watermark(conn)
        if cohort is not None:
            scope = scopes.for_cohort(conn, cohort, previous or 0)
        elif full:
            scope = scopes.Scope(previous=previous or 0)
        else:
            scope = scopes.since(conn, previous)
    report = Report(scope.kind, scope.describe(), watermark=mark, dry_run=dry_run)
    if dry_run:
        return report
    try:
        _write(engine, scope, Windows(now), log, report, started)
    except BaseException:
        with suppress(SQLAlchemyError), engine.connect() as conn:  # else the next run does
            publish.drop_leftovers(conn.execution_options(isolation_level="AUTOCOMMIT"))
        raise
    report.seconds = (utcnow() - started).total_seconds()
    return report


def _write(engine, scope: scopes.Scope, windows: Windows, log, report: Report,
           started: datetime) -> None:
    """Every summary of `scope` in one transaction; on a full run on PostgreSQL, the
    mentors' on a second connection meanwhile (_beside)."""
    with _transaction(engine) as conn:
        p = passes.Pass(conn, scope, windows, log)
        passes.drop_temp(conn)
        snapshot = None
        if p.fresh:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            # It may wait for the second connection idle, longer than a request's transaction
            # may: that one's statements have the command's timeout.
            conn.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
            publish.create(conn, publish.LEARNERS)
        passes.stage(p)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # A copy of the context: the command's statement timeout is a context variable.
            beside = pool.submit(contextvars.copy_context().run, _beside, engine, snapshot,
                                 scope, windows, log) if p.fresh else None
            students, cohorts = passes.write_students(p), passes.write_cohorts(p)
            if p.fresh:
                publish.key(conn, publish.LEARNERS)
            mentors = beside.result() if beside else passes.write_mentors(p)
        report.rows = students + cohorts + mentors
        passes.drop_temp(conn)
        if p.fresh:
            publish.swap(conn, publish.SUMMARIES)
        finished = utcnow()
        conn.execute(text(
            "INSERT INTO analytics_runs (kind, started_at, finished_at, watermark, cohorts, "
            "students, mentors, rows) VALUES (:kind, :started, :finished, :mark, :c, :s, :m, "
            ":rows)"), {
            "kind": scope.kind, "started": time_param(conn, started),
            "finished": time_param(conn, finished),
            "mark": report.watermark if scope.kind != "cohort" else scope.previous,
            "c": cohorts, "s": students, "m": mentors, "rows": report.rows})


def _beside(engine, snapshot: str, scope: scopes.Scope, windows: Windows, log) -> int:
    """The mentors' tables on a second connection, reading the snapshot of the first
    (`snapshot`, from pg_export_snapshot()), into fresh copies committed for the first to
    swap in (a temp or uncommitted table is the session's own)."""
    with _transaction(engine, snapshot) as conn:
        p = passes.Pass(conn, scope, windows, log)
        publish.create(conn, publish.MENTORS)
        rows = passes.write_mentors(p)
        publish.key(conn, publish.MENTORS)
        passes.drop_temp(conn)
    return rows


@contextmanager
def _transaction(engine, snapshot: str | None = None):
    """A recompute's transaction: on PostgreSQL at REPEATABLE READ (on `snapshot` if given,
    another transaction's exported one), with the settings its passes are tuned for."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if snapshot:
            # The first statement of the transaction; the id is the server's own text.
            conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        passes.configure(conn)
        yield conn
