"""Route input and the OpenAPI document, from one set of marshmallow schemas.

`query` and `body` parse a request with a schema and pass the result to the view; `responds`
and `problems` only describe. The document at /api/<service>/openapi.json is built from
these facts and the URL map, so what it says is what the routes validate.

apispec rather than flask-smorest: flask-smorest would put webargs' parsing and its own
error format on every request; apispec reads the schemas once, when the document is built.
"""

import re
from functools import wraps

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, json, request
from marshmallow import INCLUDE, Schema, fields

from shared.schemas import MAX_ID
from shared.web import json_body

OPENAPI_VERSION = "3.0.3"
PROBLEM_JSON = "application/problem+json"


class ResponseSchema(Schema):
    """An answer's shape: a service may add fields, so clients must accept unknown ones."""

    class Meta:
        unknown = INCLUDE


class ProblemSchema(ResponseSchema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Raw(metadata={"description": "what is wrong with each field or item"})


# What each problem status means on any route (a route adds its own with `problems`).
PROBLEM_TEXT = {
    400: "Invalid input: `errors` names each bad field",
    401: "No token, or a token that is not valid",
    403: "The caller's role may not do this",
    404: "Not found, or not the caller's to see",
    409: "Conflicts with the current state",
    413: "The body is larger than this route accepts",
    414: "The URL (its query string) is longer than the server reads",
    415: "The body is not of a type this route accepts",
    429: "Too many requests from this client (the gateway's rate limit); see Retry-After",
    502: "A service this one depends on failed",
    503: "A dependency (the database) is unavailable; see Retry-After",
}


def _facts(view) -> dict:
    return view.__dict__.setdefault("__openapi__", {"responses": {}, "problems": set()})


def describe(view, **facts):
    """Record facts about a view for the document (auth, query, body, ...)."""
    _facts(view).update(facts)
    return view


def query(schema: type[Schema]):
    """Load the query string with `schema` and pass it as `query=`; an empty value counts as
    not given (`?kind=&cursor=`), as many clients send optional parameters."""
    loader = schema()

    def decorator(view):
        describe(view, query=schema)

        @wraps(view)
        def wrapped(*args, **kwargs):
            values = {k: v for k, v in request.args.items() if v != ""}
            return view(*args, query=loader.load(values), **kwargs)

        return wrapped

    return decorator


def body(schema: type[Schema]):
    """Load the JSON body with `schema` and pass it as `body=`."""
    loader = schema()

    def decorator(view):
        describe(view, body=schema)

        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, body=json_body(loader), **kwargs)

        return wrapped

    return decorator


def form(schema: type[Schema]):
    """Describe a multipart/form-data body that the view reads itself (a streamed upload):
    the document shows `schema`; nothing is parsed here."""

    def decorator(view):
        return describe(view, form=schema)

    return decorator


def responds(status: int, schema: type[Schema] | None = None, description: str = "",
             headers: dict[str, str] | None = None, content_type: str = "application/json"):
    """Describe one answer of the view (no effect on the request)."""

    def decorator(view):
        _facts(view)["responses"][status] = (schema, description, headers or {}, content_type)
        return view

    return decorator


def problems(*statuses: int):
    """The problem statuses this view answers beyond the ones every route may."""

    def decorator(view):
        _facts(view)["problems"].update(statuses)
        return view

    return decorator


_CONVERTER = re.compile(r"<(?:(?P<converter>[a-z_]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _path_parameters(rule: str) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match: re.Match) -> str:
        converter, name = match["converter"] or "default", match["name"]
        schema = ({"type": "integer", "minimum": 1, "maximum": MAX_ID}
                  if converter in ("int", "id") else {"type": "string"})
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule), parameters


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": "Problem"}}}


def _operation(rule, view) -> dict:
    facts = _facts(view)
    doc = (view.__doc__ or "").strip()
    summary, _, rest = doc.partition("\n")
    operation = {"operationId": rule.endpoint, "summary": summary.strip(),
                 "tags": [rule.endpoint.split(".")[0]], "responses": {}}
    if rest.strip():
        operation["description"] = rest.strip()
    statuses = set(facts["problems"])
    auth = facts.get("auth")
    if auth:
        operation["security"] = [{"serviceToken": []}] if auth == "service" else [
            {"bearerAuth": []}]
        statuses |= {401, 403}
    parameters = []
    if facts.get("query"):
        parameters.append({"in": "query", "schema": facts["query"]})
        statuses |= {400, 414}
    if facts.get("body"):
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": facts["body"]}}}
        statuses |= {400, 413, 415}
    if facts.get("form"):
        operation["requestBody"] = {"required": True, "content": {
            "multipart/form-data": {"schema": facts["form"]}}}
        statuses |= {400, 413, 415}
    if "<" in rule.rule:
        statuses.add(404)
    if rule.rule.startswith("/api/"):
        statuses.add(429)  # the gateway's rate limit per client
    if parameters:
        operation["parameters"] = parameters
    for status, (schema, description, headers, content_type) in sorted(
            facts["responses"].items()):
        answer = {"description": description or "OK"}
        if schema is not None:
            answer["content"] = {content_type: {"schema": schema}}
        if headers:
            answer["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                 for name, text in headers.items()}
        operation["responses"][str(status)] = answer
    if facts.get("database", True):
        statuses.add(503)
    for status in sorted(statuses):
        operation["responses"].setdefault(str(status), _problem(PROBLEM_TEXT[status]))
    return operation


def build_document(app: Flask) -> dict:
    """The service's OpenAPI document: every /api/ and /internal/ route that describes itself,
    and the health endpoints under the gateway's /health/<service>/ paths."""
    spec = APISpec(title=f"Cohort Scale {app.name}", version=app.config["VERSION"],
                   openapi_version=OPENAPI_VERSION, plugins=[MarshmallowPlugin()],
                   info={"description": f"The {app.name} service, as seen through the gateway. "
                                        "Every error is RFC 9457 problem details."})
    spec.components.schema("Problem", schema=ProblemSchema)
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A person's token (HS256, or RS256 where the service has a public "
                       "key). Claims: sub, the user id as a string of ASCII digits (\"42\", "
                       "1..2^63-1; a JSON number is refused); role, student, mentor or admin; "
                       "cohort_id, a positive integer (optional); exp, a number of seconds "
                       "since 1970 (a string is refused). A token that breaks any of these "
                       "is a 401."})
    spec.components.security_scheme("serviceToken", {
        "type": "http", "scheme": "bearer",
        "description": "SERVICE_TOKEN; /internal/ routes only, through the internal listener"})
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "__openapi__" not in view.__dict__:
            continue
        path, parameters = _path_parameters(rule.rule)
        if rule.rule.startswith("/health/"):
            path = f"/health/{app.name}/" + path.removeprefix("/health/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = _operation(rule, view)
            operation["parameters"] = parameters + operation.get("parameters", [])
            if not operation["parameters"]:
                del operation["parameters"]
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def register_openapi(app: Flask) -> None:
    """Serve the document (public) at /api/<service>/openapi.json, built once."""
    built: list[bytes] = []

    def openapi():
        """This service's OpenAPI document."""
        if not built:
            built.append(json.dumps(build_document(current_app)).encode())
        return current_app.response_class(built[0], mimetype="application/json",
                                          headers={"Cache-Control": "public, max-age=300"})

    describe(openapi, database=False)
    responds(200, description="The OpenAPI 3 document")(openapi)
    app.add_url_rule(f"/api/{app.name}/openapi.json", "openapi", openapi)
