"""Bad input on every route: a clear 4xx naming what is wrong, and nothing written."""

import json

import pytest

from services.storage.sniff import PDF, TEXT
from tests.storage.conftest import upload
from tests.storage.samples import SAMPLES

STUDENT = 7
BIG = str(2**63)
ROUTES = [
    ("POST", "/api/storage/files"),
    ("GET", "/api/storage/files"),
    ("GET", "/api/storage/files/1"),
    ("GET", "/api/storage/files/1/content"),
    ("DELETE", "/api/storage/files/1"),
    ("POST", "/api/storage/uploads"),
    ("POST", "/api/storage/uploads/1/complete"),
]


@pytest.fixture
def student(tokens):
    return tokens.user(STUDENT, cohort_id=1)


@pytest.fixture
def nothing_written(row_count, contents):
    yield
    assert row_count() == 0 and contents() == {}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_token_bad_token_and_service_token(client, tokens, method, path, nothing_written):
    assert client.open(path, method=method).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert client.open(path, method=method, headers=bad).status_code == 401
    assert client.open(path, method=method, headers=tokens.service).status_code == 403


@pytest.mark.parametrize("path", [f"/api/storage/files/{BIG}", f"/api/storage/files/{BIG}/content",
                                  f"/api/storage/uploads/{BIG}/complete", "/api/storage/files/0",
                                  "/api/storage/files/-1"])
def test_ids_past_a_bigint_are_404(client, student, path):
    assert client.get(path, headers=student).status_code in (404, 405)
    assert client.post(path, headers=student).status_code in (404, 405)


@pytest.mark.parametrize(("query", "field"), [
    (f"owner={BIG}", "owner"), ("owner=abc", "owner"), ("owner=0", "owner"),
    ("limit=0", "limit"), ("limit=101", "limit"), ("purpose=selfie", "purpose"),
    ("cursor=%00", "cursor"),
])
def test_bad_query_values_are_400_naming_them(client, student, query, field):
    answer = client.get(f"/api/storage/files?{query}", headers=student)
    assert answer.status_code == 400
    assert field in answer.json["errors"]


def test_a_forged_cursor_is_400(client, student):
    assert client.get("/api/storage/files?cursor=abc.def", headers=student).status_code == 400


def test_empty_query_values_count_as_not_given(client, student):
    answer = client.get("/api/storage/files?purpose=&owner=&cursor=&limit=&x=1", headers=student)
    assert answer.status_code == 200
    assert answer.json == {"items": [], "next_cursor": None}


GOOD = {"name": "a.pdf", "size": 10, "purpose": "submission"}


@pytest.mark.parametrize(("change", "field"), [
    ({"size": 2**63}, "size"), ({"size": 0}, "size"), ({"size": "10"}, "size"),
    ({"size": 1.5}, "size"), ({"purpose": "selfie"}, "purpose"), ({"name": ""}, "name"),
    ({"name": "a\x00.pdf"}, "name"), ({"sha256": "xyz"}, "sha256"),
    ({"sha256": "a" * 63}, "sha256"), ({"extra": 1}, "extra"), ({"name": None}, "name"),
])
def test_bad_upload_announcements_are_400_naming_the_field(client, student, change, field,
                                                           nothing_written):
    answer = client.post("/api/storage/uploads", json={**GOOD, **change}, headers=student)
    assert answer.status_code == 400, answer.json
    assert field in answer.json["errors"]


def test_a_lone_surrogate_in_a_json_name_is_400(client, student, nothing_written):
    raw = json.dumps({**GOOD, "name": "PLACEHOLDER"}).replace("PLACEHOLDER", "\\ud800")
    answer = client.post("/api/storage/uploads", data=raw, headers=student,
                         content_type="application/json")
    assert answer.status_code == 400
    assert "name" in answer.json["errors"]


def test_announcements_over_a_limit_or_the_quota_are_413(make_app, tokens, nothing_written):
    app = make_app(STORAGE_QUOTA_BYTES="1000", STORAGE_AVATAR_MAX_BYTES="100")
    client, student = app.test_client(), tokens.user(STUDENT)
    over_limit = {"name": "a.png", "size": 101, "purpose": "avatar"}
    assert client.post("/api/storage/uploads", json=over_limit,
                       headers=student).status_code == 413
    over_quota = {**GOOD, "size": 1001}
    answer = client.post("/api/storage/uploads", json=over_quota, headers=student)
    assert answer.status_code == 413 and answer.json["quota"] == 1000


def test_the_upload_body_must_be_json(client, student, nothing_written):
    answer = client.post("/api/storage/uploads", data="name=a", headers=student,
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 415


def form(*parts: tuple[str, str | None, bytes], boundary: str = "xyz") -> bytes:
    body = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


PURPOSE = ("purpose", None, b"submission")
FILE = ("file", "a.txt", SAMPLES[TEXT])


@pytest.mark.parametrize(("body", "field"), [
    (form(FILE), "purpose"),  # no purpose
    (form(FILE, PURPOSE), "purpose"),  # the purpose after the file
    (form(PURPOSE), "file"),  # no file
    (form(PURPOSE, ("upload", "a.txt", b"x")), "file"),  # the file under another name
    (form(("purpose", None, b"selfie"), FILE), "purpose"),
    (form(("colour", None, b"red"), PURPOSE, FILE), "colour"),
])
def test_bad_forms_are_400_naming_the_field(client, student, body, field, nothing_written):
    answer = client.post("/api/storage/files", data=body, headers=student,
                         content_type="multipart/form-data; boundary=xyz")
    assert answer.status_code == 400, answer.json
    assert field in answer.json["errors"], answer.json


@pytest.mark.parametrize("body", [
    form(PURPOSE, FILE, FILE),  # two files
    form(PURPOSE, FILE, PURPOSE),  # a field after the file
    form(PURPOSE, FILE)[:-20],  # cut off before its end
    b"not a form at all",
    form(PURPOSE, FILE).replace(b"Content-Disposition", b"Content-Dispositio"),
    form(("purpose", None, b"x" * 5000), FILE),
])
def test_malformed_forms_are_400(client, student, body, nothing_written):
    answer = client.post("/api/storage/files", data=body, headers=student,
                         content_type="multipart/form-data; boundary=xyz")
    assert answer.status_code == 400, answer.json


def test_an_empty_file_is_400(client, student, nothing_written):
    answer = upload(client, student, b"", "empty.txt")
    assert answer.status_code == 400
    assert "empty" in answer.json["detail"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain",
                                          "multipart/form-data", "multipart/mixed; boundary=x"])
def test_not_a_multipart_form_is_415_or_400(client, student, content_type, nothing_written):
    answer = client.post("/api/storage/files", data=b"{}", headers=student,
                         content_type=content_type)
    assert answer.status_code in (400, 415)
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_body_over_the_service_limit_is_413_before_it_is_read(make_app, tokens,
                                                                nothing_written):
    app = make_app(MAX_BODY_BYTES="200000", STORAGE_SUBMISSION_MAX_BYTES="100000",
                   STORAGE_AVATAR_MAX_BYTES="1000")
    answer = upload(app.test_client(), tokens.user(STUDENT), SAMPLES[PDF] + bytes(300_000))
    assert answer.status_code == 413
