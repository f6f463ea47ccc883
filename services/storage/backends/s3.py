"""S3 (or any S3-compatible endpoint) through boto3, with short timeouts and few retries.

Credentials come from the environment as boto3 reads them (AWS_ACCESS_KEY_ID, a profile, an
instance role). Every stored object has the neutral type application/octet-stream: the
type a client sees is the sniffed one, set on each presigned download, so an object fetched
from the bucket directly is never rendered as a page.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.storage.backends import (
    READ_CHUNK,
    Backend,
    Missing,
    StorageUnavailable,
    StoredObject,
)

log = logging.getLogger(__name__)
STORED_TYPE = "application/octet-stream"
NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def _unavailable(action: str, exc: Exception) -> StorageUnavailable:
    log.warning("S3 %s failed: %s: %s", action, type(exc).__name__, str(exc)[:300])
    return StorageUnavailable(f"S3 {action} failed")


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in NOT_FOUND


class S3Backend(Backend):
    """Objects in one bucket; uploads of a part or more go up as multipart uploads."""

    name = "s3"

    def __init__(self, config: dict):
        self.bucket = config["S3_BUCKET"]
        self.part_bytes = config["S3_PART_BYTES"]
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=config["S3_ENDPOINT_URL"] or None,
            region_name=config["S3_REGION"],
            config=Config(
                signature_version="s3v4",
                connect_timeout=config["S3_CONNECT_TIMEOUT"],
                read_timeout=config["S3_READ_TIMEOUT"],
                # A hanging endpoint costs a request at most attempts x timeouts.
                retries={"max_attempts": config["S3_MAX_ATTEMPTS"], "mode": "standard"},
                s3={"addressing_style": config["S3_ADDRESSING_STYLE"]},
            ))

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        """One PUT for a small object; parts of S3_PART_BYTES for a larger one, so memory
        holds one part at a time whatever the size."""
        buffer = bytearray()
        upload = None
        parts: list[dict] = []
        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) >= self.part_bytes:
                    upload = upload or self._begin(key)
                    parts.append(self._part(key, upload, len(parts) + 1, buffer))
                    buffer.clear()
            if upload is None:
                self._call("put", self.client.put_object, Bucket=self.bucket, Key=key,
                           Body=bytes(buffer), ContentType=STORED_TYPE)
                return
            if buffer:
                parts.append(self._part(key, upload, len(parts) + 1, buffer))
            self._call("complete upload", self.client.complete_multipart_upload,
                       Bucket=self.bucket, Key=key, UploadId=upload,
                       MultipartUpload={"Parts": parts})
        except BaseException:
            if upload is not None:
                self._abort(key, upload)
            raise

    def _begin(self, key: str) -> str:
        return self._call("begin upload", self.client.create_multipart_upload,
                          Bucket=self.bucket, Key=key, ContentType=STORED_TYPE)["UploadId"]

    def _part(self, key: str, upload: str, number: int, data: bytearray) -> dict:
        answer = self._call("upload part", self.client.upload_part, Bucket=self.bucket,
                            Key=key, UploadId=upload, PartNumber=number, Body=bytes(data))
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _abort(self, key: str, upload: str) -> None:
        """Best effort: an upload left open is removed by cleanup-storage later."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not abort the upload of %s: %s", key, exc)

    def _call(self, action: str, method, *, missing: str | None = None, **params):
        """`method(**params)`: S3 failing or unreachable is StorageUnavailable, and a key it
        does not have is Missing(`missing`) when that is given."""
        try:
            return method(**params)
        except ClientError as exc:
            if missing is not None and _not_found(exc):
                raise Missing(missing) from None
            raise _unavailable(action, exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(action, exc) from exc

    def size(self, key: str) -> int | None:
        try:
            return self._call("head", self.client.head_object, missing=key,
                              Bucket=self.bucket, Key=key)["ContentLength"]
        except Missing:
            return None

    def read(self, key: str, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        body = self._call("get", self.client.get_object, missing=key,
                          Bucket=self.bucket, Key=key)["Body"]
        with body:
            try:
                yield from body.iter_chunks(chunk_size)
            except BotoCoreError as exc:
                raise _unavailable("read", exc) from exc

    def move(self, source: str, target: str) -> None:
        """A copy inside the bucket (no bytes pass through here), then the source goes."""
        self._call("copy", self.client.copy_object, missing=source, Bucket=self.bucket,
                   Key=target, MetadataDirective="COPY",
                   CopySource={"Bucket": self.bucket, "Key": source})
        self.delete(source)

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=key)

    def objects(self) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"], item["Size"], item["LastModified"])
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("list", exc) from exc

    def remove_unfinished(self, older_than: datetime, dry_run: bool = False) -> int:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket)
        removed = 0
        try:
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < older_than:
                        if not dry_run:
                            self._abort(upload["Key"], upload["UploadId"])
                        removed += 1
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable("list uploads", exc) from exc
        return removed

    def check(self) -> None:
        self._call("head bucket", self.client.head_bucket, Bucket=self.bucket)

    def presigned_get(self, key: str, *, disposition: str, content_type: str,
                      ttl: int) -> str:
        """A URL that serves the object for `ttl` seconds as the given type and attachment."""
        return self.client.generate_presigned_url("get_object", ExpiresIn=ttl, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition})

    def presigned_post(self, key: str, *, size: int, ttl: int) -> tuple[str, dict]:
        """A form upload to exactly `key`, of exactly `size` bytes, typed STORED_TYPE."""
        answer = self.client.generate_presigned_post(
            self.bucket, key, ExpiresIn=ttl, Fields={"Content-Type": STORED_TYPE},
            Conditions=[{"Content-Type": STORED_TYPE}, ["content-length-range", size, size]])
        return answer["url"], answer["fields"]
