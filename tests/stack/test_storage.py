"""Files through the real gateway: streamed uploads, nginx sending the bytes (X-Accel-Redirect)
with ranges, direct uploads to the signed URL, deletes that take effect at once."""

import hashlib
import os

import pytest
import requests

from services.storage import create_app
from services.storage.avatars import avatar_png
from tests.gateway.support import assert_problem
from tests.stack.conftest import new_user, running_stack, stack_env, tokens
from tests.support.databases import migrate, temporary_database
from tests.support.servers import require_nginx, require_postgres

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.nginx]
MIB = 1 << 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_postgres()
    require_nginx()
    with temporary_database("postgresql", tmp_path_factory, "stack_storage") as url:
        migrate(create_app, url)
        workdir = tmp_path_factory.mktemp("storage-stack")
        env = stack_env(STORAGE_DATABASE_URL=url, STORAGE_DIR=str(workdir / "files"),
                        CACHE_URL="null://", STORAGE_SUBMISSION_MAX_BYTES=str(8 * MIB),
                        STORAGE_MAX_BODY_BYTES=str(9 * MIB), GUNICORN_WORKER_CLASS="gthread")
        with running_stack(workdir, env) as stack:
            yield stack


def user():
    return tokens.user(new_user(), "student", cohort_id=1)


def upload(stack, headers, data, name="data.txt", purpose="submission", **kwargs):
    return requests.post(f"{stack.base_url}/api/storage/files", headers=headers, timeout=30,
                         data={"purpose": purpose}, files={"file": (name, data)}, **kwargs)


def test_ready_with_the_directory_writable(stack):
    ready = requests.get(f"{stack.base_url}/health/storage/ready/", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["storage:responseTime"][0]["status"] == "pass"


def test_upload_then_nginx_sends_the_bytes_with_ranges(stack):
    owner = user()
    data = os.urandom(3 * MIB)
    data = b"%PDF-1.7\n" + data  # a PDF by its magic number
    stored = upload(stack, owner, data, "report.pdf")
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    url = stack.base_url + body["download_url"]

    whole = requests.get(url, headers=owner, timeout=30)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["Content-Type"] == "application/pdf"
    assert whole.headers["Content-Disposition"] == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf")
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Cache-Control"] == "private, no-store"
    assert whole.headers["X-Request-ID"]
    assert "X-Accel-Redirect" not in whole.headers

    part = requests.get(url, headers={**owner, "Range": "bytes=100-1099"}, timeout=30)
    assert part.status_code == 206
    assert part.content == data[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    tail = requests.get(url, headers={**owner, "Range": "bytes=-10"}, timeout=30)
    assert tail.status_code == 206 and tail.content == data[-10:]

    assert requests.get(url, headers=user(), timeout=10).status_code == 404
    assert requests.delete(f"{stack.base_url}/api/storage/files/{body['id']}", headers=owner,
                           timeout=10).status_code == 204
    assert_problem(requests.get(url, headers=owner, timeout=10), 404)


def test_a_chunked_upload_streams_through_the_gateway(stack):
    owner = user()
    boundary = "chunky"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
            f"avatar\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"me.png\"\r\n\r\n").encode()
    png = avatar_png(5)

    def body():  # a generator: requests sends it chunked, without a length
        yield head
        yield png
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = requests.post(f"{stack.base_url}/api/storage/files", data=body(), timeout=30,
                           headers={**owner, "Content-Type":
                                    f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == len(png) and answer.json()["content_type"] == "image/png"


def test_over_the_limit_is_413_from_the_service_and_from_the_gateway(stack):
    owner = user()
    over_purpose = upload(stack, owner, b"%PDF-" + bytes(8 * MIB), "big.pdf")
    assert_problem(over_purpose, 413)  # the service cut it off at 8 MiB
    over_body = upload(stack, owner, b"%PDF-" + bytes(10 * MIB), "bigger.pdf")
    assert_problem(over_body, 413)  # nginx: past the registry's body limit
    listed = requests.get(f"{stack.base_url}/api/storage/files", headers=owner, timeout=10)
    assert listed.json()["items"] == []


def test_a_direct_upload_to_the_signed_url(stack):
    owner = user()
    data = b"print('hello')\n" * 1000
    begun = requests.post(f"{stack.base_url}/api/storage/uploads", headers=owner, timeout=10,
                          json={"name": "hello.py", "size": len(data), "purpose": "submission",
                                "sha256": hashlib.sha256(data).hexdigest()})
    assert begun.status_code == 201, begun.text
    target = begun.json()
    sent = requests.post(stack.base_url + target["url"], data=target["fields"], timeout=30,
                         files={"file": ("hello.py", data)})
    assert sent.status_code == 204, sent.text
    done = requests.post(f"{stack.base_url}/api/storage/uploads/{target['file_id']}/complete",
                         headers=owner, timeout=30)
    assert done.status_code == 200, done.text
    assert done.json()["content_type"] == "text/plain"
    fetched = requests.get(stack.base_url + done.json()["download_url"], headers=owner,
                           timeout=10)
    assert fetched.content == data
