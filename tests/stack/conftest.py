"""Full-stack fixtures: the real gateway and gunicorn processes on free loopback ports."""

import itertools
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

from cohort.stack import Stack
from services import SERVICES
from shared.flags import FLAGS
from tests.conftest import Tokens
from tests.gateway.support import free_ports
from tests.support.databases import migrate
from tests.support.servers import require_nginx

JWT_SECRET = "stack-tests-jwt-secret-not-the-dev-one"
SERVICE_TOKEN = "stack-tests-service-token"
tokens = Tokens({"JWT_SECRET": JWT_SECRET, "SERVICE_TOKEN": SERVICE_TOKEN})
_user_ids = itertools.count(1000)


def stack_env(**extra: str) -> dict[str, str]:
    """Production settings, every flag explicit so a developer's exported flags do not leak in."""
    return {
        "COHORT_ENV": "production", "JWT_SECRET": JWT_SECRET, "SERVICE_TOKEN": SERVICE_TOKEN,
        "LOG_LEVEL": "INFO", **{name: "off" for name in FLAGS}, **extra,
    }


def own_places(workdir) -> dict[str, str]:
    """What production requires of every service, under the test's directory: a database
    (SQLite, unmigrated: a test that uses a service gives it a real one) and the directory a
    service keeps its files in."""
    places = {f"{name.upper()}_DATABASE_URL": f"sqlite:///{workdir}/{name}.db"
              for name in SERVICES}
    places |= {info.files.setting: f"{workdir}/files/{name}"
               for name, info in SERVICES.items() if info.files}
    return places


@contextmanager
def running_stack(workdir, env: dict[str, str], services=None):
    """A started and ready Stack of `services` (default: every one in the registry), each on
    a free port; stopped (every process reaped) on the way out."""
    require_nginx()
    env = {**env, **own_databases(workdir, env, services)}
    port, internal, *ports = free_ports(2 + len(SERVICES))
    stack = Stack(workdir, {**own_places(workdir), **env}, port=port, internal_port=internal,
                  workers=2, service_ports=dict(zip(SERVICES, ports, strict=True)),
                  services=services)
    with stack:
        yield stack


def own_databases(workdir, env: dict[str, str], services=None) -> dict[str, str]:
    """A migrated SQLite database for each service the test gives none: a test about one
    service still starts the others ready, however many the registry gains."""
    given = {**os.environ, **env}
    urls = {}
    for name, info in SERVICES.items():
        key = f"{info.env_prefix}DATABASE_URL"
        if (services is None or name in services) and not given.get(key):
            urls[key] = f"sqlite:///{Path(workdir).resolve() / f'{name}.db'}"
            migrate(info.create_app, urls[key])
    return urls


def new_user() -> int:
    return next(_user_ids)


def notify(stack: Stack, user_id: int, count: int, kind: str = "dashboard") -> None:
    """Create notifications the way another service does: through the internal listener."""
    for i in range(count):
        response = requests.post(
            f"{stack.internal_url}/internal/notifications/", headers=tokens.service, timeout=10,
            json={"user_ids": [user_id], "kind": kind, "category": "review",
                  "title": f"Review {i} is in", "body": "Your mentor left comments. " * 3,
                  "link": f"/submissions/{i}", "dedupe_key": uuid.uuid4().hex})
        assert response.status_code == 201, response.text
