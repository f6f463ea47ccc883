"""The analytics domain: who may see which dashboard, which path answers it (live, summary,
or live with the summary checked in shadow), and gamification's figures added to it."""

import logging

from flask import current_app
from prometheus_client import Counter

from services.analytics import live, summary
from services.analytics.compare import differences
from services.analytics.events import parse_events
from services.analytics.gamification import player_figures
from services.analytics.ingest import conflicts, ingest
from shared.auth import Principal
from shared.db import isoformat_z, utcnow
from shared.errors import Problem

log = logging.getLogger(__name__)
SHADOW = Counter("analytics_shadow_comparisons_total",
                 "Dashboards answered live and compared with the summary, by result",
                 ["dashboard", "result"])


def ingest_events(raws: list, *, partial: bool) -> dict:
    """Check every event; write the batch (or with `partial` its valid events) at once."""
    events, errors = parse_events(raws)
    clashes = conflicts(events)
    if clashes:
        bad = {e["index"] for e in clashes}
        events = [e for e in events if e.index not in bad]
        errors = sorted(errors + clashes, key=lambda e: e["index"])
    if errors and not partial:
        raise Problem(400, f"{len(errors)} of {len(raws)} events are invalid; nothing was "
                           "written. Fix them, or send partial=true to write the valid ones.",
                      title="Invalid events", errors=errors)
    accepted, duplicates = ingest(events)
    return {"accepted": accepted, "duplicates": duplicates, "rejected": errors}


def _path(caller: Principal) -> tuple[bool, bool]:
    """(serve the summary, shadow-check it) for this caller."""
    flag = current_app.config["FLAGS"]["USE_ANALYTICS_SUMMARY"]
    return flag.enabled(caller.user_id), flag.shadow


def _shadow(dashboard: str, key: int, served: dict, other: dict | None) -> None:
    if other is None:
        return  # no summary row yet: nothing to compare
    found = differences(served, other)
    SHADOW.labels(dashboard, "different" if found else "same").inc()
    if found:
        log.warning("summary differs from live", extra={"fields": {
            "dashboard": dashboard, "id": key, "differences": found[:50]}})


def _finish(answer: dict, source: str, computed_at) -> dict:
    answer["source"], answer["computed_at"] = source, isoformat_z(computed_at)
    answer.setdefault("unavailable", [])
    return answer


def _add_players(answer: dict, rows: list[dict]) -> None:
    """Streak and points of these rows' students, one batch call; null when unavailable."""
    figures = player_figures([r["student_id"] for r in rows])
    if figures is None:
        answer["unavailable"] = ["gamification"]
        return
    for row in rows:
        row.update(figures.get(row["student_id"], {"streak": None, "points": None}))


def student_dashboard(caller: Principal, student_id: int) -> dict:
    """A student's dashboard: the student, their mentors and admins (others: 404)."""
    now = utcnow()
    use_summary, shadow = _path(caller)
    answer = computed = None
    if use_summary:
        answer, access, computed = summary.student(student_id, caller.user_id, now)
    if computed is None:
        answer, access = live.student(student_id, caller.user_id, now)
        if shadow:
            other, _, at = summary.student(student_id, caller.user_id, now)
            _shadow("student", student_id, answer, other if at else None)
    allowed = {"student": caller.user_id == student_id, "mentor": access["mentored"],
               "admin": access["known"] or caller.user_id == student_id}[caller.role]
    if not allowed:
        raise Problem(404, f"No dashboard of student {student_id} that you may see.")
    _add_players(answer, [answer])
    return _finish(answer, "summary" if computed else "live", computed or now)


def mentor_dashboard(caller: Principal, mentor_id: int) -> dict:
    """A mentor's dashboard: the mentor and admins; students may not (403)."""
    if caller.role == "student":
        raise Problem(403, "Students may not see mentor dashboards.", title="Forbidden")
    if caller.role == "mentor" and caller.user_id != mentor_id:
        raise Problem(404, f"No dashboard of mentor {mentor_id} that you may see.")
    now = utcnow()
    use_summary, shadow = _path(caller)
    answer = computed = None
    if use_summary:
        answer, computed = summary.mentor(mentor_id, now)
    if computed is None:
        answer = live.mentor(mentor_id, now)
        if shadow:
            other, at = summary.mentor(mentor_id, now)
            _shadow("mentor", mentor_id, answer, other if at else None)
    _add_players(answer, answer["students"])
    return _finish(answer, "summary" if computed else "live", computed or now)


def cohort_dashboard(caller: Principal, cohort_id: int) -> dict:
    """A cohort's dashboard: its mentors (cohort_id claim) and admins; students may not."""
    if caller.role == "student":
        raise Problem(403, "Students may not see cohort dashboards.", title="Forbidden")
    missing = Problem(404, f"No dashboard of cohort {cohort_id} that you may see.")
    if caller.role == "mentor" and caller.cohort_id != cohort_id:
        raise missing
    now = utcnow()
    use_summary, shadow = _path(caller)
    answer = computed = None
    if use_summary:
        answer, computed = summary.cohort(cohort_id, now)
    if answer is None:
        answer = live.cohort(cohort_id, now)
        if answer is not None and shadow:
            other, _ = summary.cohort(cohort_id, now)
            _shadow("cohort", cohort_id, answer, other)
    if answer is None:
        raise missing
    return _finish(answer, "summary" if computed else "live", computed or now)
