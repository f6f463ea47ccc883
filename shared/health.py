"""The health endpoints (IETF health-check draft), with results cached for a second."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, json
from sqlalchemy import text

HEALTH_JSON = "application/health+json"
CACHE_SECONDS = 1.0

bp = Blueprint("health", __name__, url_prefix="/health")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _timed(check: Callable[[], None]) -> tuple[bool, float, str]:
    started = time.perf_counter()
    try:
        check()
        ok, output = True, ""
    except Exception as exc:  # a failing dependency is a result here, not an error
        ok, output = False, f"{type(exc).__name__}: {exc}"[:300]
    return ok, round((time.perf_counter() - started) * 1000, 2), output


def _database_check() -> None:
    db = current_app.extensions["sqlalchemy"]
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _cache_check() -> None:
    if not current_app.extensions["cohort.cache"].ping():
        raise ConnectionError("the cache does not answer; the service goes on without it")


class Readiness:
    """Runs the checks at most once a CACHE_SECONDS per process, so probes cost nothing."""

    def __init__(self):
        self._lock = threading.Lock()
        self._report: dict | None = None
        self._at = 0.0

    def report(self) -> dict:
        with self._lock:
            if self._report is None or time.monotonic() - self._at > CACHE_SECONDS:
                self._report, self._at = self._run(), time.monotonic()
            return self._report

    @staticmethod
    def _run() -> dict:
        checks, statuses = {}, []
        # (name, check, status when it fails): the cache fails open, so only warns.
        for name, check, failed in (("database", _database_check, "fail"),
                                    ("cache", _cache_check, "warn")):
            ok, millis, output = _timed(check)
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


@bp.get("/live/")
def live():
    return _answer({"status": "pass"})


@bp.get("/ready/")
def ready():
    return _answer(current_app.extensions["cohort.readiness"].report())


@bp.get("/")
def health():
    config = current_app.config
    return _answer({
        **current_app.extensions["cohort.readiness"].report(),
        "serviceId": current_app.name,
        "version": config["VERSION"],
        "releaseId": config["RELEASE_ID"],
        "flags": {name: str(value) for name, value in config["FLAGS"].items()},
    })


def register_health(app: Flask) -> None:
    app.extensions["cohort.readiness"] = Readiness()
    app.register_blueprint(bp)
