"""Input and output shapes of the analytics API (the OpenAPI document is built from them)."""

from marshmallow import fields, validate

from services.analytics.events import MAX_EVENTS, MAX_ID_LENGTH, OUTCOMES, TYPES
from shared.api import ResponseSchema
from shared.schemas import BodySchema, QuerySchema, UtcDateTime


class IngestArgs(QuerySchema):
    partial = fields.Boolean(load_default=False, metadata={
        "description": "write the valid events and list the others in `rejected`"})


class EventList(fields.Raw):
    """A JSON array, its items left as they are: services.analytics.events checks each one
    (a list field would walk 5,000 items for nothing first)."""

    default_error_messages = {"list": "Not a valid list."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("list")
        return value


class Events(BodySchema):
    """The body as it is loaded: each event is checked by services.analytics.events."""

    events = EventList(required=True, validate=validate.Length(1, MAX_EVENTS))


class EventData(ResponseSchema):
    student_id = fields.Integer()
    cohort_id = fields.Integer()
    mentor_id = fields.Integer()
    submission_id = fields.Integer()
    assignment_id = fields.Integer()
    score = fields.Integer(validate=validate.Range(0, 100))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))


class EventIn(ResponseSchema):
    id = fields.String(required=True, validate=validate.Length(1, MAX_ID_LENGTH))
    type = fields.String(required=True, validate=validate.OneOf(tuple(TYPES)))
    occurred_at = UtcDateTime(required=True)
    data = fields.Nested(EventData, required=True, metadata={
        "description": "by type: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in TYPES.items())})


class EventsDocument(BodySchema):
    """What the document shows of the body (up to 5,000 events)."""

    events = fields.List(fields.Nested(EventIn), required=True,
                         validate=validate.Length(1, MAX_EVENTS))


class EventError(ResponseSchema):
    index = fields.Integer(required=True)
    id = fields.String(required=True, allow_none=True)
    detail = fields.String(required=True)


class Ingested(ResponseSchema):
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(EventError), required=True)


def _figure(**kwargs):
    return fields.Integer(required=True, allow_none=True, **kwargs)


class Dashboard(ResponseSchema):
    source = fields.String(required=True, validate=validate.OneOf(("live", "summary")))
    computed_at = UtcDateTime(required=True)
    unavailable = fields.List(fields.String(), metadata={
        "description": '["gamification"] when streak and points could not be fetched'})


class Week(ResponseSchema):
    week = fields.String(required=True, metadata={"description": "ISO week, e.g. 2026-W47"})
    submissions = fields.Integer(required=True)
    reviewed = fields.Integer(required=True, metadata={"description": "reviews made"})


class StudentDashboard(Dashboard):
    student_id = fields.Integer(required=True)
    cohort_id = fields.Integer(required=True, allow_none=True)
    submissions = fields.Integer(required=True)
    reviewed = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    approved = fields.Integer(required=True)
    average_score = fields.Float(required=True, allow_none=True)
    weekly = fields.List(fields.Nested(Week), required=True)
    streak = _figure(metadata={"description": "current streak in days; null if unavailable"})
    points = _figure(metadata={"description": "total points; null if unavailable"})


class MentorStudent(ResponseSchema):
    student_id = fields.Integer(required=True)
    submissions = fields.Integer(required=True)
    reviewed = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    average_score = fields.Float(required=True, allow_none=True)
    last_submission_at = UtcDateTime(required=True, allow_none=True)
    streak = _figure()
    points = _figure()


class QueueItem(ResponseSchema):
    submission_id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    submitted_at = UtcDateTime(required=True)
    waiting_hours = fields.Float(required=True)


class ReviewHours(ResponseSchema):
    p50 = fields.Float(required=True, allow_none=True)
    p90 = fields.Float(required=True, allow_none=True)


class MentorDashboard(Dashboard):
    mentor_id = fields.Integer(required=True)
    students = fields.List(fields.Nested(MentorStudent), required=True)
    queue = fields.List(fields.Nested(QueueItem), required=True)
    review_hours = fields.Nested(ReviewHours, required=True)
    reviews_last_7_days = fields.Integer(required=True)


class Day(ResponseSchema):
    date = fields.String(required=True, metadata={"description": "YYYY-MM-DD (UTC)"})
    submissions = fields.Integer(required=True)
    reviews = fields.Integer(required=True)


class CohortDashboard(Dashboard):
    cohort_id = fields.Integer(required=True)
    students = fields.Integer(required=True)
    active_last_7_days = fields.Integer(required=True)
    submissions = fields.Integer(required=True)
    reviewed = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    average_score = fields.Float(required=True, allow_none=True)
    daily = fields.List(fields.Nested(Day), required=True)
    score_histogram = fields.List(fields.Integer(), required=True, validate=validate.Length(10))
    oldest_pending_hours = fields.Float(required=True, allow_none=True)
