"""Uploads: through the service (streamed to the backend), and direct (presigned, then
checked by complete). Every byte is counted, hashed and sniffed on its way; a file that
breaks a rule is cut off there, and nothing of it is kept."""

import hashlib
from collections.abc import Iterable, Iterator
from datetime import timedelta

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import delete, update

from services.storage import service, signing
from services.storage.backends import Missing
from services.storage.db import db
from services.storage.models import PENDING, READY
from services.storage.multipart import FormReader
from services.storage.names import BadName, clean_name
from services.storage.policy import check_type, limit_of, too_large
from services.storage.schemas import UploadForm
from services.storage.sniff import Sniffer
from shared.auth import Principal
from shared.db import isoformat_z, utcnow
from shared.errors import Problem

FILES = service.FILES


class CheckedBytes:
    """The file's chunks as they pass to the backend: counted against the purpose's limit
    and the room left in the quota, hashed, and sniffed; the first chunk that breaks a rule
    raises, and the backend then keeps nothing."""

    def __init__(self, chunks: Iterable[bytes], purpose: str, room: int):
        self.chunks, self.purpose, self.room = chunks, purpose, room
        self.limit = limit_of(purpose)
        self.size = 0
        self.digest = hashlib.sha256()
        self.sniffer = Sniffer()
        self.content_type = ""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            if self.size > self.limit:
                raise too_large(self.purpose)
            if self.size > self.room:
                raise service.over_quota(service.quota() - self.room)
            self.digest.update(chunk)
            self.sniffer.feed(chunk)
            if self.sniffer.known is not None:
                check_type(self.purpose, self.sniffer.known)
            yield chunk
        if self.size == 0:
            raise Problem(400, "The file is empty.", title="Empty file")
        self.content_type = self.sniffer.finish()
        check_type(self.purpose, self.content_type)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


def _name(raw: str, field: str) -> str:
    try:
        return clean_name(raw)
    except BadName as exc:
        raise ValidationError({field: [str(exc)]}) from None


def upload(principal: Principal, stream, content_type: str | None):
    """Store the file of a multipart form (fields first, the file last); the new file."""
    reader = FormReader(stream, content_type)
    fields, part = reader.fields_and_file()
    if part is None or part.field != "file":
        raise ValidationError({"file": ["Send the file as the form's last part, named file."]})
    if "purpose" not in fields:
        raise ValidationError({"purpose": ["Missing: send it before the file part."]})
    purpose = UploadForm().load(fields)["purpose"]
    name = _name(part.filename, "file")
    room = service.quota() - service.used_bytes(principal.user_id)
    if room <= 0:
        raise service.over_quota(service.quota() - room)
    backend = service.backend_for(principal.user_id)
    key = service.new_key(purpose)
    checked = CheckedBytes(part.chunks, purpose, room)
    backend.put(key, checked)
    row = {"owner_id": principal.user_id, "cohort_id": principal.cohort_id, "purpose": purpose,
           "name": name, "key": key, "backend": backend.name, "size": checked.size,
           "content_type": checked.content_type, "sha256": checked.sha256, "status": READY,
           "created_at": utcnow()}
    try:
        return service.insert_within_quota(row)
    except BaseException:
        backend.delete(key)  # if this fails too, cleanup-storage finds the orphan
        raise


def begin(principal: Principal, *, name: str, size: int, purpose: str,
          sha256: str | None) -> dict:
    """Announce a direct upload: a pending file, and where and how to send its bytes."""
    if size > limit_of(purpose):
        raise too_large(purpose)
    backend = service.backend_for(principal.user_id)
    ttl = current_app.config["STORAGE_UPLOAD_TTL"]
    expires_at = utcnow() + timedelta(seconds=ttl)
    key = service.new_key(purpose)
    file_id = service.insert_within_quota({
        "owner_id": principal.user_id, "cohort_id": principal.cohort_id, "purpose": purpose,
        "name": _name(name, "name"), "key": key, "backend": backend.name, "size": size,
        "sha256": sha256.lower() if sha256 else None, "status": PENDING,
        "created_at": utcnow(), "expires_at": expires_at}).id
    if backend.name == "s3":
        url, fields = backend.presigned_post(service.INCOMING + key, size=size, ttl=ttl)
    else:
        url, fields = signing.upload_url(file_id, key, size, int(expires_at.timestamp())), {}
    return {"file_id": file_id, "url": url, "fields": fields,
            "expires_at": isoformat_z(expires_at)}


