"""Query budgets: each route runs a fixed number of statements however many files there are."""

import pytest

from services.storage.sniff import PNG, TEXT
from shared.demo import mentor_of
from shared.observability import count_queries
from tests.storage.conftest import upload
from tests.storage.samples import SAMPLES

OWNER, COHORT = 7, 1


@pytest.fixture
def owner(tokens):
    return tokens.user(OWNER, cohort_id=COHORT)


@pytest.fixture
def mentor(tokens):
    return tokens.user(mentor_of(COHORT), "mentor", cohort_id=COHORT)


@pytest.fixture(params=["local"])
def store(request):
    """Budgets count database statements: the store plays no part."""
    return request.param


def statements(client, method, url, headers, **kwargs) -> int:
    with count_queries() as stats:
        answer = client.open(url, method=method, headers=headers, **kwargs)
    assert answer.status_code < 400, answer.json
    return stats.count


def test_reads_cost_the_same_on_growing_data(client, owner, mentor):
    budgets = []
    for files in (3, 30):
        while len(client.get("/api/storage/files?limit=100", headers=owner).json["items"]) < files:
            upload(client, owner, SAMPLES[TEXT], "a.txt")
        file_id = client.get("/api/storage/files", headers=owner).json["items"][0]["id"]
        budgets.append((
            statements(client, "GET", "/api/storage/files?limit=100", owner),
            statements(client, "GET", f"/api/storage/files?owner={OWNER}&limit=100", mentor),
            statements(client, "GET", f"/api/storage/files/{file_id}", mentor),
            statements(client, "GET", f"/api/storage/files/{file_id}/content", owner),
        ))
    assert budgets[0] == budgets[1] == (1, 1, 1, 1)


def test_writes_have_fixed_budgets(client, owner, backend):
    lock = 1 if backend == "postgresql" else 0  # the owner's quota lock
    with count_queries() as stats:
        created = upload(client, owner, SAMPLES[PNG], "a.png", "avatar").json
    assert stats.count == 3 + lock  # the room left; then insert and sum in one transaction
    assert statements(client, "DELETE", f"/api/storage/files/{created['id']}", owner) == 2
    announced = {"name": "a.txt", "size": len(SAMPLES[TEXT]), "purpose": "submission"}
    assert statements(client, "POST", "/api/storage/uploads", owner, json=announced) == 2 + lock


def test_a_mentor_listing_a_student_without_files_costs_one_more(client, mentor):
    with count_queries() as stats:
        answer = client.get("/api/storage/files?owner=12345", headers=mentor)
    assert answer.status_code == 404
    assert stats.count == 2
