"""Parsing request input with marshmallow: JSON bodies and query strings."""

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge

from shared.errors import Problem


def json_body(schema: Schema) -> dict:
    """The request's JSON body loaded by `schema`; 415 for another type, 400 for bad JSON."""
    if not request.is_json:
        raise Problem(415, "Send the body as application/json.")
    limit = request.max_content_length
    if request.content_length is None and limit and len(request.get_data()) >= limit:
        # A body sent without a length (chunked) is cut at the limit, silently: reaching
        # the limit is the only sign that it was longer.
        raise RequestEntityTooLarge()
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested thousands deep: no schema of ours goes near that
        data = None
    if data is None:
        raise Problem(400, "The body is not valid JSON (or nests too deeply).",
                      title="Malformed JSON")
    return schema.load(data)

