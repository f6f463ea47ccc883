"""Input and output shapes of the gamification API."""

from datetime import timedelta

from marshmallow import ValidationError, fields, validate, validates

from services.gamification.seasons import STATUSES
from shared.api import ResponseSchema
from shared.db import utcnow
from shared.errors import VALIDATION_TYPE, Problem
from shared.schemas import (
    MAX_ID,
    BodySchema,
    Id,
    QuerySchema,
    Text,
    TimeZone,
    UtcDateTime,
    limit_field,
)

MAX_AWARDS = 1000
MAX_POINTS = 1_000_000
MAX_OFFSET = 10_000_000
FUTURE_SKEW = timedelta(minutes=5)  # clocks of the caller and ours may differ this much
USERNAME = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$",
                           error="A LeetCode username: letters, digits, _ . - (1-64).")


class SeasonRef(fields.Field):
    """`current` or a season id."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "current":
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit() and \
                0 < int(value) <= MAX_ID:
            return int(value)
        raise ValidationError("Must be current or a season id.")


class LeaderboardArgs(QuerySchema):
    season = SeasonRef(load_default="current",
                       metadata={"description": "current (the default) or a season id"})
    cohort = Id(strict=False, metadata={"description": "the caller's cohort by default"})
    limit = limit_field()
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))
    around = fields.String(validate=validate.OneOf(["me"]),
                           metadata={"description": "me: the `limit` entries around the caller "
                                                    "(offset is then ignored)"})


class ActivityArgs(QuerySchema):
    start = fields.Date(data_key="from", metadata={"description": "first day, YYYY-MM-DD"})
    end = fields.Date(data_key="to", metadata={"description": "last day (inclusive)"})


class SeasonsArgs(QuerySchema):
    cohort = Id(strict=False, metadata={"description": "seasons that apply to this cohort"})
    status = fields.String(validate=validate.OneOf(STATUSES))


class NewSeason(BodySchema):
    name = Text(required=True, single_line=True, validate=validate.Length(1, 100))
    cohort_id = Id(required=True, allow_none=True,
                   metadata={"description": "null: the season applies to every cohort"})
    starts_at = UtcDateTime(required=True)
    ends_at = UtcDateTime(required=True)


class SeasonPatch(BodySchema):
    name = Text(single_line=True, validate=validate.Length(1, 100))
    starts_at = UtcDateTime(metadata={"description": "only while the season is scheduled"})
    ends_at = UtcDateTime(metadata={"description": "only while the season is scheduled"})


class PlayerBody(BodySchema):
    cohort_id = Id(required=True)
    display_name = Text(required=True, single_line=True, validate=validate.Length(1, 100))
    leetcode_username = Text(required=True, allow_none=True, single_line=True,
                             validate=USERNAME)
    timezone = TimeZone(required=True)


class AwardsBody(BodySchema):
    awards = fields.List(fields.Raw(allow_none=True), required=True,
                         validate=validate.Length(1, MAX_AWARDS),
                         metadata={"description": "each an Award; up to 1,000"})


def nonzero(value: int) -> None:
    if value == 0:
        raise ValidationError("Must not be zero.")


class AwardBody(BodySchema):
    user_id = Id(required=True)
    points = fields.Integer(required=True, strict=True,
                            validate=[validate.Range(-MAX_POINTS, MAX_POINTS), nonzero])
    ref = Text(required=True, single_line=True, validate=validate.Length(1, 128))
    reason = Text(required=True, single_line=True, validate=validate.Length(1, 200))
    occurred_at = UtcDateTime(required=True)

    @validates("occurred_at")
    def not_in_the_future(self, value, **kwargs):
        if value > utcnow() + FUTURE_SKEW:
            raise ValidationError("Must not be in the future.")


class BatchBody(BodySchema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(1, 1000))


class SeasonOut(ResponseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    cohort_id = fields.Integer(required=True, allow_none=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    frozen = fields.Boolean(required=True)


class SeasonList(ResponseSchema):
    items = fields.List(fields.Nested(SeasonOut), required=True)


class LastSync(ResponseSchema):
    at = fields.String(required=True)
    ok = fields.Boolean(required=True)
    error = fields.String(required=True, allow_none=True)


class StreakOut(ResponseSchema):
    current = fields.Integer(required=True)
    longest = fields.Integer(required=True)
    last_active_date = fields.String(required=True, allow_none=True)
    today = fields.String(required=True, metadata={"description": "in the player's zone"})
    timezone = fields.String(required=True)
    as_of = fields.String(required=True, metadata={
        "description": "activity is known up to here: the last successful LeetCode sync of a "
                       "player with a username (a sync not run yet, or failed, never makes a "
                       "day count as missed), else now"})
    last_sync = fields.Nested(LastSync, required=True, allow_none=True)


class PointsOut(ResponseSchema):
    season = fields.Integer(required=True, metadata={
        "description": "in the active season of the player's cohort (0 when none)"})
    total = fields.Integer(required=True)


class PlayerOut(ResponseSchema):
    user_id = fields.Integer(required=True)
    cohort_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    leetcode_username = fields.String(required=True, allow_none=True)
    timezone = fields.String(required=True)
    streak = fields.Nested(StreakOut, required=True)
    points = fields.Nested(PointsOut, required=True)


class EntryOut(ResponseSchema):
    rank = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    points = fields.Integer(required=True)
    streak = fields.Integer(required=True, metadata={"description": "the current streak"})


class MeOut(ResponseSchema):
    rank = fields.Integer(required=True)
    points = fields.Integer(required=True)
    tied_with = fields.Integer(required=True)


class LeaderboardOut(ResponseSchema):
    season = fields.Nested(SeasonOut, required=True)
    cohort_id = fields.Integer(required=True)
    total = fields.Integer(required=True)
    entries = fields.List(fields.Nested(EntryOut), required=True)
    me = fields.Nested(MeOut, required=True, allow_none=True)


class DayOut(ResponseSchema):
    date = fields.String(required=True)
    leetcode = fields.Integer(required=True)
    platform = fields.Integer(required=True)


class ActivityOut(ResponseSchema):
    days = fields.List(fields.Nested(DayOut), required=True)


class Queued(ResponseSchema):
    queued = fields.Boolean(required=True)


class Awarded(ResponseSchema):
    awarded = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)


class PlayerFigures(ResponseSchema):
    streak = fields.Nested(StreakOut, required=True)
    points = fields.Nested(PointsOut, required=True)


class BatchOut(ResponseSchema):
    players = fields.Dict(keys=fields.String(), values=fields.Nested(PlayerFigures),
                          required=True)


class PlayerProfile(ResponseSchema):
    user_id = fields.Integer(required=True)
    cohort_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    leetcode_username = fields.String(required=True, allow_none=True)
    timezone = fields.String(required=True)


def describe(messages) -> str:
    """marshmallow's messages of one item as one line: "field: what is wrong; ..."."""
    if not isinstance(messages, dict):
        return str(messages)
    return "; ".join(f"{field}: {' '.join(map(str, why)) if isinstance(why, list) else why}"
                     for field, why in messages.items())


def load_awards(raw: list) -> list[dict]:
    """Each award of a batch loaded; a 400 listing every bad one by index and ref."""
    loader, loaded, errors = AwardBody(), [], []
    for index, item in enumerate(raw):
        try:
            loaded.append(loader.load(item))
        except ValidationError as exc:
            ref = item.get("ref") if isinstance(item, dict) else None
            detail = describe(exc.normalized_messages())
            errors.append({"index": index, "ref": ref if isinstance(ref, str) else None,
                           "detail": detail})
    if errors:
        raise invalid(errors)
    return loaded


def invalid(errors: list[dict]) -> Problem:
    """The 400 of an award batch: each bad award by its index and ref; nothing was written."""
    return Problem(400, "Some awards are invalid; see errors. Nothing was awarded.",
                   title="Invalid request", type=VALIDATION_TYPE, errors=errors)
