"""Summary tables: recompute (full, incremental, one cohort), publish, verify, shadow, rollout."""

import threading
from datetime import timedelta

from sqlalchemy import inspect, text

from services.analytics import passes, publish
from services.analytics.db import db
from shared.flags import FlagValue
from tests.analytics.stream import NOW, event, stream

ADMIN = 1_000_000
PATHS = [f"students/{s}" for s in range(1, 13)] + ["mentors/900", "mentors/901", "mentors/902",
                                                   "cohorts/1", "cohorts/2"]


def answers(client, tokens, user=ADMIN) -> dict:
    found = {}
    for path in PATHS:
        response = client.get(f"/api/analytics/{path}/dashboard",
                              headers=tokens.user(user, "admin"))
        assert response.status_code == 200, response.json
        found[path] = response.json
    return found


def strip(answer: dict) -> dict:
    answer = {k: v for k, v in answer.items() if k not in ("source", "computed_at")}
    for item in answer.get("queue", []):
        item.pop("waiting_hours")
    answer.pop("oldest_pending_hours", None)
    return answer


def run(runner, *args):
    result = runner.invoke(args=list(args))
    return result.exit_code, result.output


def test_summary_answers_equal_live_ones_after_a_recompute(app, summary_app, tokens):
    live = answers(app.test_client(), tokens)
    code, output = run(summary_app.test_cli_runner(), "recompute-analytics", "--full")
    assert code == 0 and "(full)" in output, output
    summary = answers(summary_app.test_client(), tokens)
    assert {a["source"] for a in live.values()} == {"live"}
    assert {a["source"] for a in summary.values()} == {"summary"}
    assert {p: strip(a) for p, a in summary.items()} == {p: strip(a) for p, a in live.items()}


def test_without_a_summary_row_the_live_answer_serves(summary_app, tokens):
    body = summary_app.test_client().get("/api/analytics/students/1/dashboard",
                                         headers=tokens.user(ADMIN, "admin")).json
    assert body["source"] == "live"


def test_incremental_recomputes_only_what_was_ingested_since(summary_app, send, tokens):
    runner, client = summary_app.test_cli_runner(), summary_app.test_client()
    run(runner, "recompute-analytics")  # the first run covers everything
    before = answers(client, tokens)
    student = next(s for s in range(1, 13) if before[f"students/{s}"]["cohort_id"])
    cohort = before[f"students/{student}"]["cohort_id"]
    # A late event: it happened long ago but arrives now; only the student's cohort changes.
    send([event("late", "submission.created", NOW - timedelta(days=200), submission_id=99,
                student_id=student, assignment_id=1)])
    code, output = run(runner, "recompute-analytics")
    assert code == 0 and "(incremental): 1 cohorts" in output, output
    after = answers(client, tokens)
    assert after[f"students/{student}"]["submissions"] == (
        before[f"students/{student}"]["submissions"] + 1)
    assert strip(after[f"cohorts/{3 - cohort}"]) == strip(before[f"cohorts/{3 - cohort}"])
    assert after[f"cohorts/{cohort}"]["submissions"] == (
        before[f"cohorts/{cohort}"]["submissions"] + 1)
    code, output = run(runner, "recompute-analytics")
    assert "0 cohorts, 0 students" in output  # nothing new since


def test_one_cohort_and_dry_run(summary_app, send, tokens):
    runner = summary_app.test_cli_runner()
    run(runner, "recompute-analytics", "--full")
    send([event("new", "submission.created", NOW, submission_id=98, student_id=1,
                assignment_id=1)])
    _, output = run(runner, "recompute-analytics", "--dry-run")
    assert "would recompute 1 cohorts" in output
    _, output = run(runner, "recompute-analytics", "--cohort", "1")
    assert "(cohort)" in output
    with summary_app.app_context():
        marks = db.session.execute(text(
            "SELECT kind, watermark FROM analytics_runs ORDER BY id")).all()
    assert [k for k, _ in marks] == ["full", "cohort"]
    assert marks[0][1] == marks[1][1]  # one cohort does not move the watermark


