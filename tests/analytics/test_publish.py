"""A full run on PostgreSQL, written by two connections: one snapshot, published all at once
or not at all, and nothing left behind for the next run."""

import pytest
from sqlalchemy import inspect, text

from services.analytics import passes, publish
from services.analytics import recompute as recompute_module
from services.analytics.db import db
from tests.analytics.stream import NOW, event
from tests.analytics.test_summary import run

LATE = 95  # the submission id of a fact that arrives during a run


# On SQLite a full run writes on one connection: these run on PostgreSQL only.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def a_mentored_student(app) -> int:
    with app.app_context():
        return db.session.execute(text(
            "SELECT min(student_id) FROM analytics_mentorships WHERE status = 'assigned'"
        )).scalar_one()


def published(app, student: int) -> tuple[int, bool]:
    """The student's submissions in their summary, and whether the late submission waits
    in a mentor's queue: the two sides of the run, one for each connection."""
    with app.app_context():
        submissions = db.session.execute(text(
            "SELECT submissions FROM analytics_student_summaries WHERE student_id = :s"),
            {"s": student}).scalar_one()
        queued = db.session.execute(text(
            "SELECT count(*) FROM analytics_mentor_queue WHERE submission_id = :n"),
            {"n": LATE}).scalar_one()
        return submissions, queued > 0


def state(app) -> tuple[dict, list[str]]:
    """Every summary row, and the tables there are."""
    with app.app_context():
        rows = {t: sorted(map(tuple, db.session.execute(text(f"SELECT * FROM {t}")).all()))
                for t in publish.SUMMARIES}
        return rows, sorted(inspect(db.engine).get_table_names())


def test_both_connections_read_the_snapshot_of_the_first(summary_app, send, monkeypatch):
    runner = summary_app.test_cli_runner()
    run(runner, "recompute-analytics", "--full")
    student = a_mentored_student(summary_app)
    before, _ = published(summary_app, student)
    beside = recompute_module._beside

    def after_a_late_fact(*args):  # the first connection's snapshot is taken; the second's not
        send([event("late", "submission.created", NOW, submission_id=LATE, student_id=student,
                    assignment_id=1)])
        return beside(*args)

    monkeypatch.setattr(recompute_module, "_beside", after_a_late_fact)
    code, output = run(runner, "recompute-analytics", "--full")
    assert code == 0, output
    assert published(summary_app, student) == (before, False)  # seen by neither
    monkeypatch.undo()
    run(runner, "recompute-analytics", "--full")
    assert published(summary_app, student) == (before + 1, True)  # then by both


@pytest.mark.parametrize("failing", ["write_students", "write_mentors", "swap"])
def test_a_failed_run_publishes_nothing_and_leaves_nothing(summary_app, send, monkeypatch,
                                                           failing):
    runner = summary_app.test_cli_runner()
    run(runner, "recompute-analytics", "--full")
    before = state(summary_app)
    send([event("new", "student.enrolled", NOW, student_id=501, cohort_id=1)])

    def fail(*args):
        raise RuntimeError("a pass failed")

    # The students' pass fails on the first connection, the mentors' on the second (after
    # the first wrote its tables), the swap after the second committed its copies.
    target = publish if failing == "swap" else passes
    monkeypatch.setattr(target, failing, fail)
    code, _ = run(runner, "recompute-analytics", "--full")
    assert code != 0
    assert state(summary_app) == before
    monkeypatch.undo()
    assert run(runner, "recompute-analytics", "--full")[0] == 0
    assert state(summary_app) != before


def test_a_killed_runs_copies_are_dropped_by_the_next_run(summary_app):
    runner = summary_app.test_cli_runner()
    run(runner, "recompute-analytics", "--full")
    before = state(summary_app)
    with summary_app.app_context(), db.engine.begin() as conn:  # what the second connection
        publish.create(conn, publish.MENTORS)                    # commits before the swap
        publish.key(conn, publish.MENTORS)
    assert state(summary_app)[1] != before[1]
    assert run(runner, "recompute-analytics", "--full")[0] == 0
    assert state(summary_app)[1] == before[1]


def test_the_second_connection_has_the_commands_statement_timeout(summary_app, make_app,
                                                                   monkeypatch):
    app = make_app(USE_ANALYTICS_SUMMARY="on", DATABASE_STATEMENT_TIMEOUT="0.3",
                   DATABASE_COMMAND_TIMEOUT="5")
    mentors = passes.write_mentors

    def slow(p):  # longer than a request may take
        p.conn.execute(text("SELECT pg_sleep(0.6)"))
        return mentors(p)

    monkeypatch.setattr(passes, "write_mentors", slow)
    code, output = run(app.test_cli_runner(), "recompute-analytics", "--full")
    assert code == 0, output


def test_the_first_connection_may_wait_for_the_second_past_the_idle_timeout(
        summary_app, make_app, monkeypatch):
    app = make_app(USE_ANALYTICS_SUMMARY="on", DATABASE_IDLE_IN_TRANSACTION_TIMEOUT="1")
    mentors = passes.write_mentors

    def slow(p):  # the first connection has finished its passes and waits, idle
        p.conn.execute(text("SELECT pg_sleep(1.5)"))
        return mentors(p)

    monkeypatch.setattr(passes, "write_mentors", slow)
    code, output = run(app.test_cli_runner(), "recompute-analytics", "--full")
    assert code == 0, output
