"""The health endpoints (IETF health-check draft), with results cached for a second."""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, json
from marshmallow import fields, validate
from sqlalchemy import text
from werkzeug.utils import import_string

from shared.api import ResponseSchema, describe, responds
from shared.dbguard import statement_deadline

HEALTH_JSON = "application/health+json"
CACHE_SECONDS = 1.0
READY_BUDGET = 1.0  # seconds the database check may take (connecting may take 2)

bp = Blueprint("health", __name__, url_prefix="/health")
log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CheckFailed(Exception):
    """A dependency is not usable; the message is safe to show on the public health page."""


def _timed(name: str, check: Callable[[], None]) -> tuple[bool, float, str]:
    started = time.perf_counter()
    try:
        check()
        ok, output = True, ""
    except CheckFailed as exc:
        ok, output = False, str(exc)
    except Exception as exc:  # a failing dependency is a result here, not an error
        # The driver's text names hosts and ports: it goes to the log, not the public page.
        log.warning("readiness check %s failed: %s: %s", name, type(exc).__name__,
                    str(exc)[:500])
        ok, output = False, f"{name} unreachable"
    return ok, round((time.perf_counter() - started) * 1000, 2), output


def _database_check() -> None:
    db = current_app.extensions["sqlalchemy"]
    with statement_deadline(READY_BUDGET), db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _cache_check() -> None:
    if not current_app.extensions["cohort.cache"].ping():
        raise CheckFailed("the cache does not answer; the service goes on without it")


class Readiness:
    """Runs the checks at most once a CACHE_SECONDS per process, so probes cost nothing."""

    def __init__(self, checks: Iterable[tuple[str, Callable[[], None], str]]):
        # (name, check, status when it fails): the cache fails open, so only warns.
        self.checks = [("database", _database_check, "fail"), ("cache", _cache_check, "warn"),
                       *checks]
        self._lock = threading.Lock()
        self._report: dict | None = None
        self._at = 0.0

    def report(self) -> dict:
        with self._lock:
            if self._report is None or time.monotonic() - self._at > CACHE_SECONDS:
                self._report, self._at = self._run(), time.monotonic()
            return self._report

    def _run(self) -> dict:
        checks, statuses = {}, []
        for name, check, failed in self.checks:
            ok, millis, output = _timed(name, check)
            status = "pass" if ok else failed
            statuses.append(status)
            checks[f"{name}:responseTime"] = [{
                "status": status, "observedValue": millis, "observedUnit": "ms",
                "time": _now(), "output": output,
            }]
        overall = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
        return {"status": overall, "checks": checks}


def _answer(body: dict):
    status = 503 if body["status"] == "fail" else 200
    return current_app.response_class(
        json.dumps(body), status=status, mimetype=HEALTH_JSON,
        headers={"Cache-Control": "no-store"},
    )


STATUSES = validate.OneOf(("pass", "warn", "fail"))


class CheckResult(ResponseSchema):
    status = fields.String(required=True, validate=STATUSES)
    observedValue = fields.Float()
    observedUnit = fields.String()
    time = fields.String()
    output = fields.String()


class HealthReport(ResponseSchema):
    status = fields.String(required=True, validate=STATUSES)
    checks = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(CheckResult)),
                         metadata={"description": 'keyed like "database:responseTime"'})
    serviceId = fields.String()
    version = fields.String()
    releaseId = fields.String()
    flags = fields.Dict(keys=fields.String(), values=fields.String())


HEALTH = {"schema": HealthReport, "content_type": HEALTH_JSON,
          "description": "status pass, warn or fail, and a result per dependency"}


@bp.get("/live/")
@responds(200, **HEALTH)
def live():
    """Whether the process can serve (no dependency is checked)."""
    return _answer({"status": "pass"})


@bp.get("/ready/")
@responds(200, **HEALTH)
@responds(503, **HEALTH)
def ready():
    """Whether the service can take traffic: the database and its other dependencies."""
    return _answer(current_app.extensions["cohort.readiness"].report())


@bp.get("/")
@responds(200, **HEALTH)
@responds(503, **HEALTH)
def health():
    """The readiness report with the service's id, version, release and flags."""
    config = current_app.config
    return _answer({
        **current_app.extensions["cohort.readiness"].report(),
        "serviceId": current_app.name,
        "version": config["VERSION"],
        "releaseId": config["RELEASE_ID"],
        "flags": {name: str(value) for name, value in config["FLAGS"].items()},
    })


for _view in (live, ready, health):
    describe(_view, database=False)


def register_health(app: Flask, checks=()) -> None:
    """The health endpoints; `checks` are the registry's extra readiness checks."""
    app.extensions["cohort.readiness"] = Readiness(
        (c.name, import_string(c.target.replace(":", ".")), "fail" if c.required else "warn")
        for c in checks)
    app.register_blueprint(bp)
