"""What every test of a service's bad input checks of the answer: a problem document."""


def assert_problem(response, status: int, field: str | None = None) -> dict:
    """`response` (the Flask test client's) is a problem+json of `status`, with a title and a
    detail, and names `field` among its errors when given; the problem."""
    assert response.status_code == status, response.data
    assert response.content_type == "application/problem+json"
    problem = response.json
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field:
        assert field in problem["errors"], problem
    return problem
