"""Demo facts: every dashboard of the demo users shows real figures; seeding is idempotent."""

from services.analytics.seed import is_empty, seed_demo
from shared.demo import DEMO_ADMIN_ID, DEMO_MENTOR_ID, DEMO_STUDENT_ID, cohort_of


def test_seed_fills_every_dashboard_and_runs_once(app, tokens):
    client = app.test_client()
    with app.app_context():
        assert is_empty()
        first = seed_demo(50)
        assert first.accepted > 300 and first.duplicates == 0
        assert not is_empty()
        again = seed_demo(50)
        assert again.accepted == 0 and again.duplicates == first.accepted
        assert seed_demo(50, dry_run=True).accepted == first.accepted
    student = client.get(f"/api/analytics/students/{DEMO_STUDENT_ID}/dashboard",
                         headers=tokens.user(DEMO_STUDENT_ID, "student")).json
    assert student["submissions"] >= 3 and student["cohort_id"] == cohort_of(DEMO_STUDENT_ID)
    assert any(w["submissions"] for w in student["weekly"])
    mentor = client.get(f"/api/analytics/mentors/{DEMO_MENTOR_ID}/dashboard",
                        headers=tokens.user(DEMO_MENTOR_ID, "mentor")).json
    assert len(mentor["students"]) == 25 and mentor["review_hours"]["p50"] is not None
    cohort = client.get("/api/analytics/cohorts/2/dashboard",
                        headers=tokens.user(DEMO_ADMIN_ID, "admin")).json
    assert cohort["students"] == 25 and sum(cohort["score_histogram"]) > 0
    assert cohort["average_score"] is not None


def test_the_seed_command_and_reset(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--students", "10"])
    assert result.exit_code == 0 and "ingested" in result.output, result.output
    reset = runner.invoke(args=["seed-demo", "--students", "10", "--reset"])
    assert "deleted" in reset.output and "(0 were there already)" in reset.output
    summary = app.test_cli_runner().invoke(args=["verify-analytics"])
    assert summary.exit_code == 0, summary.output