def receive(file_id: int, expires: int, signature: str, stream, content_type: str | None):
    """The bytes of a direct upload to the local disk, sent to its signed URL."""
    row = service.pending_row(file_id)
    if (row.backend != "local" or row.expires_at < utcnow()
            or not signing.valid(file_id, row.key, row.size, expires, signature)):
        raise Problem(403, "This upload URL is not valid, or it has expired; begin a new "
                           "upload.", title="Forbidden")
    _fields, part = FormReader(stream, content_type).fields_and_file()
    if part is None or part.field != "file":
        raise ValidationError({"file": ["Send the file as the form's last part, named file."]})
    service.backends()["local"].put(service.INCOMING + row.key, _at_most(part.chunks, row.size))


def _at_most(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """What a presigned POST's size condition does: more bytes than announced are refused."""
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        if sent > size:
            raise Problem(413, f"This upload takes {size:,} bytes, as announced.",
                          title="File too large")
        yield chunk


def complete(principal: Principal, file_id: int):
    """Check the uploaded object and make it a file; again on a completed one: the file."""
    row = service.get_row(file_id)
    if row is not None and row.status == READY and row.owner_id == principal.user_id:
        return row
    row = service.pending_row(file_id, principal.user_id, row)
    if row.expires_at < utcnow():
        raise Problem(409, "This upload has expired; begin a new one.", title="Upload expired")
    backend = service.backends()[row.backend]
    # Moved before it is read: a later write to the presigned key cannot change what was
    # checked. A retry after a failure here finds the object moved already.
    try:
        backend.move(service.INCOMING + row.key, row.key)
    except Missing:
        if backend.size(row.key) is None:
            raise Problem(409, "Nothing was uploaded for this file yet.",
                          title="Upload missing") from None
    size, sha256, content_type = _inspect(backend.read(row.key), row.size)
    if size != row.size:
        raise Problem(409, f"The upload holds {'more than' if size > row.size else size} "
                           f"bytes, not the {row.size:,} announced; upload it again.",
                      title="Size mismatch")
    if row.sha256 and sha256 != row.sha256:
        backend.delete(row.key)
        raise Problem(409, "The uploaded bytes do not match the announced sha256; upload "
                           "them again.", title="Checksum mismatch", sha256=sha256)
    try:
        if size > limit_of(row.purpose):
            raise too_large(row.purpose)
        check_type(row.purpose, content_type)
    except Problem:
        _discard(row, backend)  # bytes of a wrong type or size are refused for good
        raise
    with db.transaction() as conn:
        done = conn.execute(
            update(FILES).where(FILES.c.id == file_id, FILES.c.status == PENDING)
            .values(status=READY, content_type=content_type, sha256=sha256,
                    created_at=utcnow(), expires_at=None).returning(*FILES.c)).first()
    if done is None:  # completed meanwhile by another request
        return service.get_row(file_id)
    return done


def _inspect(chunks: Iterable[bytes], announced: int) -> tuple[int, str, str]:
    """Size, SHA-256 and type of stored bytes, read as a stream; a count past `announced`
    stops the reading (the size is wrong whatever follows)."""
    size, digest, sniffer = 0, hashlib.sha256(), Sniffer()
    for chunk in chunks:
        size += len(chunk)
        if size > announced:
            break
        digest.update(chunk)
        sniffer.feed(chunk)
    return size, digest.hexdigest(), sniffer.finish()


def _discard(row, backend) -> None:
    backend.delete(row.key)
    with db.transaction() as conn:
        conn.execute(delete(FILES).where(FILES.c.id == row.id, FILES.c.status == PENDING))
