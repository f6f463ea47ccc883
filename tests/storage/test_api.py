"""Metadata, lists and deletes: who may read (owner, their cohort's mentor, admin) and who may
delete (owner, admin); everyone else sees nothing."""

import pytest

from services.storage.sniff import PDF, PNG, TEXT
from shared.demo import DEMO_ADMIN_ID, mentor_of
from tests.storage.conftest import upload
from tests.storage.samples import SAMPLES

OWNER, OTHER, COHORT, OTHER_COHORT = 7, 8, 1, 2


@pytest.fixture
def people(tokens):
    return {
        "owner": tokens.user(OWNER, "student", cohort_id=COHORT),
        "classmate": tokens.user(OTHER, "student", cohort_id=COHORT),
        "mentor": tokens.user(mentor_of(COHORT), "mentor", cohort_id=COHORT),
        "other_mentor": tokens.user(mentor_of(OTHER_COHORT), "mentor", cohort_id=OTHER_COHORT),
        "admin": tokens.user(DEMO_ADMIN_ID, "admin"),
    }


@pytest.fixture
def stored(client, people):
    answer = upload(client, people["owner"], SAMPLES[PDF], "essay.pdf")
    assert answer.status_code == 201, answer.json
    return answer.json


@pytest.mark.parametrize("who", ["owner", "mentor", "admin"])
def test_readers_see_the_file(client, people, stored, who):
    answer = client.get(f"/api/storage/files/{stored['id']}", headers=people[who])
    assert answer.status_code == 200
    assert answer.json == stored
    assert client.get(stored["download_url"], headers=people[who]).status_code in (200, 302)


@pytest.mark.parametrize("who", ["classmate", "other_mentor"])
def test_anyone_else_gets_404_as_for_a_missing_file(client, people, stored, who):
    for url in (f"/api/storage/files/{stored['id']}", stored["download_url"]):
        answer = client.get(url, headers=people[who])
        assert answer.status_code == 404
        assert answer.json["detail"] == client.get(
            url.replace(str(stored["id"]), "999999"), headers=people[who]).json["detail"].replace(
            "999999", str(stored["id"]))
    assert client.delete(f"/api/storage/files/{stored['id']}",
                         headers=people[who]).status_code == 404


def test_a_mentor_without_a_cohort_claim_reads_nothing(client, tokens, stored):
    mentor = tokens.user(mentor_of(COHORT), "mentor")
    assert client.get(f"/api/storage/files/{stored['id']}", headers=mentor).status_code == 404


def test_a_mentor_who_may_read_may_not_delete(client, people, stored, contents):
    answer = client.delete(f"/api/storage/files/{stored['id']}", headers=people["mentor"])
    assert answer.status_code == 403
    assert client.get(f"/api/storage/files/{stored['id']}",
                      headers=people["owner"]).status_code == 200
    assert len(contents()) == 1


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_delete_removes_the_row_and_the_bytes_at_once(client, people, stored, who, contents,
                                                      row_count):
    answer = client.delete(f"/api/storage/files/{stored['id']}", headers=people[who])
    assert answer.status_code == 204
    assert row_count() == 0 and contents() == {}
    for url in (f"/api/storage/files/{stored['id']}", stored["download_url"]):
        assert client.get(url, headers=people["owner"]).status_code == 404
    assert client.delete(f"/api/storage/files/{stored['id']}",
                         headers=people[who]).status_code == 404


def test_list_is_newest_first_with_a_cursor_and_a_purpose(client, people):
    ids = [upload(client, people["owner"], SAMPLES[TEXT], f"{i}.txt").json["id"]
           for i in range(5)]
    avatar = upload(client, people["owner"], SAMPLES[PNG], "me.png", "avatar").json["id"]
    upload(client, people["classmate"], SAMPLES[TEXT], "theirs.txt")
    first = client.get("/api/storage/files?limit=4", headers=people["owner"]).json
    assert [f["id"] for f in first["items"]] == [avatar, *ids[::-1][:3]]
    second = client.get(f"/api/storage/files?limit=4&cursor={first['next_cursor']}",
                        headers=people["owner"]).json
    assert [f["id"] for f in second["items"]] == ids[1::-1]
    assert second["next_cursor"] is None
    avatars = client.get("/api/storage/files?purpose=avatar", headers=people["owner"]).json
    assert [f["id"] for f in avatars["items"]] == [avatar]


def test_listing_another_owner(client, people):
    mine = upload(client, people["owner"], SAMPLES[TEXT], "a.txt").json["id"]
    url = f"/api/storage/files?owner={OWNER}"
    for who in ("mentor", "admin", "owner"):
        answer = client.get(url, headers=people[who])
        assert answer.status_code == 200, (who, answer.json)
        assert [f["id"] for f in answer.json["items"]] == [mine]
    assert client.get(url, headers=people["classmate"]).status_code == 403
    assert client.get(url, headers=people["other_mentor"]).status_code == 404
    # A mentor may list a student of their cohort only once a file shows the cohort.
    assert client.get(f"/api/storage/files?owner={OTHER}",
                      headers=people["mentor"]).status_code == 404
    assert client.get(f"/api/storage/files?owner={OTHER}",
                      headers=people["admin"]).json == {"items": [], "next_cursor": None}


def test_a_mentors_own_list_is_their_own_files(client, people):
    upload(client, people["owner"], SAMPLES[TEXT], "a.txt")
    assert client.get("/api/storage/files", headers=people["mentor"]).json["items"] == []


def test_the_openapi_document_describes_every_route(client):
    document = client.get("/api/storage/openapi.json").json
    paths = document["paths"]
    assert set(paths) >= {"/api/storage/files", "/api/storage/files/{file_id}",
                          "/api/storage/files/{file_id}/content", "/api/storage/uploads",
                          "/api/storage/uploads/{file_id}/complete",
                          "/api/storage/uploads/{file_id}/object"}
    upload_body = paths["/api/storage/files"]["post"]["requestBody"]["content"]
    schema = upload_body["multipart/form-data"]["schema"]
    assert schema["$ref"].endswith("FileUpload")
    properties = document["components"]["schemas"]["FileUpload"]["properties"]
    assert properties["file"]["format"] == "binary"
    assert {"413", "415"} <= set(paths["/api/storage/files"]["post"]["responses"])
    assert "security" not in paths["/api/storage/uploads/{file_id}/object"]["post"]
