"""S3 unreachable or hanging: readiness fails, the API answers 503 problem details within the
timeouts, and nothing is half-written; once S3 is back, everything works again."""

import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from services.storage.sniff import PDF
from tests.storage.conftest import upload
from tests.storage.s3 import new_bucket, s3_settings
from tests.storage.samples import SAMPLES
from tests.support.proxy import Proxy
from tests.support.servers import closed_port

OWNER = 7
pytestmark = pytest.mark.parametrize("store", ["s3"], indirect=True)


@pytest.fixture
def proxy(s3_endpoint):
    parts = urlsplit(s3_endpoint)
    door = Proxy((parts.hostname, parts.port))
    yield door
    door.close()


@pytest.fixture
def owner(tokens):
    return tokens.user(OWNER, cohort_id=1)


def readiness(client) -> dict:
    time.sleep(1.05)  # past the readiness report's one-second cache
    answer = client.get("/health/ready/")
    return {**answer.json["checks"]["storage:responseTime"][0], "http": answer.status_code}


def assert_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"]
    assert "unavailable" in answer.json["detail"]


def test_s3_unreachable(make_app, owner, row_count, s3_endpoint):
    app = make_app(**s3_settings(f"http://127.0.0.1:{closed_port()}", "nowhere"))
    client = app.test_client()
    ready = readiness(client)
    assert ready["http"] == 503 and ready["status"] == "fail"
    assert ready["output"] == "the S3 bucket does not answer"
    assert_unavailable(upload(client, owner, SAMPLES[PDF]))
    direct = client.post("/api/storage/uploads", headers=owner,
                         json={"name": "a.pdf", "size": 10, "purpose": "submission"})
    assert direct.status_code == 201  # presigning needs no call to S3
    assert_unavailable(client.post(f"/api/storage/uploads/{direct.json['file_id']}/complete",
                                   headers=owner))
    assert row_count() == 1  # only the announced upload, still pending
    assert client.get("/api/storage/files", headers=owner).status_code == 200


def test_s3_hanging_then_back(make_app, owner, proxy, s3_endpoint, row_count):
    bucket = new_bucket(s3_endpoint)
    app = make_app(**s3_settings(proxy.url_for(s3_endpoint), bucket), STORAGE_ORPHAN_AGE="0")
    client = app.test_client()
    backend = app.extensions["storage.backends"]["s3"]
    stored = upload(client, owner, SAMPLES[PDF], "before.pdf").json
    doomed = upload(client, owner, SAMPLES[PDF], "doomed.pdf").json
    assert readiness(client)["http"] == 200

    proxy.freeze()
    started = time.monotonic()
    assert_unavailable(upload(client, owner, SAMPLES[PDF], "during.pdf"))
    # A delete S3 does not confirm still deletes the file: its row goes first, so a delete
    # that S3 carries out late can never leave a row without its bytes.
    assert client.delete(f"/api/storage/files/{doomed['id']}", headers=owner).status_code == 204
    assert time.monotonic() - started < 15  # the timeouts, not the kernel's
    assert readiness(client)["http"] == 503
    assert client.get(f"/api/storage/files/{stored['id']}", headers=owner).status_code == 200
    assert client.get(f"/api/storage/files/{doomed['id']}", headers=owner).status_code == 404
    assert row_count() == 1

    proxy.thaw()  # what was held passes now: the upload's bytes may land after all
    assert readiness(client)["http"] == 200
    assert upload(client, owner, SAMPLES[PDF], "after.pdf").status_code == 201
    result = app.test_cli_runner().invoke(args=["cleanup-storage"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        keys = {row.key for row in app.extensions["sqlalchemy"].session.execute(
            text("SELECT key FROM files"))}
    assert {o.key for o in backend.objects()} == keys and len(keys) == 2
