"""The storage app on a migrated database of each backend, over each store: the local disk
and S3 (moto's server, a real HTTP endpoint)."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.storage import create_app
from services.storage.db import db
from services.storage.models import StoredFile
from tests.storage.s3 import moto_server, new_bucket, s3_settings
from tests.support.databases import app_maker, migrated_database

STORES = ["local", "s3"]


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture(params=STORES)
def store(request) -> str:
    """Each storage test runs against the local disk and against S3."""
    return request.param


@pytest.fixture
def store_settings(request, store, tmp_path) -> dict[str, str]:
    """The settings that put the app's files in `store` (a fresh directory or bucket)."""
    settings = {"STORAGE_DIR": str(tmp_path / "files"), "USE_CLOUD_STORAGE": "off"}
    if store == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        settings |= {**s3_settings(endpoint, new_bucket(endpoint)), "USE_CLOUD_STORAGE": "on"}
    return settings


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with migrated_database(create_app, backend, tmp_path_factory, "storage") as url:
        yield url


@pytest.fixture
def make_app(database_url, store_settings):
    """Build apps on the test database and store with config overrides; rows go after."""
    with app_maker(create_app, database_url, **store_settings) as make:
        yield make


@pytest.fixture
def app(make_app):
    return make_app()


def upload(client, headers, data: bytes, name: str = "file.bin", purpose: str = "submission",
           content_type: str = "application/octet-stream"):
    """POST a multipart upload through the service: the purpose field, then the file."""
    form = {"purpose": purpose, "file": (io.BytesIO(data), name, content_type)}
    return client.post("/api/storage/files", data=form, headers=headers,
                       content_type="multipart/form-data")


@pytest.fixture
def contents(app):
    """Everything the app's backends hold: objects and unfinished uploads."""

    def listing() -> dict:
        found = {}
        future = datetime.now(UTC) + timedelta(days=1)
        for name, backend in app.extensions["storage.backends"].items():
            found |= {f"{name}:{o.key}": o.size for o in backend.objects()}
            if backend.remove_unfinished(future, dry_run=True):
                found[f"{name}:unfinished"] = True
        return found

    return listing


@pytest.fixture
def row_count(app):
    """How many rows (files and pending uploads) the database holds."""

    def count() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(StoredFile))

    return count
