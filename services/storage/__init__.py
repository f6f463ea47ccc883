"""The storage service: files on the local disk or in S3, behind one API."""

from pathlib import Path

from flask import Flask

from services import SERVICES
from services.storage.backends import make_backends
from services.storage.cli import register_commands
from services.storage.db import db
from services.storage.routes import api, register_errors
from shared.app import create_service_app
from shared.config import ConfigError, Setting, choice, number, text, url
from shared.db import register_db

MIGRATIONS = str(Path(__file__).parent / "migrations")
INFO = SERVICES["storage"]
MIB = 1 << 20
FORM_OVERHEAD = 64 << 10  # the multipart form around the file: boundaries, fields, headers


def optional_url(raw: str) -> str:
    return url("http", "https")(raw)


SETTINGS = [
    Setting(INFO.files.setting, text, INFO.files.default_directory,
            "directory of the stored files on the local disk (the gateway serves it too)"),
    Setting("STORAGE_AVATAR_MAX_BYTES", number(int, 1, 1 << 40), 2 * MIB,
            "largest avatar in bytes"),
    Setting("STORAGE_SUBMISSION_MAX_BYTES", number(int, 1, 1 << 40), 50 * MIB,
            "largest submission in bytes (raise STORAGE_MAX_BODY_BYTES with it)"),
    Setting("STORAGE_QUOTA_BYTES", number(int, 1, 1 << 50), 1 << 30,
            "bytes each owner may store, pending direct uploads included"),
    Setting("STORAGE_UPLOAD_TTL", number(int, 60, 7 * 86400), 3600,
            "seconds a direct upload may take before it expires"),
    Setting("STORAGE_DOWNLOAD_TTL", number(int, 1, 3600), 60,
            "seconds a presigned S3 download URL lives: the most a deleted file's URL can "
            "outlive it"),
    Setting("STORAGE_ORPHAN_AGE", number(int, 0, 30 * 86400), 3600,
            "seconds before cleanup-storage removes an object with no file or an unfinished "
            "upload (uploads in progress are younger)"),
    Setting("S3_BUCKET", text, "", "bucket of the files (required with USE_CLOUD_STORAGE)"),
    Setting("S3_ENDPOINT_URL", optional_url, "",
            "an S3-compatible endpoint (MinIO, moto); empty: AWS"),
    Setting("S3_REGION", text, "us-east-1", "region of the bucket"),
    Setting("S3_ADDRESSING_STYLE", choice("auto", "path", "virtual"), "auto",
            "bucket in the host name (virtual) or in the path"),
    Setting("S3_CONNECT_TIMEOUT", number(float, 0.05, 60), 2.0, "seconds to connect to S3"),
    Setting("S3_READ_TIMEOUT", number(float, 0.05, 600), 10.0,
            "seconds S3 may take to answer one call"),
    Setting("S3_MAX_ATTEMPTS", number(int, 1, 10), 2, "attempts of one S3 call (1: no retry)"),
    Setting("S3_PART_BYTES", number(int, 5 * MIB, 1 << 30), 8 * MIB,
            "part size of multipart uploads: the memory an upload holds"),
]


def check_config(config: dict) -> None:
    """What single settings cannot say: limits within the body limit, S3 when it is used."""
    largest = max(config["STORAGE_AVATAR_MAX_BYTES"], config["STORAGE_SUBMISSION_MAX_BYTES"])
    if largest + FORM_OVERHEAD > config["MAX_BODY_BYTES"]:
        raise ConfigError(f"STORAGE_MAX_BODY_BYTES ({config['MAX_BODY_BYTES']}) must exceed the "
                          f"largest file limit ({largest}) by {FORM_OVERHEAD} bytes for the form")
    flag = config["FLAGS"]["USE_CLOUD_STORAGE"]
    if flag.percent > 0 and not config["S3_BUCKET"]:
        raise ConfigError("S3_BUCKET is required with USE_CLOUD_STORAGE on")


def create_app(config=None) -> Flask:
    app = create_service_app(INFO, __name__, SETTINGS, config)
    check_config(app.config)
    register_db(app, db, MIGRATIONS)
    app.extensions["storage.backends"] = make_backends(app.config)
    app.register_blueprint(api)
    register_errors(app)
    register_commands(app)
    return app
