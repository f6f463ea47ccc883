"""Writing a batch of events: one transaction, one statement per table.

The event ledger takes the batch first (ON CONFLICT DO NOTHING RETURNING): what it returns
are the new events, and only those reach the facts, so a repeated event changes nothing.
Facts are upserted by their natural keys and keep whichever event is latest by
(occurred_at, event id), whatever order the events arrive in.
"""

import zlib

from sqlalchemy import text

from services.analytics.db import db
from services.analytics.events import Event, error
from services.analytics.sql import is_postgres, rows_param, rows_source, time_param
from shared.db import utcnow

# Ingests hold this shared; the recompute takes it alone for an instant before it reads the
# watermark, so no batch whose number is below the watermark can still be uncommitted.
INGEST_LOCK = zlib.crc32(b"analytics-ingest")

EVENT_COLUMNS = [("event_id", "text"), ("type", "text"), ("occurred_at", "timestamptz"),
                 ("student_id", "bigint"), ("cohort_id", "bigint"), ("mentor_id", "bigint"),
                 ("submission_id", "bigint")]
ROSTER = {"student.enrolled": "enrolled", "student.left": "left",
          "mentor.assigned": "assigned", "mentor.unassigned": "unassigned"}

NEWER = "(excluded.occurred_at, excluded.event_id) > ({t}.occurred_at, {t}.event_id)"


def _keep_latest(pairs, earliest: bool = False) -> dict:
    """The event with the greatest (or least) key for each natural key."""
    kept: dict = {}
    for key, event in pairs:
        held = kept.get(key)
        if held is None or ((event.key < held.key) if earliest else (event.key > held.key)):
            kept[key] = event
    return kept


def _upsert_relation(conn, table: str, columns: tuple[str, str], events: list[Event]) -> None:
    """Memberships or mentorships: the latest event per pair decides its status."""
    first, second = columns
    latest = _keep_latest(((e.data[first], e.data[second]), e) for e in events)
    if not latest:
        return
    rows = [(a, b, ROSTER[e.type], e.at, e.id) for (a, b), e in latest.items()]
    columns = [(first, "bigint"), (second, "bigint"), ("status", "text"),
               ("occurred_at", "timestamptz"), ("event_id", "text")]
    source = rows_source(conn, columns)
    conn.execute(text(
        f"INSERT INTO {table} ({first}, {second}, status, occurred_at, event_id) "
        f"SELECT {first}, {second}, status, occurred_at, event_id FROM {source} WHERE true "
        f"ON CONFLICT ({first}, {second}) DO UPDATE SET status = excluded.status, "
        "occurred_at = excluded.occurred_at, event_id = excluded.event_id "
        f"WHERE {NEWER.format(t=table)}"),
        {"rows": rows_param(conn, columns, rows)})


SUBMISSION_COLUMNS = [
    ("submission_id", "bigint"), ("student_id", "bigint"), ("assignment_id", "bigint"),
    ("created_at", "timestamptz"), ("created_event", "text"), ("latest_score", "integer"),
    ("latest_outcome", "text"), ("latest_at", "timestamptz"), ("latest_event", "text"),
    ("first_reviewed_at", "timestamptz"), ("first_mentor_id", "bigint"), ("first_event", "text")]
NO_CREATION, NO_REVIEW = (None,) * 4, (None,) * 7  # a row's columns its events leave empty
# Each group of columns is replaced only by a later creation, a later review, an earlier
# first review: the row ends the same whichever order its events came in.
GROUPS = (
    (("student_id", "assignment_id", "created_at", "created_event"),
     ("created_at", "created_event", ">")),
    (("latest_score", "latest_outcome", "latest_at", "latest_event"),
     ("latest_at", "latest_event", ">")),
    (("first_reviewed_at", "first_mentor_id", "first_event"),
     ("first_reviewed_at", "first_event", "<")),
)


def _submission_updates(table: str) -> str:
    sets = []
    for columns, (at, event, op) in GROUPS:
        wins = (f"excluded.{at} IS NOT NULL AND ({table}.{at} IS NULL OR "
                f"(excluded.{at}, excluded.{event}) {op} ({table}.{at}, {table}.{event}))")
        sets += [f"{c} = CASE WHEN {wins} THEN excluded.{c} ELSE {table}.{c} END"
                 for c in columns]
    return ", ".join(sets)


def _upsert_submissions(conn, events: list[Event]) -> None:
    created = _keep_latest((e.data["submission_id"], e) for e in events
                           if e.type == "submission.created")
    reviews = [(e.data["submission_id"], e) for e in events if e.type == "submission.reviewed"]
    latest, first = _keep_latest(reviews), _keep_latest(reviews, earliest=True)
    rows = []
    for sid in created.keys() | latest.keys():
        c, lr = created.get(sid), latest.get(sid)
        creation = NO_CREATION if c is None else (
            c.data["student_id"], c.data["assignment_id"], c.at, c.id)
        if lr is None:
            review = NO_REVIEW
        else:
            fr = first[sid]
            review = (lr.data["score"], lr.data["outcome"], lr.at, lr.id,
                      fr.at, fr.data["mentor_id"], fr.id)
        rows.append((sid, *creation, *review))
    if not rows:
        return
    table, names = "analytics_submissions", ", ".join(n for n, _ in SUBMISSION_COLUMNS)
    conn.execute(text(
        f"INSERT INTO {table} ({names}) SELECT {names} "
        f"FROM {rows_source(conn, SUBMISSION_COLUMNS)} WHERE true "
        f"ON CONFLICT (submission_id) DO UPDATE SET {_submission_updates(table)}"),
        {"rows": rows_param(conn, SUBMISSION_COLUMNS, rows)})


