"""Demo data: an avatar per demo student, drawn in code; idempotent by its key."""

import hashlib
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from services.storage import service, sniff
from services.storage.avatars import avatar_png
from services.storage.db import db
from services.storage.models import READY
from shared.db import utcnow
from shared.demo import DEFAULT_STUDENTS, SeedReport, cohort_of, seed_command, student_ids
from shared.locks import command_lock

FILES = service.FILES
DEMO_PREFIX = "avatar/demo/"  # demo keys: a second run finds them, --reset removes them
BATCH = 1000
WRITERS = 8  # objects written at once: each waits on its fsync (or on S3) most of the time


def demo_key(student_id: int) -> str:
    return f"{DEMO_PREFIX}{student_id}"


def is_empty() -> bool:
    """Whether the service holds no file at all (a fresh install)."""
    return db.value(select(FILES.c.id).limit(1)) is None


def _row(student_id: int, backend: str, data: bytes, now) -> dict:
    return {"owner_id": student_id, "cohort_id": cohort_of(student_id), "purpose": "avatar",
            "name": f"avatar-{student_id}.png", "key": demo_key(student_id), "backend": backend,
            "size": len(data), "content_type": sniff.PNG,
            "sha256": hashlib.sha256(data).hexdigest(), "status": READY, "created_at": now}


def _existing() -> set[str]:
    return {k for (k,) in db.rows(select(FILES.c.key).where(FILES.c.key.like(f"{DEMO_PREFIX}%")))}


def _store(batch: list[int], now) -> int:
    """Write the batch's objects, then insert their rows (skipping keys taken meanwhile)."""
    rows, writes = [], []
    with ThreadPoolExecutor(WRITERS) as pool:
        for student_id in batch:
            data = avatar_png(student_id)
            backend = service.backend_for(student_id)
            rows.append(_row(student_id, backend.name, data, now))
            writes.append(pool.submit(backend.put, demo_key(student_id), [data]))
        for write in writes:
            write.result()  # a failed write stops the seed before any row claims it
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    with db.transaction() as conn:
        inserted = conn.execute(dialect.insert(FILES).on_conflict_do_nothing(
            index_elements=["key"]).returning(FILES.c.id), rows).all()
    return len(inserted)


def seed_demo(students: int = DEFAULT_STUDENTS, *, reset: bool = False, dry_run: bool = False,
              log=None) -> SeedReport:
    """Give demo students 1..N an avatar each. Raises AlreadyRunning when another copy is
    seeding."""
    report = SeedReport("storage", "avatars", dry_run=dry_run)
    with command_lock(db, "seed-demo-storage"):
        demo = FILES.c.key.like(f"{DEMO_PREFIX}%")
        if reset:
            report.deleted = db.value(select(func.count()).where(demo))
            if not dry_run:
                for key, backend in db.rows(select(FILES.c.key, FILES.c.backend).where(demo)):
                    service.backends()[backend].delete(key)
                with db.transaction() as conn:
                    conn.execute(delete(FILES).where(demo))
        existing = set() if reset and not dry_run else _existing()
        missing = [s for s in student_ids(students) if demo_key(s) not in existing]
        if dry_run:
            report.created = students if reset else len(missing)
            return report
        now = utcnow()
        for start in range(0, len(missing), BATCH):
            report.created += _store(missing[start:start + BATCH], now)
            if log:
                log(f"storage: {report.created} avatars (up to student "
                    f"{missing[min(start + BATCH, len(missing)) - 1]})")
    return report


seed_demo_command = seed_command(
    seed_demo, "Give demo students 1..N an avatar each (idempotent).")
