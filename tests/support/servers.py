"""Where the test servers are, and what a test does when one is missing.

Locally a missing PostgreSQL, Redis or nginx skips the tests that need it, naming it; with
CI=true (or COHORT_REQUIRE_SERVERS=1) every one is required and its absence fails.
"""

import os
import shutil
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

def _redis_url() -> str:
    """TEST_REDIS_URL; each pytest-xdist worker takes a database of its own below it (gw1
    the one under the given one, ...), as every test flushes the one it uses."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    server, _, db = base.rpartition("/")
    return f"{server}/{int(db) - int(worker or 0)}"


REDIS_URL = _redis_url()
REQUIRED = os.environ.get("CI", "").lower() == "true" or os.environ.get(
    "COHORT_REQUIRE_SERVERS") == "1"


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, available: bool, where: str) -> None:
    """Skip (locally) or fail (in CI) when a server the test needs is missing."""
    if available:
        return
    message = f"{name} is not available ({where})"
    if REQUIRED:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    require("PostgreSQL", reachable(POSTGRES_URL), POSTGRES_URL)


def require_redis() -> None:
    require("Redis", reachable(REDIS_URL), REDIS_URL)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)


def require_nginx() -> str:
    binary = nginx_binary()
    require("nginx", binary is not None, "not on PATH or in /usr/sbin")
    return binary


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
