"""Downloads: X-Accel-Redirect on the local disk (the embedded dispatcher plays nginx), a
presigned URL on S3; ranges honoured; a deleted file's URL stops working at once."""

import pytest
import requests
from werkzeug.test import Client

from gateway.embedded import Dispatcher
from services.storage.sniff import PDF, TEXT
from tests.storage.conftest import upload
from tests.storage.samples import SAMPLES

OWNER = 7
local_only = pytest.mark.parametrize("store", ["local"], indirect=True)
s3_only = pytest.mark.parametrize("store", ["s3"], indirect=True)


@pytest.fixture
def owner(tokens):
    return tokens.user(OWNER, cohort_id=1)


@pytest.fixture
def stored(client, owner):
    answer = upload(client, owner, SAMPLES[TEXT], "notes ünï.txt")
    assert answer.status_code == 201
    return answer.json


@local_only
def test_the_service_hands_the_bytes_to_nginx(app, client, owner, stored):
    answer = client.get(stored["download_url"], headers=owner)
    assert answer.status_code == 200 and answer.data == b""
    key = answer.headers["X-Accel-Redirect"].removeprefix("/_files/storage/")
    with open(f"{app.config['STORAGE_DIR']}/{key}", "rb") as stored_file:
        assert stored_file.read() == SAMPLES[TEXT]
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"notes uni.txt\"; filename*=UTF-8''notes%20%C3%BCn%C3%AF.txt")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "private, no-store"


@local_only
def test_the_embedded_dispatcher_sends_the_file_with_ranges(app, client, owner, stored):
    browser = Client(Dispatcher({"storage": app}))
    whole = browser.get(stored["download_url"], headers=owner)
    assert whole.status_code == 200
    assert whole.get_data() == SAMPLES[TEXT]
    assert whole.headers["Content-Disposition"].startswith("attachment;")
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Content-Type"] == "text/plain; charset=utf-8"
    part = browser.get(stored["download_url"], headers={**owner, "Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.get_data() == SAMPLES[TEXT][2:10]
    assert part.headers["Content-Range"] == f"bytes 2-9/{len(SAMPLES[TEXT])}"
    assert browser.get(stored["download_url"]).status_code == 401
    # Metadata and the rest of the API pass through untouched.
    assert browser.get(f"/api/storage/files/{stored['id']}", headers=owner).json == stored
    client.delete(f"/api/storage/files/{stored['id']}", headers=owner)
    assert browser.get(stored["download_url"], headers=owner).status_code == 404


@s3_only
def test_s3_answers_a_short_lived_presigned_url(make_app, owner):
    app = make_app(STORAGE_DOWNLOAD_TTL="30")
    client = app.test_client()
    stored = upload(client, owner, SAMPLES[PDF], "essay.pdf").json
    answer = client.get(stored["download_url"], headers=owner)
    assert answer.status_code == 302
    assert answer.headers["Cache-Control"] == "private, no-store"
    url = answer.headers["Location"]
    assert url.startswith(app.config["S3_ENDPOINT_URL"]) and "X-Amz-Expires=30" in url
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == SAMPLES[PDF]
    assert fetched.headers["Content-Type"] == PDF
    assert fetched.headers["Content-Disposition"].startswith('attachment; filename="essay.pdf"')
    part = requests.get(url, headers={"Range": "bytes=0-4"}, timeout=10)
    assert part.status_code == 206 and part.content == b"%PDF-"
    # Deleted: the service's URL is 404 and the presigned one finds no object.
    assert client.delete(f"/api/storage/files/{stored['id']}", headers=owner).status_code == 204
    assert client.get(stored["download_url"], headers=owner).status_code == 404
    assert requests.get(url, timeout=10).status_code in (403, 404)  # S3: 403 without ListBucket


def test_head_answers_like_get_without_the_bytes(client, owner, stored):
    answer = client.head(stored["download_url"], headers=owner)
    assert answer.status_code in (200, 302)
    assert answer.data == b""
