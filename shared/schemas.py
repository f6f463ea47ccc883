"""Marshmallow fields and base schemas every service validates its input with.

They refuse what broke a service before it reached the database: integers past 2^63,
NUL characters and lone surrogates, naive times, unknown time zones.
"""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from shared.db import isoformat_z

MAX_ID = 2**63 - 1  # PostgreSQL's bigint


class BodySchema(Schema):
    """A request body: an unknown field is a 400 (a typo must not be silently dropped)."""

    class Meta:
        unknown = RAISE


class QuerySchema(Schema):
    """Query parameters: unknown ones are ignored, as the API contract says."""

    class Meta:
        unknown = EXCLUDE


class Text(fields.String):
    """A string the database can store: no NUL character, no lone surrogate.

    `single_line` also refuses other control characters (names, titles, keys).
    """

    default_error_messages = {
        "nul": "Must not contain a NUL character.",
        "surrogate": "Must be valid Unicode (a lone surrogate was found).",
        "control": "Must not contain control characters.",
    }

    def __init__(self, *args, single_line: bool = False, **kwargs):
        rule = ("Unicode text without NUL characters or lone surrogates"
                + ("; one line, no control characters" if single_line else "") + ".")
        metadata = dict(kwargs.pop("metadata", None) or {})
        metadata["description"] = f"{metadata['description']} {rule}" \
            if "description" in metadata else rule
        super().__init__(*args, metadata=metadata, **kwargs)
        self.single_line = single_line

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("surrogate") from None
        if self.single_line and any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise self.make_error("control")
        return text


class Id(fields.Integer):
    """A positive id that fits a bigint; JSON numbers only (no "12" strings) in bodies."""

    def __init__(self, *args, strict: bool = True, **kwargs):
        kwargs.setdefault("validate", validate.Range(1, MAX_ID))
        super().__init__(*args, strict=strict, **kwargs)


class UtcDateTime(fields.DateTime):
    """An ISO 8601 time with its offset (a naive time is refused), loaded as UTC and
    dumped with a Z."""

    default_error_messages = {"naive": "Give the time with its offset, e.g. 2026-11-29T10:00:00Z."}

    def __init__(self, *args, **kwargs):
        super().__init__("iso", *args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            raise self.make_error("naive")
        return moment.astimezone(UTC)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else isoformat_z(value)


class TimeZone(Text):
    """An IANA time zone name (Asia/Kolkata); an unknown zone is a 400."""

    default_error_messages = {"zone": "Not a known IANA time zone, e.g. Asia/Kolkata."}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate", validate.Length(1, 64))
        super().__init__(*args, single_line=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.make_error("zone") from None
        return name


def limit_field(default: int = 20, maximum: int = 100) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(1, maximum),
                          metadata={"description": f"page size, 1-{maximum}"})


def cursor_field() -> Text:
    return Text(validate=validate.Length(1, 500), single_line=True,
                metadata={"description": "next_cursor of the previous page"})
