"""The readiness check of the outbox: notifications waiting too long to be delivered."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from services.gamification.db import db
from services.gamification.models import OutboxMessage
from shared.db import utcnow
from shared.health import CheckFailed

OLDEST_PENDING = (select(func.min(OutboxMessage.created_at))
                  .where(OutboxMessage.delivered_at.is_(None)))


def outbox_backlog() -> None:
    """Fail (a warn: the check is optional) when a notification has waited longer than
    OUTBOX_MAX_AGE: the notifications service, or the delivery cron, is not keeping up."""
    oldest = db.value(OLDEST_PENDING)
    limit = current_app.config["OUTBOX_MAX_AGE"]
    if oldest is not None and utcnow() - oldest > timedelta(seconds=limit):
        waited = int((utcnow() - oldest).total_seconds())
        raise CheckFailed(f"a notification has waited {waited} s to be delivered "
                          f"(more than OUTBOX_MAX_AGE={limit}); run deliver-notifications")
