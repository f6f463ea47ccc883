"""cleanup-storage: expired uploads, unfinished uploads and objects with no file go; files,
live uploads and anything younger than STORAGE_ORPHAN_AGE stay. Dry runs change nothing."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.storage.db import db
from services.storage.models import StoredFile
from services.storage.sniff import PDF, TEXT
from shared.db import utcnow
from shared.locks import command_lock
from tests.storage.conftest import upload
from tests.storage.samples import SAMPLES

OWNER = 7


@pytest.fixture
def owner(tokens):
    return tokens.user(OWNER, cohort_id=1)


def age(app, store, key: str, seconds: int = 7200) -> None:
    """Make an object look `seconds` old (S3 objects cannot be aged: the orphan age is 0)."""
    if store == "local":
        path = app.extensions["storage.backends"]["local"].path(key)
        past = time.time() - seconds
        os.utime(path, (past, past))


def run(runner, *args):
    result = runner.invoke(args=["cleanup-storage", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cleanup_removes_only_what_no_file_claims(make_app, owner, store, contents, row_count):
    # S3 objects cannot be aged here: there, any age is old enough.
    app = make_app(STORAGE_ORPHAN_AGE="60" if store == "local" else "0")
    client, runner = app.test_client(), app.test_cli_runner()
    kept = upload(client, owner, SAMPLES[PDF], "kept.pdf").json
    live = client.post("/api/storage/uploads", headers=owner, json={
        "name": "live.txt", "size": len(SAMPLES[TEXT]), "purpose": "submission"}).json
    expired = client.post("/api/storage/uploads", headers=owner, json={
        "name": "gone.txt", "size": len(SAMPLES[TEXT]), "purpose": "submission"}).json
    backend = app.extensions["storage.backends"][store]
    with app.app_context():
        keys = {r.id: r.key for r in db.session.query(StoredFile.id, StoredFile.key)}
        db.session.execute(update(StoredFile).where(StoredFile.id == expired["file_id"])
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for upload_id in (live["file_id"], expired["file_id"]):
        backend.put("incoming/" + keys[upload_id], [SAMPLES[TEXT]])
    backend.put("submission/zz/orphan", [b"left by a crash"])
    for key in (*keys.values(), "submission/zz/orphan", *(
            "incoming/" + keys[i] for i in (live["file_id"], expired["file_id"]))):
        if backend.size(key) is not None:
            age(app, store, key)
    if store == "local":
        backend.partial.mkdir(parents=True, exist_ok=True)
        (backend.partial / "upload-old").write_bytes(b"half")
        past = time.time() - 7200
        os.utime(backend.partial / "upload-old", (past, past))
        (backend.partial / "upload-young").write_bytes(b"in progress")
    before = contents()

    dry = run(runner, "--dry-run")
    assert "would remove 1 expired uploads" in dry
    assert contents() == before and row_count() == 3

    out = run(runner, "--verbose")
    assert "removed 1 expired uploads" in out
    assert "1 objects with no file" in out
    left = set(contents())
    assert f"{backend.name}:{keys[kept['id']]}" in left
    assert f"{backend.name}:incoming/{keys[live['file_id']]}" in left
    assert not any("orphan" in k or keys[expired["file_id"]] in k for k in left)
    assert row_count() == 2
    assert client.get(f"/api/storage/files/{kept['id']}", headers=owner).status_code == 200
    if store == "local":
        assert sorted(p.name for p in backend.partial.iterdir()) == ["upload-young"]

    assert "removed 0 expired uploads, 0 unfinished uploads and 0 objects" in run(runner)


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_young_objects_without_a_file_are_left_alone(app, contents):
    app.extensions["storage.backends"]["local"].put("submission/aa/just-written", [b"x"])
    run(app.test_cli_runner())
    assert "local:submission/aa/just-written" in contents()  # its row may be on its way


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_a_second_copy_exits_without_work(app):
    with app.app_context(), command_lock(db, "cleanup-storage"):
        assert "already running" in run(app.test_cli_runner())


def test_modified_times_are_utc(app, store):
    backend = app.extensions["storage.backends"]["s3" if store == "s3" else "local"]
    backend.put("avatar/aa/t", [b"x"])
    (found,) = list(backend.objects())
    assert found.modified.tzinfo is not None
    assert abs(found.modified - datetime.now(UTC)) < timedelta(minutes=5)
