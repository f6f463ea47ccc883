"""HTTP routes of the notifications service: parse, call the service, dump."""

import json

from flask import Blueprint, current_app, request
from werkzeug.http import parse_etags

from services.notifications import counts, service
from services.notifications.schemas import (
    Counts,
    Created,
    CreateNotifications,
    KindArgs,
    ListArgs,
    NotificationPage,
    dump_notification,
)
from shared.api import body, problems, query, responds
from shared.auth import current_principal, service_required, user_required

api = Blueprint("notifications", __name__, url_prefix="/api/notifications")
internal = Blueprint("notifications_internal", __name__, url_prefix="/internal/notifications")

COUNTS_HEADERS = {"ETag": "changes whenever a count does", "X-Poll-Interval":
                  "seconds to wait before the next poll"}
counts_answers = [responds(200, Counts, "The caller's unread counts", COUNTS_HEADERS)]


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


def with_counts(view):
    for answer in counts_answers:
        view = answer(view)
    return view


@api.get("/unread-count")
@user_required
@responds(304, description="The counts match If-None-Match")
@with_counts
def unread_count():
    """The caller's unread counts, polled by every open tab (ETag, X-Poll-Interval)."""
    return counts_response(counts.unread_counts(current_principal().user_id))


@api.get("")
@user_required
@query(ListArgs)
@responds(200, NotificationPage, "A page of the caller's notifications, newest first")
def list_notifications(query):
    """The caller's notifications, newest first, a page at a time."""
    items, next_cursor = service.list_notifications(current_principal().user_id, **query)
    return {"items": [dump_notification(n) for n in items], "next_cursor": next_cursor}


@api.post("/<id:notification_id>/read")
@user_required
@with_counts
def mark_read(notification_id: int):
    """Mark one of the caller's notifications read; answers the fresh counts."""
    return counts_response(service.mark_read(current_principal().user_id, notification_id))


@api.post("/read-all")
@user_required
@query(KindArgs)
@with_counts
def mark_all_read(query):
    """Mark all the caller's notifications (of one kind) read; answers the fresh counts."""
    return counts_response(service.mark_all_read(current_principal().user_id, query.get("kind")))


@internal.post("")
@service_required
@body(CreateNotifications)
@responds(201, Created, "How many notifications were new")
@problems(400)
def create(body):
    """Notify many users at once (one transaction); idempotent per user and dedupe_key."""
    return {"created": service.create_notifications(body.pop("user_ids"), **body)}, 201
