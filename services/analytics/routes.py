"""HTTP routes of the analytics service: parse, call the service, answer."""

from flask import Blueprint

from services.analytics import service
from services.analytics.schemas import (
    CohortDashboard,
    Events,
    EventsDocument,
    IngestArgs,
    Ingested,
    MentorDashboard,
    StudentDashboard,
)
from shared.api import body, describe, problems, query, responds
from shared.auth import current_principal, service_required, user_required

api = Blueprint("analytics", __name__, url_prefix="/api/analytics")
internal = Blueprint("analytics_internal", __name__, url_prefix="/internal/analytics")


@api.get("/students/<id:student_id>/dashboard")
@user_required
@responds(200, StudentDashboard, "The student's figures, 12 ISO weeks oldest first")
def student_dashboard(student_id: int):
    """A student's dashboard: the student, their mentors, admins (anyone else: 404).

    `streak` (current days) and `points` (total) come from gamification; when it cannot be
    reached they are null and `unavailable` lists "gamification".
    """
    return service.student_dashboard(current_principal(), student_id)


@api.get("/mentors/<id:mentor_id>/dashboard")
@user_required
@responds(200, MentorDashboard, "Every assigned student, the review queue, review times")
def mentor_dashboard(mentor_id: int):
    """A mentor's dashboard: the mentor and admins (another mentor: 404, a student: 403).

    `queue` lists unreviewed submissions of the mentor's students, oldest first (at most
    100); `review_hours` are nearest-rank percentiles of the hours from creation to first
    review over this mentor's first reviews of the last 30 days.
    """
    return service.mentor_dashboard(current_principal(), mentor_id)


@api.get("/cohorts/<id:cohort_id>/dashboard")
@user_required
@responds(200, CohortDashboard, "The cohort's current students' figures, 30 days oldest first")
def cohort_dashboard(cohort_id: int):
    """A cohort's dashboard: a mentor of that cohort (cohort_id claim), admins (another
    cohort: 404, a student: 403)."""
    return service.cohort_dashboard(current_principal(), cohort_id)


@internal.post("/events")
@service_required
@query(IngestArgs)
@body(Events)
@responds(200, Ingested, "How many events were new, repeated, and (partial=true) refused")
@problems(400)
def ingest_events(query, body):
    """Ingest up to 5,000 events in one transaction, idempotent by event id.

    An invalid event makes the batch a 400 whose `errors` list {index, id, detail}, and
    nothing is written; with partial=true the valid events are written and the others are
    listed in `rejected`. Events may arrive in any order and more than once.
    """
    return service.ingest_events(body["events"], partial=query["partial"])


describe(ingest_events, body=EventsDocument)
