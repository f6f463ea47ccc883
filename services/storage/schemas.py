"""Input and output shapes of the storage API."""

from marshmallow import fields, validate

from services.storage.policy import PURPOSES
from shared.api import ResponseSchema
from shared.db import isoformat_z
from shared.schemas import (
    MAX_ID,
    BodySchema,
    Id,
    QuerySchema,
    Text,
    UtcDateTime,
    cursor_field,
    limit_field,
)

SHA256 = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Must be 64 hexadecimal digits.")
# Longer names are shortened to 255 bytes; this only bounds what is read at all.
MAX_NAME_INPUT = 4096


def purpose_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(list(PURPOSES)), **kwargs)


def content_url(file_id: int) -> str:
    """Where a file's bytes are downloaded, relative to the gateway's base URL."""
    return f"/api/storage/files/{file_id}/content"


class UploadForm(BodySchema):
    """The fields of an upload form, before its file part."""

    purpose = purpose_field(required=True)


def file_field() -> fields.Raw:
    return fields.Raw(required=True, metadata={
        "type": "string", "format": "binary", "description": "the file: the form's last part"})


class FileUpload(BodySchema):
    """The upload form as documented: its fields, then the file."""

    purpose = purpose_field(required=True)
    file = file_field()


class DirectFile(BodySchema):
    """The form sent to a direct upload's URL: the fields given, then the file."""

    file = file_field()


class NewUpload(BodySchema):
    name = Text(required=True, validate=validate.Length(1, MAX_NAME_INPUT),
                metadata={"description": "shown name; cleaned (no path, no control "
                                         "characters) and cut to 255 bytes"})
    size = fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_ID),
                          metadata={"description": "exact size in bytes; over the purpose's "
                                                   "limit or the quota: 413"})
    purpose = purpose_field(required=True)
    sha256 = Text(load_default=None, validate=SHA256,
                  metadata={"description": "hex SHA-256 of the bytes, checked by complete"})


class ListArgs(QuerySchema):
    purpose = purpose_field()
    owner = Id(strict=False, metadata={"description": "another user's files: a mentor of "
                                                      "their cohort, or an admin"})
    limit = limit_field()
    cursor = cursor_field()


class UploadSignature(QuerySchema):
    expires = fields.Integer(required=True, validate=validate.Range(0, MAX_ID))
    signature = Text(required=True, validate=validate.Length(1, 128), single_line=True)


class FileOut(ResponseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    content_type = fields.String(required=True)
    sha256 = fields.String(required=True)
    purpose = purpose_field(required=True)
    owner_id = fields.Integer(required=True)
    created_at = UtcDateTime(required=True)
    download_url = fields.String(required=True, metadata={
        "description": "the bytes (GET), relative to the gateway's base URL"})


class FilePage(ResponseSchema):
    items = fields.List(fields.Nested(FileOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class UploadOut(ResponseSchema):
    file_id = fields.Integer(required=True)
    url = fields.String(required=True, metadata={
        "description": "where to POST the form: S3's URL, or this service's own upload URL "
                       "(relative to the gateway's base URL) on the local disk"})
    fields = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "form fields to send before the file"})
    expires_at = UtcDateTime(required=True)


def dump_file(row) -> dict:
    """A ready file as the API shows it."""
    return {
        "id": row.id, "name": row.name, "size": row.size, "content_type": row.content_type,
        "sha256": row.sha256, "purpose": row.purpose, "owner_id": row.owner_id,
        "created_at": isoformat_z(row.created_at), "download_url": content_url(row.id),
    }