def test_each_run_is_recorded_and_readiness_warns_when_old(make_app, summary_app):
    client = summary_app.test_client()
    check = client.get("/health/ready/").json["checks"]["recompute:responseTime"][0]
    assert check["status"] == "warn" and "no recompute" in check["output"]
    run(summary_app.test_cli_runner(), "recompute-analytics")
    fresh = make_app(USE_ANALYTICS_SUMMARY="on").test_client().get("/health/ready/").json
    assert fresh["checks"]["recompute:responseTime"][0]["status"] == "pass"
    assert fresh["status"] == "pass"
    with summary_app.app_context():
        started, finished, rows, mark = db.session.execute(text(
            "SELECT started_at, finished_at, rows, watermark FROM analytics_runs")).one()
        assert rows > 0 and mark > 0 and started <= finished
        db.session.execute(text("UPDATE analytics_runs SET finished_at = :old"),
                           {"old": (NOW - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S.%f")
                            if db.engine.dialect.name == "sqlite" else NOW - timedelta(hours=3)})
        db.session.commit()
    stale = make_app(ANALYTICS_MAX_AGE="3600").test_client().get("/health/ready/")
    assert stale.status_code == 200 and stale.json["status"] == "warn"
    assert "ANALYTICS_MAX_AGE=3600" in stale.json["checks"]["recompute:responseTime"][0]["output"]


def test_a_full_run_leaves_the_summary_tables_as_migrated(summary_app):
    def tables():
        found = inspect(db.engine)
        return {t: (found.get_pk_constraint(t), found.get_indexes(t),
                    [(c["name"], str(c["type"]), c["nullable"], c["default"])
                     for c in found.get_columns(t)])
                for t in publish.SUMMARIES}, sorted(found.get_table_names())

    runner = summary_app.test_cli_runner()
    with summary_app.app_context():
        before = tables()
        for _ in range(2):  # the second replaces tables the first put in place
            assert run(runner, "recompute-analytics", "--full")[0] == 0
        assert tables() == before
    assert run(runner, "recompute-analytics")[0] == 0  # an incremental run writes in place


def test_a_second_copy_does_nothing(summary_app):
    from shared.locks import command_lock

    with summary_app.app_context(), command_lock(db, "recompute-analytics"):
        code, output = run(summary_app.test_cli_runner(), "recompute-analytics")
    assert code == 0 and "already running" in output


def test_readers_see_the_old_summary_until_the_new_one_is_published(
        summary_app, send, tokens, monkeypatch):
    client, runner = summary_app.test_client(), summary_app.test_cli_runner()
    run(runner, "recompute-analytics", "--full")
    old = strip(client.get("/api/analytics/cohorts/1/dashboard",
                           headers=tokens.user(ADMIN, "admin")).json)
    send([event("n1", "student.enrolled", NOW, student_id=500, cohort_id=1)])
    halfway, resume = threading.Event(), threading.Event()
    write_mentors = passes.write_mentors

    def paused(p):  # students and cohorts written, not yet committed
        halfway.set()
        assert resume.wait(30)
        return write_mentors(p)

    monkeypatch.setattr(passes, "write_mentors", paused)
    worker = threading.Thread(target=run, args=(runner, "recompute-analytics", "--full"))
    worker.start()
    try:
        assert halfway.wait(30)
        during = strip(client.get("/api/analytics/cohorts/1/dashboard",
                                  headers=tokens.user(ADMIN, "admin")).json)
    finally:
        resume.set()
        worker.join(30)
    after = client.get("/api/analytics/cohorts/1/dashboard",
                       headers=tokens.user(ADMIN, "admin")).json
    assert during == old
    assert after["students"] == old["students"] + 1


def test_verify_lists_every_difference_and_exits_1(summary_app, send):
    runner = summary_app.test_cli_runner()
    run(runner, "recompute-analytics", "--full")
    code, output = run(runner, "verify-analytics")
    assert code == 0 and "match" in output, output
    send([event("v1", "submission.created", NOW - timedelta(days=1), submission_id=97,
                student_id=1, assignment_id=1)])
    code, output = run(runner, "verify-analytics", "--cohort", "2")
    assert code == 1
    assert "student 1: submissions: live" in output
    assert "cohort 2: submissions: live" in output
    code, output = run(runner, "verify-analytics", "--sample", "2")
    assert code in (0, 1)  # two random students may or may not include student 1


def test_shadow_serves_live_and_counts_differences(make_app, send, tokens):
    from prometheus_client import REGISTRY

    def counted(result):
        return REGISTRY.get_sample_value("analytics_shadow_comparisons_total",
                                         {"dashboard": "cohort", "result": result}) or 0

    send(stream(seed=6))
    app = make_app(USE_ANALYTICS_SUMMARY="shadow")
    run(app.test_cli_runner(), "recompute-analytics", "--full")
    client, admin = app.test_client(), tokens.user(ADMIN, "admin")
    same, different = counted("same"), counted("different")
    assert client.get("/api/analytics/cohorts/1/dashboard", headers=admin).json["source"] == "live"
    assert (counted("same"), counted("different")) == (same + 1, different)
    send([event("sh", "submission.created", NOW, submission_id=96, student_id=2,
                assignment_id=1)])
    assert client.get("/api/analytics/cohorts/1/dashboard", headers=admin).json["source"] == "live"
    assert counted("different") == different + 1
    assert "analytics_shadow_comparisons_total" in client.get("/metrics").text


def test_a_percentage_rollout_is_sticky_per_user(make_app, send, tokens):
    send(stream(seed=8))
    app = make_app(USE_ANALYTICS_SUMMARY="50%")
    run(app.test_cli_runner(), "recompute-analytics", "--full")
    client = app.test_client()
    flag = FlagValue("USE_ANALYTICS_SUMMARY", 50)
    admins = range(ADMIN, ADMIN + 20)
    for admin in admins:
        for _ in range(2):
            source = client.get("/api/analytics/cohorts/1/dashboard",
                                headers=tokens.user(admin, "admin")).json["source"]
            assert source == ("summary" if flag.enabled(admin) else "live")
    assert len({flag.enabled(a) for a in admins}) == 2

