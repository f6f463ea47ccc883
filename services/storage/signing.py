"""The signed upload URLs of direct uploads to the local disk (S3 presigns its own)."""

import hashlib
import hmac

from flask import current_app


def _signature(file_id: int, key: str, size: int, expires: int) -> str:
    secret = (current_app.config["SERVICE_TOKEN"] + ":storage-upload").encode()
    message = f"{file_id}:{key}:{size}:{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def upload_url(file_id: int, key: str, size: int, expires: int) -> str:
    """This service's URL that takes the upload of `size` bytes to `key` until `expires`
    (seconds since 1970), relative to the gateway's base URL."""
    signature = _signature(file_id, key, size, expires)
    return f"/api/storage/uploads/{file_id}/object?expires={expires}&signature={signature}"


def valid(file_id: int, key: str, size: int, expires: int, signature: str) -> bool:
    # As bytes: compare_digest refuses str with anything but ASCII in it.
    return hmac.compare_digest(_signature(file_id, key, size, expires).encode(),
                               signature.encode())
