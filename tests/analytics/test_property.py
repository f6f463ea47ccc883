"""Property: over generated facts, every summary answer equals the live answer after a
recompute (PostgreSQL, where production runs the recompute)."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.analytics import create_app
from services.analytics.events import parse_events
from services.analytics.ingest import ingest
from services.analytics.recompute import recompute
from services.analytics.verify import verify
from tests.analytics.stream import NOW, event
from tests.support.databases import empty_tables, migrate, temporary_database

STUDENTS, MENTORS, COHORTS = range(1, 7), range(900, 903), range(1, 3)
moments = st.floats(0, 130).map(lambda days: NOW - timedelta(days=days))
roster = st.builds(lambda s, c, left, at: ("student.left" if left else "student.enrolled",
                                           at, {"student_id": s, "cohort_id": c}),
                   st.sampled_from(STUDENTS), st.sampled_from(COHORTS), st.booleans(), moments)
mentoring = st.builds(lambda m, s, off, at: ("mentor.unassigned" if off else "mentor.assigned",
                                             at, {"mentor_id": m, "student_id": s}),
                      st.sampled_from(MENTORS), st.sampled_from(STUDENTS), st.booleans(),
                      moments)
# A submission always belongs to one student (the ingest refuses moving it).
created = st.builds(lambda n, at: ("submission.created", at, {
    "submission_id": n, "student_id": STUDENTS[n % len(STUDENTS)], "assignment_id": 1}),
    st.integers(1, 25), moments)
reviewed = st.builds(lambda n, m, score, ok, at: ("submission.reviewed", at, {
    "submission_id": n, "mentor_id": m, "score": score,
    "outcome": "approved" if ok else "changes_requested"}),
    st.integers(1, 25), st.sampled_from(MENTORS), st.integers(0, 100), st.booleans(), moments)
histories = st.lists(st.one_of(roster, mentoring, created, reviewed), min_size=1, max_size=60)


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory):
    with temporary_database("postgresql", tmp_path_factory, "analytics_property") as url:
        migrate(create_app, url)
        app = create_app({"DATABASE_URL": url, "COHORT_ENV": "test"})
        yield app
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories)
def test_summary_equals_live_after_a_recompute(pg_app, history):
    empty_tables(pg_app)
    events = [event(f"p{i}", kind, at, **data) for i, (kind, at, data) in enumerate(history)]
    with pg_app.app_context():
        ingest(parse_events(events)[0])
        recompute(full=True)
        assert verify() == []
