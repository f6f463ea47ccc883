"""A clean environment for the `cohort` command, and the notifications app behind the dispatcher."""

import os

import pytest

from services import SERVICES
from services.notifications import create_app
from shared.config import common_settings
from shared.flags import FLAGS
from tests.support.databases import migrate, temporary_database


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The commands read the environment: drop what a developer or CI may have exported."""
    names = [*(s.name for s in common_settings("any")), *FLAGS, "PROMETHEUS_MULTIPROC_DIR",
             *(f"{name.upper()}_DATABASE_URL" for name in SERVICES)]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("USE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def notifications_url(tmp_path_factory):
    """A migrated SQLite database for the dispatcher's notifications app."""
    with temporary_database("sqlite", tmp_path_factory, "embedded") as url:
        migrate(create_app, url)
        yield url


@pytest.fixture
def service_apps(notifications_url):
    return {"notifications": create_app({"DATABASE_URL": notifications_url,
                                         "COHORT_ENV": "test"})}
