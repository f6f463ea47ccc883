"""Direct uploads: announce, send the bytes to S3's presigned POST or to this service's signed
URL, then complete; the file appears only once its stored bytes were checked."""

import hashlib
import io
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from services.storage.db import db
from services.storage.models import StoredFile
from services.storage.sniff import NOTEBOOK, PDF, PNG, TEXT
from shared.db import utcnow
from tests.storage.samples import EXECUTABLE, SAMPLES

OWNER = 7


@pytest.fixture
def owner(tokens):
    return tokens.user(OWNER, cohort_id=1)


def begin(client, headers, data: bytes, purpose="submission", sha256=True, size=None):
    body = {"name": "work.ipynb", "size": len(data) if size is None else size,
            "purpose": purpose}
    if sha256:
        body["sha256"] = hashlib.sha256(data).hexdigest()
    answer = client.post("/api/storage/uploads", json=body, headers=headers)
    assert answer.status_code == 201, answer.json
    return answer.json


def send(client, target: dict, data: bytes) -> int:
    """POST the fields, then the file, to the upload URL, as a browser's form would."""
    if target["url"].startswith("http"):
        return requests.post(target["url"], data=target["fields"], timeout=10,
                             files={"file": ("work.ipynb", data)}).status_code
    form = {**target["fields"], "file": (io.BytesIO(data), "work.ipynb")}
    return client.post(target["url"], data=form, content_type="multipart/form-data").status_code


def complete(client, headers, target):
    return client.post(f"/api/storage/uploads/{target['file_id']}/complete", headers=headers)


def test_announce_send_complete(client, owner, store, contents):
    data = SAMPLES[NOTEBOOK]
    target = begin(client, owner, data)
    assert target["expires_at"].endswith("Z")
    if store == "s3":
        assert target["url"].startswith("http://127.0.0.1") and target["fields"]["key"]
    else:
        assert target["url"].startswith(f"/api/storage/uploads/{target['file_id']}/object?")
    # Not a file yet: no metadata, not listed.
    assert client.get(f"/api/storage/files/{target['file_id']}", headers=owner).status_code == 404
    assert client.get("/api/storage/files", headers=owner).json["items"] == []
    assert send(client, target, data) in (200, 204)
    done = complete(client, owner, target)
    assert done.status_code == 200, done.json
    assert done.json["content_type"] == NOTEBOOK and done.json["name"] == "work.ipynb"
    assert done.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert client.get("/api/storage/files", headers=owner).json["items"] == [done.json]
    assert complete(client, owner, target).json == done.json  # again: the same file
    assert list(contents().values()) == [len(data)]  # the incoming copy is gone


def test_complete_without_the_bytes_is_409(client, owner):
    target = begin(client, owner, SAMPLES[PDF])
    answer = complete(client, owner, target)
    assert answer.status_code == 409
    assert "Nothing was uploaded" in answer.json["detail"]


@pytest.mark.parametrize("sent", [SAMPLES[PDF][:-5], SAMPLES[PDF] + b"extra"])
def test_a_size_that_does_not_match_is_409(client, owner, sent):
    target = begin(client, owner, SAMPLES[PDF])
    send(client, target, sent)  # S3 refuses it (the size condition); the service too
    answer = complete(client, owner, target)
    assert answer.status_code == 409
    # The upload URL still takes the right bytes until it expires.
    assert send(client, target, SAMPLES[PDF]) in (200, 204)
    assert complete(client, owner, target).status_code == 200


def test_a_checksum_that_does_not_match_is_409_and_may_be_sent_again(client, owner):
    target = begin(client, owner, SAMPLES[TEXT])
    wrong = SAMPLES[TEXT].swapcase()  # same size, other bytes
    assert send(client, target, wrong) in (200, 204)
    answer = complete(client, owner, target)
    assert answer.status_code == 409 and answer.json["sha256"] == hashlib.sha256(
        wrong).hexdigest()
    assert send(client, target, SAMPLES[TEXT]) in (200, 204)
    assert complete(client, owner, target).status_code == 200


@pytest.mark.parametrize(("data", "purpose"), [(EXECUTABLE, "submission"),
                                                (SAMPLES[PDF], "avatar")])
def test_a_refused_type_is_415_and_removes_the_upload(client, owner, data, purpose, contents,
                                                      row_count):
    target = begin(client, owner, data, purpose, sha256=False)
    assert send(client, target, data) in (200, 204)
    answer = complete(client, owner, target)
    assert answer.status_code == 415
    assert row_count() == 0 and contents() == {}
    assert complete(client, owner, target).status_code == 404


def test_only_the_uploader_completes(client, owner, tokens):
    target = begin(client, owner, SAMPLES[PNG], "avatar")
    send(client, target, SAMPLES[PNG])
    for other in (tokens.user(OWNER + 1), tokens.user(900001, "mentor", cohort_id=1)):
        assert complete(client, other, target).status_code == 404
    assert complete(client, tokens.user(1_000_000, "admin"), target).status_code == 404
    assert complete(client, owner, target).status_code == 200


def test_pending_uploads_count_toward_the_quota_until_they_expire(make_app, tokens, app):
    app = make_app(STORAGE_QUOTA_BYTES="1000")
    client, owner = app.test_client(), tokens.user(OWNER)
    begin(client, owner, b"", size=600)
    answer = client.post("/api/storage/uploads", headers=owner,
                         json={"name": "b.pdf", "size": 600, "purpose": "submission"})
    assert answer.status_code == 413
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(update(StoredFile).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.post("/api/storage/uploads", headers=owner, json={
        "name": "b.pdf", "size": 600, "purpose": "submission"}).status_code == 201


def test_an_expired_upload_cannot_complete(client, owner, app):
    target = begin(client, owner, SAMPLES[PDF])
    send(client, target, SAMPLES[PDF])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(update(StoredFile).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert complete(client, owner, target).status_code == 409


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_the_signed_url_refuses_a_forged_or_expired_signature(client, owner, app, contents):
    target = begin(client, owner, SAMPLES[PDF])
    forged = dict(target, url=target["url"].replace("signature=", "signature=0"))
    assert send(client, forged, SAMPLES[PDF]) == 403
    not_ascii = dict(target, url=target["url"].replace("signature=", "signature=%C3%A9"))
    assert send(client, not_ascii, SAMPLES[PDF]) == 403  # was a 500 (found by schemathesis)
    other_size = dict(target, url=target["url"].replace("expires=", "expires=1"))
    assert send(client, other_size, SAMPLES[PDF]) == 403
    too_big = SAMPLES[PDF] + bytes(100)
    assert send(client, target, too_big) == 413
    assert contents() == {}
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(update(StoredFile).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert send(client, target, SAMPLES[PDF]) == 403


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_the_signed_url_of_another_upload_does_not_fit(client, owner):
    first = begin(client, owner, SAMPLES[PDF])
    second = begin(client, owner, SAMPLES[PDF])
    query = first["url"].split("?", 1)[1]
    crossed = dict(second, url=f"/api/storage/uploads/{second['file_id']}/object?{query}")
    assert send(client, crossed, SAMPLES[PDF]) == 403
