"""Checking events one by one: plain code, since a batch holds up to 5,000 of them.

Each bad event gets one message naming its first problem, so the caller can fix and resend.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.schemas import MAX_ID

MAX_EVENTS = 5000
MAX_ID_LENGTH = 64
OUTCOMES = ("approved", "changes_requested")
IDS = {"student_id", "cohort_id", "mentor_id", "submission_id", "assignment_id"}
# Each type's `data` fields, all required, no others.
TYPES = {
    "student.enrolled": ("student_id", "cohort_id"),
    "student.left": ("student_id", "cohort_id"),
    "mentor.assigned": ("mentor_id", "student_id"),
    "mentor.unassigned": ("mentor_id", "student_id"),
    "submission.created": ("submission_id", "student_id", "assignment_id"),
    "submission.reviewed": ("submission_id", "mentor_id", "score", "outcome"),
}
FIELDS = {"id", "type", "occurred_at", "data"}
# Per type, its fields as a set and its id fields in order: a well-formed event costs one
# comparison of its keys, and the lists that name a missing or unknown field are built only
# for a bad one.
DATA_FIELDS = {kind: set(names) for kind, names in TYPES.items()}
DATA_IDS = {kind: tuple(n for n in names if n in IDS) for kind, names in TYPES.items()}
UNSAFE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")  # control characters, lone surrogates


@dataclass(slots=True)  # not frozen: its __init__ would cost five times as much, per event
class Event:
    """An event that passed every check; `key` orders events about the same thing."""

    id: str
    type: str
    occurred_at: datetime
    data: dict
    index: int = 0  # its place in the batch, for error messages
    at: str = field(init=False)  # occurred_at as ISO text, formatted once for every table

    def __post_init__(self):
        self.at = self.occurred_at.isoformat()

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.id)


class Invalid(ValueError):
    """What is wrong with one event."""


def _event_id(raw) -> str:
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_ID_LENGTH:
        raise Invalid(f"id must be a string of 1 to {MAX_ID_LENGTH} characters")
    if UNSAFE.search(raw):
        raise Invalid("id must not contain control characters, NUL or lone surrogates")
    return raw


def _time(raw) -> datetime:
    if not isinstance(raw, str) or len(raw) > 40:
        raise Invalid("occurred_at must be an ISO 8601 time with its offset, e.g. "
                      "2026-11-29T10:00:00Z")
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid("occurred_at must be an ISO 8601 time with its offset, e.g. "
                      "2026-11-29T10:00:00Z") from None
    if not 1970 <= moment.year <= 9998:
        raise Invalid("occurred_at must be between 1970 and 9998")
    return moment


def _data(kind: str, raw) -> dict:
    if not isinstance(raw, dict):
        raise Invalid("data must be an object")
    if raw.keys() != DATA_FIELDS[kind]:
        wanted = TYPES[kind]
        missing = [f for f in wanted if f not in raw]
        if missing:
            raise Invalid(f"data.{missing[0]} is required for {kind}")
        unknown = sorted(set(raw) - set(wanted))
        raise Invalid(f"data.{unknown[0]} is not a field of {kind}")
    for name in DATA_IDS[kind]:
        value = raw[name]
        if type(value) is not int or not 1 <= value <= MAX_ID:
            raise Invalid(f"data.{name} must be an integer id from 1 to {MAX_ID}")
    if kind == "submission.reviewed":
        score = raw["score"]
        if type(score) is not int or not 0 <= score <= 100:
            raise Invalid("data.score must be an integer from 0 to 100")
        if raw["outcome"] not in OUTCOMES:
            raise Invalid(f"data.outcome must be one of {', '.join(OUTCOMES)}")
    return raw


def parse_event(raw, index: int = 0) -> Event:
    """The event, or Invalid saying what is wrong with it first."""
    if not isinstance(raw, dict):
        raise Invalid("each event must be an object")
    if raw.keys() != FIELDS:
        missing = sorted(FIELDS - set(raw))
        if missing:
            raise Invalid(f"{missing[0]} is required")
        unknown = sorted(set(raw) - FIELDS)
        raise Invalid(f"{unknown[0]} is not a field of an event")
    event_id = _event_id(raw["id"])
    kind = raw["type"]
    if kind not in TYPES:
        raise Invalid(f"type must be one of {', '.join(TYPES)}")
    return Event(event_id, kind, _time(raw["occurred_at"]), _data(kind, raw["data"]), index)


def parse_events(raws: list) -> tuple[list[Event], list[dict]]:
    """The valid events, and an error {index, id, detail} for each invalid one."""
    events, errors = [], []
    for index, raw in enumerate(raws):
        try:
            events.append(parse_event(raw, index))
        except Invalid as exc:
            shown = raw.get("id") if isinstance(raw, dict) else None
            try:
                shown = _event_id(shown)
            except Invalid:
                shown = None  # not an id we could echo safely
            errors.append(error(index, shown, str(exc)))
    return events, errors


def error(index: int, event_id: str | None, detail: str) -> dict:
    return {"index": index, "id": event_id, "detail": detail}
