"""A file's bytes: nginx sends them (X-Accel-Redirect) from the local disk, S3 from a
presigned URL. Either way the service has checked who asks, on every request."""

from flask import current_app, redirect

from services import SERVICES
from services.storage import service, sniff
from services.storage.names import content_disposition

LOCATION = SERVICES["storage"].files.location


def served_type(content_type: str) -> str:
    """The Content-Type of the bytes: text was checked to be UTF-8, so it says so."""
    return f"{content_type}; charset=utf-8" if content_type == sniff.TEXT else content_type


def content_response(row):
    """The answer to a reader's GET of the file's content."""
    disposition = content_disposition(row.name)
    if row.backend == "s3":
        url = service.backends()["s3"].presigned_get(
            row.key, disposition=disposition, content_type=served_type(row.content_type),
            ttl=current_app.config["STORAGE_DOWNLOAD_TTL"])
        response = redirect(url, 302)
        # The URL must not outlive its signature in a cache, nor reach another user.
        response.headers["Cache-Control"] = "private, no-store"
        return response
    # nginx serves <STORAGE_DIR>/<key> through the internal location, Range requests
    # included; it keeps these headers. The embedded dispatcher does the same.
    return current_app.response_class(status=200, headers={
        "X-Accel-Redirect": LOCATION + row.key,
        "Content-Type": served_type(row.content_type),
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    })
