"""Dashboard answers from figures, the same code for the live and the summary paths."""

from datetime import datetime, timedelta

from services.analytics.figures import BUCKETS, DAYS, WEEKS, Windows, week_label
from services.analytics.sql import as_time
from shared.db import isoformat_z


def average(score_sum: int, reviewed: int) -> float | None:
    return round(score_sum / reviewed, 2) if reviewed else None


def hours(later: datetime, earlier: datetime) -> float:
    return round((as_time(later) - as_time(earlier)).total_seconds() / 3600, 2)


def percentiles(rows) -> dict:
    """Nearest-rank p50 and p90 from the rows figures.review_hours picked: (created,
    first reviewed, rank, count)."""
    answer = {"p50": None, "p90": None}
    for created, reviewed, rank, count in rows:
        if rank == (count + 1) // 2:
            answer["p50"] = hours(reviewed, created)
        if rank == (9 * count + 9) // 10:
            answer["p90"] = hours(reviewed, created)
    return answer


def _shift(values: list[int], steps: int) -> list[int]:
    """Counts aligned to windows `steps` periods later: the newest periods are zeros."""
    steps = max(0, min(steps, len(values)))
    return values[steps:] + [0] * steps


def weekly(submissions: list[int], reviews: list[int], as_of: datetime, now: datetime):
    """The 12 weeks of `now`, oldest first, from counts of the 12 weeks of `as_of`."""
    starts = Windows(now).week_starts[:WEEKS]
    steps = (starts[-1] - Windows(as_of).week_starts[WEEKS - 1]) // timedelta(weeks=1)
    subs, revs = _shift(list(submissions), steps), _shift(list(reviews), steps)
    return [{"week": week_label(start), "submissions": subs[k], "reviewed": revs[k]}
            for k, start in enumerate(starts)]


def daily(submissions: list[int], reviews: list[int], as_of: datetime, now: datetime):
    """The 30 days of `now`, oldest first, from counts of the 30 days of `as_of`."""
    starts = Windows(now).day_starts[:DAYS]
    steps = (starts[-1] - Windows(as_of).day_starts[DAYS - 1]) // timedelta(days=1)
    subs, revs = _shift(list(submissions), steps), _shift(list(reviews), steps)
    return [{"date": start.date().isoformat(), "submissions": subs[k], "reviews": revs[k]}
            for k, start in enumerate(starts)]


def student(student_id: int, cohort_id, totals: dict, weeks: list[dict]) -> dict:
    """The student dashboard, streak and points still to be filled in."""
    return {
        "student_id": student_id, "cohort_id": cohort_id,
        "submissions": totals["submissions"], "reviewed": totals["reviewed"],
        "pending": totals["submissions"] - totals["reviewed"], "approved": totals["approved"],
        "average_score": average(totals["score_sum"], totals["reviewed"]),
        "weekly": weeks, "streak": None, "points": None,
    }


def mentor_student(student_id: int, totals: dict) -> dict:
    """One row of a mentor's students."""
    return {
        "student_id": student_id, "submissions": totals["submissions"],
        "reviewed": totals["reviewed"], "pending": totals["submissions"] - totals["reviewed"],
        "average_score": average(totals["score_sum"], totals["reviewed"]),
        "last_submission_at": isoformat_z(as_time(totals["last_at"])),
        "streak": None, "points": None,
    }


def queue_item(submission_id: int, student_id: int, submitted_at, now: datetime) -> dict:
    return {"submission_id": submission_id, "student_id": student_id,
            "submitted_at": isoformat_z(as_time(submitted_at)),
            "waiting_hours": hours(now, submitted_at)}


def mentor(mentor_id: int, students: list[dict], queue: list[dict], review_hours: dict,
           reviews_last_7_days: int) -> dict:
    return {"mentor_id": mentor_id, "students": students, "queue": queue,
            "review_hours": review_hours, "reviews_last_7_days": reviews_last_7_days}


def cohort(cohort_id: int, figures: dict, histogram: list[int], days: list[dict],
           now: datetime) -> dict:
    """The cohort dashboard from its summed figures (sums may come back as Decimal)."""
    oldest = figures["oldest_pending"]
    figures = {k: int(figures[k]) for k in ("students", "active", "submissions", "reviewed",
                                            "approved", "score_sum")}
    return {
        "cohort_id": cohort_id, "students": figures["students"],
        "active_last_7_days": figures["active"], "submissions": figures["submissions"],
        "reviewed": figures["reviewed"], "pending": figures["submissions"] - figures["reviewed"],
        "approved": figures["approved"],
        "average_score": average(figures["score_sum"], figures["reviewed"]),
        "daily": days, "score_histogram": [int(h) for h in histogram][:BUCKETS],
        "oldest_pending_hours": None if oldest is None else hours(now, oldest),
    }
