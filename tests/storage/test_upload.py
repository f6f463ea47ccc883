"""Uploads through the service: streamed, checked on the way, nothing kept when refused."""

import hashlib
import io

import pytest

from services.storage.sniff import JPEG, NOTEBOOK, PDF, PNG, TEXT, WEBP, ZIP
from tests.storage.conftest import upload
from tests.storage.samples import EXECUTABLE, SAMPLES

STUDENT, COHORT = 7, 1


@pytest.fixture
def student(tokens):
    return tokens.user(STUDENT, "student", cohort_id=COHORT)


def test_upload_stores_the_file_and_answers_its_metadata(client, student, contents):
    data = SAMPLES[PNG]
    answer = upload(client, student, data, "me.png", "avatar", content_type="text/html")
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["name"] == "me.png"
    assert body["size"] == len(data)
    assert body["content_type"] == PNG  # from the bytes, not the part's text/html
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["purpose"] == "avatar" and body["owner_id"] == STUDENT
    assert body["download_url"] == f"/api/storage/files/{body['id']}/content"
    assert body["created_at"].endswith("Z")
    assert answer.headers["Location"].endswith(f"/api/storage/files/{body['id']}")
    assert client.get(f"/api/storage/files/{body['id']}", headers=student).json == body
    stored = contents()
    assert list(stored.values()) == [len(data)]
    assert all(body["name"] not in key for key in stored)  # the key is the service's own


@pytest.mark.parametrize(("kind", "purpose"), [
    (PNG, "avatar"), (JPEG, "avatar"), (WEBP, "avatar"),
    (PDF, "submission"), (ZIP, "submission"), (TEXT, "submission"), (PNG, "submission"),
    (JPEG, "submission"), (NOTEBOOK, "submission"),
])
def test_each_purpose_takes_its_types(client, student, kind, purpose):
    answer = upload(client, student, SAMPLES[kind], "x", purpose)
    assert answer.status_code == 201, answer.json
    assert answer.json["content_type"] == kind


@pytest.mark.parametrize(("data", "purpose"), [
    (SAMPLES[PDF], "avatar"),  # a PDF named and typed as a PNG
    (SAMPLES[TEXT], "avatar"),
    (SAMPLES[WEBP], "submission"),
    (EXECUTABLE, "submission"),
    (b"<html><script>alert(1)</script></html>\x00", "submission"),
])
def test_spoofed_or_refused_types_are_415_and_leave_nothing(client, student, data, purpose,
                                                            contents, row_count):
    answer = upload(client, student, data, "avatar.png", purpose, content_type="image/png")
    assert answer.status_code == 415, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert purpose in answer.json["detail"]
    assert row_count() == 0 and contents() == {}


def test_one_byte_over_the_limit_is_413_and_leaves_nothing(make_app, tokens, contents,
                                                           row_count):
    app = make_app(STORAGE_AVATAR_MAX_BYTES="1000")
    client, student = app.test_client(), tokens.user(STUDENT, cohort_id=COHORT)
    exact = SAMPLES[PNG] + bytes(1000 - len(SAMPLES[PNG]))
    assert upload(client, student, exact, "a.png", "avatar").status_code == 201
    over = upload(client, student, exact + b"\x00", "a.png", "avatar")
    assert over.status_code == 413
    assert over.json["limit"] == 1000
    assert row_count() == 1 and len(contents()) == 1


def test_a_file_far_over_the_limit_is_cut_off_early(make_app, tokens, contents, row_count):
    app = make_app(STORAGE_AVATAR_MAX_BYTES="1000")
    read = []

    class Counting(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            read.append(len(chunk))
            return chunk

    body, boundary = _form(SAMPLES[PNG] + bytes(20 << 20))
    answer = app.test_client().post(
        "/api/storage/files", input_stream=Counting(body),
        headers={**tokens.user(STUDENT), "Content-Length": str(len(body))},
        content_type=f"multipart/form-data; boundary={boundary}")
    assert answer.status_code == 413
    assert sum(read) < 2 << 20  # stopped within a read or two of the limit, not at 20 MiB
    assert row_count() == 0 and contents() == {}


def _form(data: bytes, purpose: str = "avatar") -> tuple[bytes, str]:
    boundary = "b0undary"
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
            f"{purpose}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + (
            f"\r\n--{boundary}--\r\n").encode(), boundary


def test_over_quota_is_413_and_leaves_nothing(make_app, tokens, contents, row_count):
    quota = 2 * len(SAMPLES[PDF]) + 10
    app = make_app(STORAGE_QUOTA_BYTES=str(quota))
    client, student = app.test_client(), tokens.user(STUDENT, cohort_id=COHORT)
    for _ in range(2):
        assert upload(client, student, SAMPLES[PDF]).status_code == 201
    over = upload(client, student, SAMPLES[PDF])
    assert over.status_code == 413
    assert over.json["quota"] == quota and over.json["used"] == 2 * len(SAMPLES[PDF])
    assert row_count() == 2 and len(contents()) == 2
    # Another owner has a quota of their own.
    assert upload(client, tokens.user(STUDENT + 1), SAMPLES[PDF]).status_code == 201


def test_names_are_cleaned_and_never_a_path(client, student, contents):
    for raw, shown in (("../../etc/passwd", "passwd"),
                       ("tab\there\x1b[0m.txt", "tabhere[0m.txt")):
        answer = upload(client, student, SAMPLES[TEXT], raw)
        assert answer.status_code == 201, answer.json
        assert answer.json["name"] == shown
    long = upload(client, student, SAMPLES[TEXT], "é" * 150 + ".txt")  # 304 bytes
    assert len(long.json["name"].encode()) <= 255 and long.json["name"].endswith(".txt")
    assert all(".." not in key and "passwd" not in key for key in contents())


@pytest.mark.parametrize("name", ["nul\x00.txt", "bad\ud800.txt"])
def test_a_name_with_nul_or_a_lone_surrogate_is_400(client, student, name, row_count,
                                                    contents):
    body = (b"--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nsubmission\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            + name.encode("utf-8", "surrogatepass") + b"\"\r\n\r\nhello\r\n--b--\r\n")
    answer = client.post("/api/storage/files", data=body, headers=student,
                         content_type="multipart/form-data; boundary=b")
    assert answer.status_code == 400, answer.json
    assert row_count() == 0 and contents() == {}
