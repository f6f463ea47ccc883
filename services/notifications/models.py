"""The notifications table."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from services.notifications.db import db
from shared.coherent import cache_state_table
from shared.db import BigId, UTCDateTime

KINDS = ("dashboard", "profile")


class Notification(db.Model):
    """One notification for one user; `read_at` is null while it is unread."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False, default="general")
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    link: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Idempotent create: one row per user and dedupe key (NULL keys never collide).
        UniqueConstraint("user_id", "dedupe_key"),
        # The newest-first list, and its cursor: (created_at, id) below a point.
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        # The unread count (and the unread list) read only the unread rows.
        Index("ix_notifications_unread", "user_id", "kind", "created_at", "id",
              postgresql_where=text("read_at IS NULL"), sqlite_where=text("read_at IS NULL")),
        # The purge finds old read rows without scanning the unread ones.
        Index("ix_notifications_read_at", "read_at",
              postgresql_where=text("read_at IS NOT NULL"),
              sqlite_where=text("read_at IS NOT NULL")),
    )


# Lost cache invalidations and lease renewals: what keeps cached counts fresh (shared.coherent).
cache_state = cache_state_table(db.metadata, "notifications")
