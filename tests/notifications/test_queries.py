"""Query budgets: the hot endpoints take a fixed number of queries however much data grows."""

import pytest

from services.notifications import service
from shared.observability import count_queries

LIST = "/api/notifications"


def grow(app, users: int, per_user: int):
    with app.app_context():
        for n in range(per_user):
            service.create_notifications(
                list(range(1, users + 1)), kind=("dashboard", "profile")[n % 2],
                category="review", title=f"n{n}", body="", link="", dedupe_key=None)


def queries(client, method, path, headers) -> int:
    with count_queries() as stats:
        response = getattr(client, method)(path, headers=headers)
    assert response.status_code == 200, response.json
    return stats.count


@pytest.mark.parametrize(("method", "path", "budget"), [
    ("get", f"{LIST}/unread-count", 1),
    ("get", f"{LIST}?limit=100", 1),
    ("get", f"{LIST}?kind=profile&unread=true&limit=100", 1),
    ("post", f"{LIST}/read-all", 2),
    ("post", f"{LIST}/read-all?kind=dashboard", 2),
])
def test_fixed_budget_as_data_grows(app, client, tokens, method, path, budget):
    counts = []
    for users, per_user in ((3, 2), (40, 30)):
        grow(app, users, per_user)
        counts.append(queries(client, method, path, tokens.user(2)))
    assert counts == [budget, budget]


def test_mark_read_budget(app, client, tokens):
    counts = []
    for users, per_user in ((3, 2), (40, 30)):
        grow(app, users, per_user)
        item = client.get(f"{LIST}?unread=true&limit=1", headers=tokens.user(2)).json["items"][0]
        counts.append(queries(client, "post", f"{LIST}/{item['id']}/read", tokens.user(2)))
        # marking it again finds nothing to update and checks ownership: one more query
        counts.append(queries(client, "post", f"{LIST}/{item['id']}/read", tokens.user(2)))
    assert counts == [2, 3, 2, 3]


def test_the_next_page_costs_the_same(app, client, tokens):
    grow(app, 2, 60)
    cursor = client.get(f"{LIST}?limit=10", headers=tokens.user(1)).json["next_cursor"]
    assert queries(client, "get", f"{LIST}?limit=10&cursor={cursor}", tokens.user(1)) == 1


def test_create_for_many_users_is_one_transaction(app, client, tokens):
    body = {"user_ids": list(range(1, 2001)), "kind": "dashboard", "title": "t"}
    with count_queries() as stats:
        response = client.post("/internal/notifications/", json=body, headers=tokens.service)
    assert response.json == {"created": 2000}
    # One INSERT batch of at most a thousand rows a statement, then the commit.
    assert stats.count <= 3
