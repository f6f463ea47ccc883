"""The embedded mode: every service in one process, under the gateway's URL paths."""

import io
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, json
from werkzeug.exceptions import NotFound
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.utils import send_from_directory

from services import SERVICES
from shared.app import VERSION
from shared.errors import PROBLEMS, problem_response
from shared.health import HEALTH_JSON
from shared.observability import REQUEST_ID_HEADER, VALID_REQUEST_ID

STATIC_DIR = Path(__file__).parent / "static"
REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
# What nginx keeps of a service's answer when it sends a file for it (X-Accel-Redirect).
KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Cache-Control", REQUEST_ID_HEADER)
# Paths the gateway owns: never looked up among the static files.
ROUTED = ("api", "internal", "health", "metrics")
GATEWAY_HEALTH = re.compile(r"^/health/gateway(/|/live/?|/ready/?)?$")


class Dispatcher:
    """A WSGI app that routes like the nginx gateway.

    `/api/<name>...` and `/internal/<name>...` go to the service as they are (its routes
    carry the prefix), a body over the service's limit refused first with 413 as nginx does;
    `/health/<name>/...` goes to the service's `/health/...`; `/health/gateway/...` and
    `/services.json` are answered here; `/metrics` is hidden; anything else is a static file
    of `gateway/static/`. Every error is problem JSON. An answer with X-Accel-Redirect to a
    service's served files is replaced by the file, as nginx does (Range requests included).
    """

    def __init__(self, apps: Mapping[str, Flask] | None = None, static_dir: Path = STATIC_DIR):
        self.apps = dict(apps or {})
        self.static_dir = Path(static_dir)

    def __call__(self, environ, start_response):
        # Like nginx: keep the caller's request id if valid, or make one, and pass it on.
        request_id = environ.get(REQUEST_ID_KEY, "")
        if not VALID_REQUEST_ID.match(request_id):
            request_id = environ[REQUEST_ID_KEY] = uuid.uuid4().hex
        path = environ.get("PATH_INFO") or "/"
        app = self._service_for(environ, path)
        if app is not None and _within_limit(environ, app.config["MAX_BODY_BYTES"],
                                             SERVICES[app.name].stream_bodies):
            if SERVICES[app.name].files is not None:
                return self._sending_files(app, SERVICES[app.name].files, environ,
                                           start_response)
            return app(environ, start_response)
        if app is not None:
            response = _problem(413, path, request_id)
        else:
            response = self._answer(environ, path, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response(environ, start_response)

    def _service_for(self, environ, path: str) -> Flask | None:
        parts = path.split("/", 3)  # "", head, service name, rest
        if len(parts) < 3 or parts[2] not in self.apps:
            return None
        head, app = parts[1], self.apps[parts[2]]
        if head in ("api", "internal"):
            return app
        if head == "health":
            environ["PATH_INFO"] = "/health/" + (parts[3] if len(parts) > 3 else "")
            return app
        return None

    @staticmethod
    def _sending_files(app: Flask, files, environ, start_response):
        """The service's answer; or, when it redirects to its files, the file itself."""
        answer = Response.from_app(app, environ)
        target = answer.headers.get("X-Accel-Redirect", "")
        if not target.startswith(files.location):
            return answer(environ, start_response)
        try:
            sent = send_from_directory(app.config[files.setting],
                                       target.removeprefix(files.location), environ)
        except NotFound:
            sent = _problem(404, environ.get("PATH_INFO", ""),
                            answer.headers.get(REQUEST_ID_HEADER, ""))
        else:
            for name in KEPT_HEADERS:
                if name in answer.headers:
                    sent.headers[name] = answer.headers[name]
            sent.headers["X-Content-Type-Options"] = "nosniff"
        return sent(environ, start_response)

    def _answer(self, environ, path: str, request_id: str) -> Response:
        if GATEWAY_HEALTH.match(path):
            return self._health()
        if path == "/services.json":
            return Response(json.dumps({"services": list(self.apps)}),
                            mimetype="application/json", headers={"Cache-Control": "no-cache"})
        if path.split("/", 2)[1] in ROUTED:
            return _problem(404, path, request_id)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _problem(405, path, request_id, headers={"Allow": "GET, HEAD"})
        relative = path.lstrip("/")
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        try:
            return send_from_directory(self.static_dir, relative, environ)
        except NotFound:
            return _problem(404, path, request_id)

    @staticmethod
    def _health() -> Response:
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = {"status": "pass", "serviceId": "gateway", "description": "embedded dispatcher",
                "version": VERSION, "time": now, "checks": {}}
        return Response(json.dumps(body), mimetype=HEALTH_JSON,
                        headers={"Cache-Control": "no-store"})


def _within_limit(environ, limit: int, stream: bool) -> bool:
    """Whether the request's body fits `limit` bytes, as nginx's client_max_body_size checks.

    A body sent without a length (chunked) is read here up to the limit, as nginx buffers
    it, and handed on with its length; a service that streams bodies gets it as it comes,
    and werkzeug cuts it off past the service's MAX_CONTENT_LENGTH with a 413.
    """
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return int(length) <= limit
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked":
        return True
    if stream:
        return True
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return False
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING")
    return True


def _problem(status: int, path: str, request_id: str, **kwargs) -> Response:
    title, detail = PROBLEMS[status]
    return problem_response(status, detail, title=title, instance=path, request_id=request_id,
                            **kwargs)


def make_embedded_server(host: str, port: int, dispatcher: Dispatcher) -> BaseWSGIServer:
    """Bind a threaded werkzeug server for the dispatcher (port 0 picks a free one)."""
    return make_server(host, port, dispatcher, threaded=True)
