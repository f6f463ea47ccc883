"""HTTP routes of the storage service: parse, call the service, dump."""

from flask import Blueprint, Flask, request

from services.storage import downloads, service, uploads
from services.storage.backends import StorageUnavailable
from services.storage.schemas import (
    DirectFile,
    FileOut,
    FilePage,
    FileUpload,
    ListArgs,
    NewUpload,
    UploadOut,
    UploadSignature,
    dump_file,
)
from shared.api import body, describe, form, problems, query, responds
from shared.auth import current_principal, user_required
from shared.errors import problem_response

api = Blueprint("storage", __name__, url_prefix="/api/storage")

CONTENT_HEADERS = {"Content-Disposition": "attachment, with the file's name",
                   "X-Content-Type-Options": "nosniff"}


@api.post("/files")
@user_required
@form(FileUpload)
@responds(201, FileOut, "The stored file", {"Location": "the file's URL"})
def upload_file():
    """Upload a file through the service, streamed: the purpose field first, then file.

    The bytes decide the content type (415 when the purpose does not allow it); a file over
    the purpose's limit or the caller's quota is cut off there (413) and nothing is kept.
    """
    row = uploads.upload(current_principal(), request.stream, request.content_type)
    return dump_file(row), 201, {"Location": f"{request.path.rstrip('/')}/{row.id}"}


@api.get("/files")
@user_required
@query(ListArgs)
@responds(200, FilePage, "A page of the owner's files, newest first")
@problems(403, 404)
def list_files(query):
    """The caller's files; with owner, another's (their cohort's mentor, or an admin).

    A student naming another owner gets 403; a mentor naming a student with no file in the
    mentor's cohort gets 404 (the service knows a cohort only from the files stored in it).
    """
    rows, next_cursor = service.list_files(current_principal(), **query)
    return {"items": [dump_file(row) for row in rows], "next_cursor": next_cursor}


@api.get("/files/<id:file_id>")
@user_required
@responds(200, FileOut, "The file's metadata")
def get_file(file_id):
    """A file the caller may read: the owner, a mentor of the owner's cohort, an admin."""
    return dump_file(service.readable(current_principal(), file_id))


@api.get("/files/<id:file_id>/content")
@user_required
@responds(200, None, "The bytes, sent by the gateway (ranges honoured)", CONTENT_HEADERS,
          content_type="application/octet-stream")
@responds(206, None, "The range asked for", CONTENT_HEADERS,
          content_type="application/octet-stream")
@responds(302, None, "S3: the bytes are at Location, a presigned URL of a minute",
          {"Location": "a short-lived presigned URL"})
def file_content(file_id):
    """The file's bytes, as an attachment, to a reader; checked on every request."""
    return downloads.content_response(service.readable(current_principal(), file_id))


@api.delete("/files/<id:file_id>")
@user_required
@responds(204, None, "Deleted: the metadata and the bytes")
@problems(403)
def delete_file(file_id):
    """Delete a file: its owner or an admin (a mentor who may read it: 403)."""
    service.delete_file(current_principal(), file_id)
    return "", 204


@api.post("/uploads")
@user_required
@body(NewUpload)
@responds(201, UploadOut, "Where to send the bytes: POST fields, then file, to url")
def begin_upload(body):
    """Begin a direct upload; the announced size counts toward the quota until it completes
    or expires. Then POST the form fields and the file (last) to url, and complete it."""
    return uploads.begin(current_principal(), **body), 201


@api.post("/uploads/<id:file_id>/complete")
@user_required
@responds(200, FileOut, "The file, its bytes checked")
@problems(409, 413, 415)
def complete_upload(file_id):
    """Check the uploaded bytes and make them a file (409: missing, size or sha256 wrong).

    A wrong type (415) or size (413) removes the upload for good.
    """
    return dump_file(uploads.complete(current_principal(), file_id))


@api.post("/uploads/<id:file_id>/object")
@query(UploadSignature)
@form(DirectFile)
@responds(204, None, "Received; now complete the upload")
@problems(403, 413)
def receive_upload(file_id, query):
    """The signed upload URL of a direct upload to the local disk (no token: the signature
    is the permission, as with S3's presigned POST)."""
    uploads.receive(file_id, query["expires"], query["signature"], request.stream,
                    request.content_type)
    return "", 204


describe(receive_upload, auth=None)


def register_errors(app: Flask) -> None:
    @app.errorhandler(StorageUnavailable)
    def storage_unavailable(exc):
        return problem_response(503, "The file store is unavailable; try again shortly.",
                                headers={"Retry-After": "5"})
