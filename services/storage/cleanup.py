"""What a failed or abandoned upload leaves behind, found and removed (cleanup-storage).

Three kinds: direct uploads never completed and past their expiry (row and objects);
uploads begun and never finished (temp files, S3's open multipart uploads); and objects
with no file, left by a failure between storing the bytes and writing the row. The last
two are taken only once older than STORAGE_ORPHAN_AGE, so an upload in progress is safe.
"""

from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from flask import current_app
from sqlalchemy import bindparam, delete, select

from services.storage import service
from services.storage.db import db
from services.storage.models import PENDING
from shared.db import utcnow

FILES = service.FILES
BATCH = 500


@dataclass
class CleanupReport:
    expired_uploads: int = 0
    unfinished_uploads: int = 0
    orphans: int = 0
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"{verb} {self.expired_uploads} expired uploads, {self.unfinished_uploads} "
                f"unfinished uploads and {self.orphans} objects with no file")


def run(*, dry_run: bool = False, log=None) -> CleanupReport:
    """One pass over the database and every configured backend."""
    report = CleanupReport(dry_run=dry_run)
    report.expired_uploads = remove_expired(dry_run=dry_run, log=log)
    cutoff = utcnow() - timedelta(seconds=current_app.config["STORAGE_ORPHAN_AGE"])
    for backend in service.backends().values():
        unfinished = backend.remove_unfinished(cutoff, dry_run=dry_run)
        orphans = remove_orphans(backend, cutoff, dry_run=dry_run)
        report.unfinished_uploads += unfinished
        report.orphans += orphans
        if log:
            log(f"{backend.name}: {unfinished} unfinished uploads, {orphans} orphans")
    return report


def remove_expired(*, dry_run: bool = False, log=None) -> int:
    """Expired direct uploads: their objects first, then their rows (a failure leaves the
    rows for the next run, never an object nobody knows of)."""
    expired = (FILES.c.status == PENDING) & (FILES.c.expires_at < bindparam("now"))
    total, after = 0, 0
    while True:
        rows = db.rows(select(FILES.c.id, FILES.c.key, FILES.c.backend)
                       .where(expired, FILES.c.id > after).order_by(FILES.c.id).limit(BATCH),
                       {"now": utcnow()})
        if not rows:
            return total
        after = rows[-1].id
        if not dry_run:
            for row in rows:
                backend = service.backends()[row.backend]
                backend.delete(service.INCOMING + row.key)
                backend.delete(row.key)
            with db.transaction() as conn:
                conn.execute(delete(FILES).where(FILES.c.id.in_([r.id for r in rows]), expired),
                             {"now": utcnow()})
        total += len(rows)
        if log:
            log(f"expired uploads: {total}")


def remove_orphans(backend, cutoff, *, dry_run: bool = False) -> int:
    """Objects older than `cutoff` that no row claims: a file's key, or the incoming key of
    an upload still pending."""
    removed = 0
    objects = (o for o in backend.objects() if o.modified < cutoff)
    while batch := list(islice(objects, BATCH)):
        keys = {o.key for o in batch}
        wanted = {k.removeprefix(service.INCOMING) for k in keys}
        claimed = set()
        for key, status in db.rows(select(FILES.c.key, FILES.c.status)
                                   .where(FILES.c.key.in_(wanted))):
            claimed.add(key)
            if status == PENDING:
                claimed.add(service.INCOMING + key)
        for key in keys - claimed:
            if not dry_run:
                backend.delete(key)
            removed += 1
    return removed