REVIEW_COLUMNS = [("event_id", "text"), ("submission_id", "bigint"), ("mentor_id", "bigint"),
                  ("reviewed_at", "timestamptz"), ("score", "integer"), ("outcome", "text")]


def _insert_reviews(conn, events: list[Event]) -> None:
    """Every new review, with its submission's student when the submission is known (the
    submissions of this batch are written already).

    No ON CONFLICT: these events were new to the ledger in this transaction, so their ids
    are new here too, and its speculative insertion cost a seventh of the statement.
    """
    rows = [(e.id, e.data["submission_id"], e.data["mentor_id"], e.at,
             e.data["score"], e.data["outcome"]) for e in events if e.type == "submission.reviewed"]
    if not rows:
        return
    names = ", ".join(n for n, _ in REVIEW_COLUMNS)
    picked = ", ".join(f"x.{n}" for n, _ in REVIEW_COLUMNS)
    conn.execute(text(
        f"INSERT INTO analytics_reviews ({names}, student_id) SELECT {picked}, s.student_id "
        f"FROM {rows_source(conn, REVIEW_COLUMNS)} LEFT JOIN analytics_submissions s "
        "ON s.submission_id = x.submission_id"),
        {"rows": rows_param(conn, REVIEW_COLUMNS, rows)})


def conflicts(events: list[Event]) -> list[dict]:
    """Errors for creations that would move a submission to another student: stored with
    another one, or named with different students in this batch. (Readers rely on a
    submission keeping its student.)"""
    students: dict[int, set] = {}
    for e in events:
        if e.type == "submission.created":
            students.setdefault(e.data["submission_id"], set()).add(e.data["student_id"])
    if not students:
        return []
    with db.engine.connect() as conn:
        ids = [("id", "bigint")]
        stored = dict(conn.execute(text(
            f"SELECT s.submission_id, s.student_id FROM {rows_source(conn, ids)} "
            "JOIN analytics_submissions s ON s.submission_id = x.id "
            "WHERE s.student_id IS NOT NULL"),
            {"rows": rows_param(conn, ids, [(sid,) for sid in students])}).all())
    if not stored and all(len(named) == 1 for named in students.values()):
        return []  # the usual batch: new submissions, one student each
    found = []
    for e in events:
        if e.type != "submission.created":
            continue
        sid, student = e.data["submission_id"], e.data["student_id"]
        if sid in stored and stored[sid] != student:
            found.append(error(e.index, e.id, f"submission {sid} belongs to student "
                                              f"{stored[sid]}, not {student}"))
        elif sid not in stored and len(students[sid]) > 1:
            found.append(error(e.index, e.id, f"this batch creates submission {sid} for "
                                              "different students"))
    return found


def _record_new(conn, seq: int, events: list[Event]) -> list[Event]:
    """Add the batch to the ledger; its events that were not there before."""
    rows = [(e.id, e.type, e.at, e.data.get("student_id"),
             e.data.get("cohort_id"), e.data.get("mentor_id"), e.data.get("submission_id"))
            for e in events]
    names = ", ".join(n for n, _ in EVENT_COLUMNS)
    result = conn.execute(text(
        f"INSERT INTO analytics_events (seq, {names}) SELECT :seq, {names} "
        f"FROM {rows_source(conn, EVENT_COLUMNS)} WHERE true "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"),
        {"seq": seq, "rows": rows_param(conn, EVENT_COLUMNS, rows)})
    if result.rowcount == len(events):  # all new, the usual batch: no need to read the ids
        result.close()
        return events
    new = set(result.scalars().all())
    return [e for e in events if e.id in new]


def ingest(events: list[Event]) -> tuple[int, int]:
    """Write a batch of valid events in one transaction: (accepted, duplicates)."""
    unique = list({e.id: e for e in reversed(events)}.values())[::-1]  # first of each id
    if not unique:
        return 0, 0
    with db.transaction() as conn:
        if is_postgres(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_LOCK})
        seq = conn.execute(text(
            "INSERT INTO analytics_ingests (received_at, events) VALUES (:at, :n) RETURNING id"),
            {"at": time_param(conn, utcnow()), "n": len(unique)}).scalar_one()
        fresh = _record_new(conn, seq, unique)
        _upsert_relation(conn, "analytics_memberships", ("student_id", "cohort_id"),
                         [e for e in fresh if e.type.startswith("student.")])
        _upsert_relation(conn, "analytics_mentorships", ("mentor_id", "student_id"),
                         [e for e in fresh if e.type.startswith("mentor.")])
        _upsert_submissions(conn, fresh)
        _insert_reviews(conn, fresh)
    return len(fresh), len(events) - len(fresh)
