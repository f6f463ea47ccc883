"""The files table: one row per stored file or pending direct upload."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.storage.db import db
from shared.db import BigId, UTCDateTime

READY, PENDING = "ready", "pending"


class StoredFile(db.Model):
    """A file's metadata; its bytes are the backend's object under `key`.

    A direct upload is a PENDING row from the moment it is announced: its announced size
    counts toward the owner's quota until `complete` makes it READY or it expires.
    """

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # The owner's cohort when the file was stored (their token's claim): its mentors read it.
    cohort_id: Mapped[int | None] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    backend: Mapped[str] = mapped_column(String(8), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The owner's list, newest first, and its cursor; the quota sums the same rows.
        Index("ix_files_owner_created", "owner_id", "created_at", "id"),
        # cleanup-storage finds expired direct uploads without reading the stored files.
        Index("ix_files_pending_expires", "expires_at",
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )
