"""Input and output shapes of the notifications API."""

from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate

from services.notifications.models import KINDS
from shared.api import ResponseSchema
from shared.db import isoformat_z
from shared.schemas import BodySchema, Id, QuerySchema, Text, UtcDateTime, cursor_field, limit_field

MAX_USERS_PER_CREATE = 10_000


def kind_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(KINDS), **kwargs)


def safe_link(value: str) -> None:
    """A link the SPA may render: a path on this site, or an http(s) URL."""
    if value == "" or (value.startswith("/") and not value.startswith("//")):
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Must be a path on this site (/...) or an http(s) URL.")


class ListArgs(QuerySchema):
    kind = kind_field()
    unread = fields.Boolean(load_default=False)
    limit = limit_field()
    cursor = cursor_field()


class KindArgs(QuerySchema):
    kind = kind_field()


class CreateNotifications(BodySchema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(1, MAX_USERS_PER_CREATE),
                           metadata={"description": "1 to 10,000 user ids (JSON integers, "
                                     "1..2^63-1), written in one transaction"})
    kind = kind_field(required=True)
    category = Text(load_default="general", validate=validate.Length(1, 64), single_line=True,
                    metadata={"description": "1-64 characters."})
    title = Text(required=True, validate=validate.Length(1, 200),
                 metadata={"description": "1-200 characters."})
    body = Text(load_default="", validate=validate.Length(max=10_000),
                metadata={"description": "Up to 10,000 characters."})
    link = Text(load_default="", validate=[validate.Length(max=500), safe_link], single_line=True,
                metadata={"description": "Up to 500 characters: empty, a path on this site "
                          "(/submissions/4, not //host) or an http(s) URL; javascript: and "
                          "other schemes are refused."})
    dedupe_key = Text(load_default=None, allow_none=True, validate=validate.Length(1, 200),
                      single_line=True,
                      metadata={"description": "1-200 characters. A key already used for a "
                                "user creates nothing more for that user; a retry with it "
                                "is safe."})


class Counts(ResponseSchema):
    unread_count = fields.Integer(required=True)
    dashboard = fields.Integer(required=True)
    profile = fields.Integer(required=True)


class NotificationOut(ResponseSchema):
    id = fields.Integer(required=True)
    kind = kind_field(required=True)
    category = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    read_at = UtcDateTime(required=True, allow_none=True)


class NotificationPage(ResponseSchema):
    items = fields.List(fields.Nested(NotificationOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class Created(ResponseSchema):
    created = fields.Integer(required=True)


def dump_notification(row) -> dict:
    """A listed row (service.LISTED) as the API shows it: plain code, the list's hot loop."""
    id_, kind, category, title, body, link, created_at, read_at = row
    return {
        "id": id_, "kind": kind, "category": category, "title": title, "body": body,
        "link": link, "created_at": isoformat_z(created_at), "read_at": isoformat_z(read_at),
    }
