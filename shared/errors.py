"""RFC 9457 problem details for every error a service answers."""

import logging
from http import HTTPStatus

from flask import Flask, Response, g, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from shared.dbguard import DatabaseUnavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
VALIDATION_TYPE = "/problems/validation-error"


class Problem(Exception):
    """An error the client can act on, answered as problem details."""

    def __init__(self, status: int, detail: str, *, title: str | None = None,
                 type: str = "about:blank", headers=None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.title, self.type = status, detail, title, type
        self.headers, self.extra = headers, extra


def problem_response(status: int, detail: str | None = None, *, title: str | None = None,
                     type: str = "about:blank", headers=None, **extra) -> Response:
    """The problem+json response for `status`; the title defaults to the HTTP phrase."""
    body = {
        "type": type,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail or _phrase(status),
        **extra,
    }
    if request:
        body.setdefault("instance", request.path)
        if g and "request_id" in g:
            body.setdefault("request_id", g.request_id)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if headers:
        response.headers.extend(headers)
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def register_error_handlers(app: Flask) -> None:
    """Turn every error into problem details; a 500 never shows a stack trace."""

    @app.errorhandler(Problem)
    def handle_problem(exc: Problem):
        return problem_response(exc.status, exc.detail, title=exc.title, type=exc.type,
                                headers=exc.headers, **exc.extra)

    @app.errorhandler(ValidationError)
    def handle_validation(exc: ValidationError):
        return problem_response(400, "The request has invalid fields; see errors.",
                                title="Invalid request", type=VALIDATION_TYPE,
                                errors=exc.normalized_messages())

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return problem_response(exc.code or 500, exc.description, headers=headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    @app.errorhandler(DatabaseUnavailable)
    def handle_database_down(exc: Exception):
        # A database that cannot be reached, hangs or is locked is a passing outage, not a
        # bug; every worker busy waiting for it (the pool timed out) is the same outage.
        log.error("database unavailable on %s %s: %s: %s", request.method, request.path,
                  type(exc).__name__, str(getattr(exc, "orig", None) or exc)[:300])
        return problem_response(503, "The database is unavailable; try again shortly.",
                                headers={"Retry-After": "5"})

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, InternalServerError.description)
