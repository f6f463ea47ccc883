"""Signed opaque cursors for keyset pagination."""

import base64
import hashlib
import hmac
import json

from shared.errors import Problem

_SIG_BYTES = 12


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(values: list, secret: str) -> str:
    """An opaque token for `values` (the sort key of the last row served), signed."""
    payload = json.dumps(values, separators=(",", ":")).encode()
    signature = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{_b64(payload)}.{_b64(signature)}"


def decode_cursor(token: str, secret: str, length: int) -> list:
    """The values inside a cursor this service made; 400 for a garbled or forged one."""
    try:
        payload_b64, signature_b64 = token.split(".")
        payload, signature = _unb64(payload_b64), _unb64(signature_b64)
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
        if not hmac.compare_digest(signature, expected):
            raise ValueError("bad signature")
        values = json.loads(payload)
        if not isinstance(values, list) or len(values) != length:
            raise ValueError("bad shape")
    except (ValueError, TypeError, UnicodeDecodeError):
        raise Problem(400, "The cursor is not one this service issued; start from the first "
                           "page.", title="Invalid cursor") from None
    return values
