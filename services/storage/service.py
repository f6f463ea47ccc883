"""The storage domain's queries and commits: files, the quota, reading and deleting."""

import logging
import secrets
import zlib
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, or_, select, text, tuple_

from services.storage.backends import Backend, StorageUnavailable
from services.storage.db import db
from services.storage.models import PENDING, READY, StoredFile
from services.storage.policy import may_delete, may_read
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Problem
from shared.pagination import decode_cursor, encode_cursor

log = logging.getLogger(__name__)
FILES = StoredFile.__table__
INCOMING = "incoming/"  # where direct uploads land before complete moves them
QUOTA_LOCK = zlib.crc32(b"storage-quota") - (1 << 31)  # an int4 namespace for the owner locks

BY_ID = select(FILES).where(FILES.c.id == bindparam("id"))
USED = select(func.coalesce(func.sum(FILES.c.size), 0)).where(
    FILES.c.owner_id == bindparam("owner"),
    or_(FILES.c.status == READY, FILES.c.expires_at > bindparam("now")))


def backends() -> dict[str, Backend]:
    return current_app.extensions["storage.backends"]


def backend_for(user_id: int) -> Backend:
    """Where this user's new files go: S3 where USE_CLOUD_STORAGE serves them (a rollout
    percentage is sticky per user); each file keeps the backend it was stored in."""
    if current_app.config["FLAGS"]["USE_CLOUD_STORAGE"].enabled(user_id):
        return backends()["s3"]
    return backends()["local"]


def new_key(purpose: str) -> str:
    """A key no client chose and none can guess: the purpose, a fan-out level, a token."""
    token = secrets.token_hex(16)
    return f"{purpose}/{token[:2]}/{token}"


def quota() -> int:
    return current_app.config["STORAGE_QUOTA_BYTES"]


def used_bytes(owner_id: int) -> int:
    """The owner's stored bytes plus the announced sizes of their live direct uploads."""
    return int(db.value(USED, {"owner": owner_id, "now": utcnow()}))  # PostgreSQL: a numeric


def over_quota(used: int) -> Problem:
    limit = quota()
    return Problem(413, f"Your files use {used:,} of your {limit:,} bytes; delete some "
                        "first.", title="Quota exceeded", quota=limit, used=used)


def insert_within_quota(row: dict):
    """Insert a file row unless the owner's files would then pass the quota (413); the row.

    Insert first, then sum: on SQLite the insert takes the write lock, so the sum sees every
    committed row; on PostgreSQL a per-owner advisory lock orders concurrent uploads.
    """
    with db.transaction() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :owner)"),
                         {"ns": QUOTA_LOCK, "owner": row["owner_id"] % (1 << 31)})
        inserted = conn.execute(insert(FILES).values(**row).returning(*FILES.c)).one()
        used = int(conn.execute(USED, {"owner": row["owner_id"], "now": utcnow()}).scalar_one())
        if used > quota():
            conn.rollback()
            raise over_quota(used - row["size"])
    return inserted


def get_row(file_id: int):
    return db.fetch_one(BY_ID, {"id": file_id})


def readable(principal: Principal, file_id: int):
    """A ready file the caller may read; 404 for any other (missing or not theirs alike)."""
    row = get_row(file_id)
    if row is None or row.status != READY or not may_read(principal, row.owner_id,
                                                          row.cohort_id):
        raise Problem(404, f"There is no file {file_id} that you may read.")
    return row


def _cursor_secret() -> str:
    return current_app.config["SERVICE_TOKEN"] + ":storage-cursor"


def list_files(principal: Principal, *, limit: int, purpose: str | None = None,
               owner: int | None = None, cursor: str | None = None):
    """A page of one owner's ready files, newest first, and the next page's cursor."""
    owner = principal.user_id if owner is None else owner
    query = select(FILES).where(FILES.c.owner_id == owner, FILES.c.status == READY)
    mentor_of_other = principal.role == "mentor" and owner != principal.user_id
    if owner != principal.user_id and principal.role == "student":
        raise Problem(403, "Students list only their own files.", title="Forbidden")
    if mentor_of_other:
        query = query.where(FILES.c.cohort_id == principal.cohort_id)
    if purpose:
        query = query.where(FILES.c.purpose == purpose)
    if cursor:
        created, last_id = decode_cursor(cursor, _cursor_secret(), 2)
        try:
            created = datetime.fromisoformat(created)
        except (TypeError, ValueError):
            raise Problem(400, "The cursor is not one this service issued.") from None
        query = query.where(tuple_(FILES.c.created_at, FILES.c.id) < (created, last_id))
    rows = db.rows(query.order_by(FILES.c.created_at.desc(), FILES.c.id.desc()).limit(limit + 1))
    if mentor_of_other and not rows and not cursor and not _in_cohort(owner, principal):
        # The service knows a student's cohort only from their files.
        raise Problem(404, f"User {owner} has no files in your cohort.")
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), last.id], _cursor_secret())
    return page, next_cursor


def _in_cohort(owner: int, principal: Principal) -> bool:
    return db.value(select(FILES.c.id).where(
        FILES.c.owner_id == owner, FILES.c.status == READY,
        FILES.c.cohort_id == principal.cohort_id).limit(1)) is not None


def delete_file(principal: Principal, file_id: int) -> None:
    """Remove the file's row, then its bytes. The row goes first: a delete S3 did not
    confirm may still happen after a timeout, and must never leave a row without bytes. If
    the bytes stay, cleanup-storage removes them; no URL reaches them meanwhile."""
    row = readable(principal, file_id)
    if not may_delete(principal, row.owner_id):
        raise Problem(403, "Only the owner or an admin may delete a file.", title="Forbidden")
    gone = db.row(delete(FILES).where(FILES.c.id == file_id, FILES.c.status == READY)
                  .returning(FILES.c.key, FILES.c.backend))
    if gone is None:  # deleted meanwhile by another request
        raise Problem(404, f"There is no file {file_id} that you may read.")
    try:
        backends()[gone.backend].delete(gone.key)
    except StorageUnavailable:
        log.warning("the bytes of deleted file %s stay until cleanup-storage", file_id)


def pending_row(file_id: int, owner_id: int | None = None, row=None):
    """A direct upload not completed yet (of this owner, if given); 404 otherwise."""
    row = row or get_row(file_id)
    if row is None or row.status != PENDING or (owner_id is not None and row.owner_id != owner_id):
        raise Problem(404, f"There is no upload {file_id} of yours waiting to complete.")
    return row
