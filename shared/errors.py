"""RFC 9457 problem details for every error a service answers."""

import logging
from http import HTTPStatus

from flask import Flask, Response, g, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from shared.dbguard import DatabaseUnavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
VALIDATION_TYPE = "/problems/validation-error"

# The title and detail of a problem answered without words of its own: the same from nginx,
# the embedded gateway and every service, and never the server's stock wording.
PROBLEMS = {
    400: ("Bad Request", "The request could not be read."),
    401: ("Unauthorized", "Send a valid Authorization: Bearer <token> header."),
    403: ("Forbidden", "This path is not served."),
    404: ("Not Found", "Nothing is served at this path."),
    405: ("Method Not Allowed", "This path does not take that method."),
    413: ("Content Too Large", "The request body is larger than this route accepts."),
    408: ("Request Timeout", "The request was not sent in time."),
    411: ("Length Required", "Send a Content-Length (or a chunked body)."),
    414: ("URI Too Long", "The URL is longer than the server reads; shorten the query."),
    415: ("Unsupported Media Type", "This route does not take a body of that type."),
    429: ("Too Many Requests", "Too many requests from this client; wait a second and retry."),
    416: ("Range Not Satisfiable", "The requested range is outside the file."),
    431: ("Request Header Fields Too Large", "The request headers are more or larger than "
          "the server reads."),
    500: ("Internal Server Error", "The server failed; quote the request id to the operators."),
    501: ("Not Implemented", "The server does not support that (a Transfer-Encoding other "
          "than chunked, say)."),
    502: ("Bad Gateway", "The service behind this path is not answering; retry shortly."),
    503: ("Service Unavailable", "The service behind this path is unavailable; retry shortly."),
    504: ("Gateway Timeout", "The service behind this path took too long to answer."),
    505: ("HTTP Version Not Supported", "Speak HTTP/1.0 or HTTP/1.1."),
}


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
    stock_title, stock_detail = PROBLEMS.get(status, (_phrase(status), _phrase(status)))
    body = {
        "type": type,
        "title": title or stock_title,
        "status": status,
        "detail": detail or stock_detail,
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
        # werkzeug's stock description is its own wording; a raised one is the caller's.
        stock = type(exc).description
        detail = None if exc.description == stock else exc.description
        return problem_response(exc.code or 500, detail, headers=headers)

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
        return problem_response(500)
