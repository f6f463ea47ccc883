"""Input and output shapes of the notifications API."""

from marshmallow import RAISE, Schema, fields, validate

from services.notifications.models import KINDS
from shared.db import isoformat_z

MAX_USERS_PER_CREATE = 10_000
kind_field = fields.String(validate=validate.OneOf(KINDS))


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ListArgs(StrictSchema):
    kind = kind_field
    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = fields.String(validate=validate.Length(1, 500))


class KindArgs(StrictSchema):
    kind = kind_field


class CreateNotifications(StrictSchema):
    user_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1)),
        required=True, validate=validate.Length(1, MAX_USERS_PER_CREATE),
    )
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    category = fields.String(load_default="general", validate=validate.Length(1, 64))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    body = fields.String(load_default="", validate=validate.Length(max=10_000))
    link = fields.String(load_default="", validate=validate.Length(max=500))
    dedupe_key = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(1, 200))


def dump_notification(n) -> dict:
    """A notification as the API shows it (plain code: the list's hot loop)."""
    return {
        "id": n.id, "kind": n.kind, "category": n.category, "title": n.title,
        "body": n.body, "link": n.link, "created_at": isoformat_z(n.created_at),
        "read_at": isoformat_z(n.read_at),
    }
