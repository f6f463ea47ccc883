"""HTTP routes of the notifications service: parse, call the service, dump."""

import json

from flask import Blueprint, current_app, request
from werkzeug.http import parse_etags

from services.notifications import counts, service
from services.notifications.schemas import (
    CreateNotifications,
    KindArgs,
    ListArgs,
    dump_notification,
)
from shared.auth import current_principal, service_required, user_required
from shared.web import json_body, query_args

api = Blueprint("notifications", __name__, url_prefix="/api/notifications")
internal = Blueprint("notifications_internal", __name__, url_prefix="/internal/notifications")

list_args, kind_args, create_body = ListArgs(), KindArgs(), CreateNotifications()


def etag_of(counts: dict) -> str:
    """The entity tag of a user's counts (unquoted): it changes whenever a count does."""
    return f'{counts["dashboard"]}.{counts["profile"]}'


def counts_answer(body: dict, if_none_match: str | None, poll_interval: int):
    """Status, headers and payload of counts: 304 when the client has them already.

    Shared by the route and the cached-poll path, so both answer byte for byte alike.
    """
    tag = etag_of(body)
    headers = [("ETag", f'"{tag}"'), ("Cache-Control", "private, no-cache"),
               ("X-Poll-Interval", str(poll_interval))]
    if parse_etags(if_none_match).contains_weak(tag):
        return 304, headers, b""
    payload = f"{json.dumps(body, separators=(',', ':'))}\n".encode()
    return 200, [("Content-Type", "application/json"),
                 ("Content-Length", str(len(payload))), *headers], payload


def counts_response(body: dict):
    """The counts with their ETag; 304 when the client already has them."""
    status, headers, payload = counts_answer(body, request.headers.get("If-None-Match"),
                                             current_app.config["NOTIFICATION_POLL_INTERVAL"])
    return current_app.response_class(payload, status, headers)


@api.get("/unread-count")
@user_required
def unread_count():
    return counts_response(counts.unread_counts(current_principal().user_id))


@api.get("")
@user_required
def list_notifications():
    args = query_args(list_args)
    items, next_cursor = service.list_notifications(current_principal().user_id, **args)
    return {"items": [dump_notification(n) for n in items], "next_cursor": next_cursor}


@api.post("/<int:notification_id>/read")
@user_required
def mark_read(notification_id: int):
    return counts_response(service.mark_read(current_principal().user_id, notification_id))


@api.post("/read-all")
@user_required
def mark_all_read():
    kind = query_args(kind_args).get("kind")
    return counts_response(service.mark_all_read(current_principal().user_id, kind))


@internal.post("")
@service_required
def create():
    fields = json_body(create_body)
    return {"created": service.create_notifications(fields.pop("user_ids"), **fields)}, 201
