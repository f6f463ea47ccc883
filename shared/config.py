"""Configuration from the environment, validated once at start."""

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("COHORT_VAR_DIR", ROOT / "var"))
DEV_JWT_SECRET = "cohort-dev-secret-change-me-in-production"
DEV_SERVICE_TOKEN = "cohort-dev-service-token"
ENVIRONMENTS = ("development", "test", "production")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to parse it, its default, and when it is required."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    required_in_production: bool = False
    secret: bool = False  # its value may hold a password or key: never echoed in errors


def number(kind: type, low: float | None = None, high: float | None = None) -> Callable:
    """A parser for an int or float within [low, high]."""

    def parse(raw: str):
        value = kind(raw)
        if value != value:  # NaN passes every comparison below
            raise ValueError("must be a number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return raw

    return parse


def url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        scheme = raw.split(":", 1)[0].split("+", 1)[0]
        if "://" not in raw or scheme not in schemes:
            raise ValueError(f"expected a URL with scheme {' or '.join(schemes)}")
        return raw

    return parse


def text(raw: str) -> str:
    return raw


def pem_or_path(raw: str) -> str:
    """A PEM public key given inline, or the path of a file that holds one."""
    if "-----BEGIN" not in raw:
        path = Path(raw)
        if not path.is_file():
            raise ValueError("expected a PEM key or the path of a readable file")
        raw = path.read_text()
    # Loaded now, so a garbled key (or a private one) stops the start instead of
    # refusing every token later.
    try:
        load_pem_public_key(raw.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key ({exc})") from None
    return raw


def common_settings(service: str, max_body: int = 1 << 20) -> list[Setting]:
    """The settings every service reads; `service` picks the embedded defaults, `max_body`
    is the registry's body limit."""
    return [
        Setting("COHORT_ENV", choice(*ENVIRONMENTS), "development",
                "development or test (embedded defaults allowed) or production"),
        Setting("DATABASE_URL", url("sqlite", "postgresql"),
                f"sqlite:///{VAR_DIR / (service + '.db')}",
                "SQLAlchemy URL of the service's own database", required_in_production=True,
                secret=True),
        Setting("DATABASE_CONNECT_TIMEOUT", number(int, 2, 60), 2,
                "seconds to open a database connection (libpq's minimum is 2)"),
        Setting("DATABASE_STATEMENT_TIMEOUT", number(float, 0.1, 3600), 5.0,
                "seconds a statement may run (the server cancels it; a second later the "
                "client cuts the connection, for a database that does not answer at all)"),
        Setting("DATABASE_COMMAND_TIMEOUT", number(float, 1, 7 * 86400), 3600.0,
                "seconds a statement of a command (a migration, a recompute, a purge) may "
                "run: commands take longer than requests"),
        Setting("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", number(float, 1, 3600), 10.0,
                "seconds a transaction may sit idle before the server ends it"),
        Setting("DATABASE_POOL_TIMEOUT", number(float, 0.1, 60), 2.0,
                "seconds a request waits for a pooled connection"),
        Setting("DATABASE_TCP_USER_TIMEOUT", number(float, 1, 600), 10.0,
                "seconds sent data may stay unacknowledged before the connection is dropped "
                "(keepalives probe idle ones from 10s on)"),
        Setting("DATABASE_RETRY_AFTER", number(float, 0.1, 600), 2.0,
                "seconds a process fails database requests at once after one timed out, "
                "while a probe checks whether the database answers again"),
        Setting("CACHE_URL", url("redis", "rediss", "memory", "null"), "memory://",
                "redis://host:port/db (rediss:// for TLS), memory:// (one process only) "
                "or null:// (no cache)",
                secret=True),
        Setting("CACHE_SOCKET_TIMEOUT", number(float, 0.001, 10), 0.1,
                "seconds a cache call may take before the service goes on without it"),
        Setting("CACHE_RETRY_AFTER", number(float, 0, 600), 5.0,
                "seconds the cache is left alone after it failed"),
        Setting("CACHE_LEASE_SECONDS", number(float, 1, 20), 5.0,
                "seconds a cache lease lets values be served: the longest a write waits "
                "when Redis cannot take its invalidation, and how long cached values are "
                "served while the database is down"),
        Setting("JWT_SECRET", text, DEV_JWT_SECRET, "HS256 secret that signs user tokens"),
        Setting("JWT_PUBLIC_KEY", pem_or_path, "",
                "RS256 public key (PEM or a file path); when set, HS256 is refused",
                secret=True),  # a private key pasted by mistake must not reach the logs
        Setting("SERVICE_TOKEN", text, DEV_SERVICE_TOKEN,
                "bearer token services present on /internal/", required_in_production=True),
        Setting("SERVICES_URL", url("http", "https"), "http://127.0.0.1:8000",
                "base URL through which services call each other (the gateway)"),
        Setting("HTTP_CONNECT_TIMEOUT", number(float, 0.01, 60), 1.0,
                "seconds to connect to another service"),
        Setting("HTTP_READ_TIMEOUT", number(float, 0.01, 600), 5.0,
                "seconds to wait for another service's answer"),
        Setting("HTTP_RETRIES", number(int, 0, 10), 2, "retries of an idempotent call"),
        Setting("SLOW_QUERY_MS", number(float, 0, 60000), 100.0,
                "with LOG_QUERY_TIMES, queries slower than this are logged"),
        Setting("MAX_BODY_BYTES", number(int, 1024, 1 << 40), max_body,
                "largest request body the service reads (set <SERVICE>_MAX_BODY_BYTES, which "
                "the gateway reads too)"),
        Setting("LOG_LEVEL", choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", "log level"),
        Setting("RELEASE_ID", text, "dev", "release identifier shown at /health/"),
    ]


def load_settings(settings: Iterable[Setting], environ: Mapping[str, str] | None = None,
                  prefix: str = "") -> dict:
    """Parse every setting from `environ`; raise ConfigError naming the first bad one.

    With a `prefix` (NOTIFICATIONS_), a prefixed variable wins over the plain one, so one
    environment can give each service its own DATABASE_URL.
    """
    environ = os.environ if environ is None else environ
    settings = list(settings)
    production = environ.get("COHORT_ENV") == "production"
    values = {}
    for setting in settings:
        name = setting.name
        if prefix and environ.get(prefix + setting.name):
            name = prefix + setting.name
        raw = environ.get(name)
        if raw is None or raw == "":
            if production and setting.required_in_production:
                raise ConfigError(f"{setting.name} is required in production: {setting.help}")
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except (ValueError, OSError) as exc:
            shown = name if setting.secret else f"{name}={raw!r}"
            raise ConfigError(f"{shown} is invalid: {exc}") from None
    if production and values.get("JWT_SECRET") == DEV_JWT_SECRET and not values.get(
        "JWT_PUBLIC_KEY"
    ):
        raise ConfigError("JWT_SECRET or JWT_PUBLIC_KEY is required in production")
    several_processes = environ.get("GUNICORN_WORKERS", "1") not in ("", "1")
    if (production or several_processes) and values.get("CACHE_URL", "").startswith("memory"):
        # Each worker would hold its own copy: a write in one would not reach the others.
        raise ConfigError("CACHE_URL=memory:// is for one process only; use redis://... "
                          "(or null:// for no cache) in production or with several workers")
    return values
