"""The gamification app on a migrated database of each backend."""

import pytest

from services.gamification import create_app
from tests.support.databases import app_maker, migrated_database
from tests.support.leetcode import StandIn


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with migrated_database(create_app, backend, tmp_path_factory, "gamification") as url:
        yield url


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database with config overrides; rows are deleted after."""
    with app_maker(create_app, database_url) as make:
        yield make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def leetcode():
    """A LeetCode stand-in (tests/support/leetcode.py) for the test."""
    server = StandIn()
    yield server
    server.close()


@pytest.fixture
def sync_app(make_app, leetcode):
    """Apps whose sync asks the stand-in, quickly."""
    def make(**overrides):
        return make_app(**{"LEETCODE_GRAPHQL_URL": leetcode.url, "LEETCODE_RATE": "100/1",
                           "LEETCODE_RETRIES": "2", "LEETCODE_TIMEOUT": "2", **overrides})

    return make


ADMIN = 1_000_000


class Game:
    """The service driven through its API, as the core app, an admin and students would."""

    def __init__(self, client, tokens):
        self.client, self.tokens = client, tokens

    def player(self, user_id, cohort=1, name=None, leetcode=None, tz="UTC", status=None):
        body = {"cohort_id": cohort, "display_name": name or f"Player {user_id}",
                "leetcode_username": leetcode, "timezone": tz}
        response = self.client.put(f"/internal/gamification/players/{user_id}", json=body,
                                   headers=self.tokens.service)
        assert response.status_code in ((status,) if status else (200, 201)), response.json
        return response

    def season(self, name="Season", cohort=None, starts="2020-01-01T00:00:00Z",
               ends="2099-01-01T00:00:00Z", status=201):
        response = self.client.post("/api/gamification/seasons", headers=self.admin, json={
            "name": name, "cohort_id": cohort, "starts_at": starts, "ends_at": ends})
        assert response.status_code == status, response.json
        return response.json

    def award(self, *awards, status=201):
        response = self.client.post("/internal/gamification/points",
                                    json={"awards": list(awards)}, headers=self.tokens.service)
        assert response.status_code == status, response.json
        return response.json

    @staticmethod
    def points(user_id, points, ref=None, at="2025-06-01T12:00:00Z", reason="review approved"):
        return {"user_id": user_id, "points": points, "ref": ref or f"ref-{user_id}-{points}-{at}",
                "reason": reason, "occurred_at": at}

    @property
    def admin(self):
        return self.tokens.user(ADMIN, "admin")

    def student(self, user_id, cohort=1):
        return self.tokens.user(user_id, "student", cohort_id=cohort)

    def board(self, user_id=1, claim=1, role="student", status=200, **params):
        """The leaderboard as `user_id` (with `claim` as the token's cohort) asks for it."""
        headers = self.tokens.user(user_id, role, cohort_id=claim)
        response = self.client.get("/api/gamification/leaderboard", query_string=params,
                                   headers=headers)
        assert response.status_code == status, response.json
        return response.json


@pytest.fixture
def game(client, tokens):
    return Game(client, tokens)


@pytest.fixture
def rows(app):
    """How many rows a table holds."""
    from sqlalchemy import text

    from services.gamification.db import db

    def count(table: str) -> int:
        with app.app_context():
            return db.value(text(f"SELECT COUNT(*) FROM {table}"))

    return count
