"""File names as clients send them, cleaned for showing; never used as a storage path."""

import unicodedata
from urllib.parse import quote

MAX_NAME_BYTES = 255
MAX_EXTENSION_CHARS = 16
FALLBACK = "file"


class BadName(ValueError):
    """A name no cleaning should guess at: NUL characters or broken Unicode."""


def check_name(raw: str) -> None:
    """Refuse what a client must fix rather than have silently changed."""
    if "\x00" in raw:
        raise BadName("Must not contain a NUL character.")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise BadName("Must be valid Unicode (a lone surrogate was found).") from None


def _shown(char: str) -> bool:
    # Cc: control characters; Cf: invisible formatting, such as the right-to-left override
    # that makes "cod\u202egnp.exe" read "codexe.png".
    return unicodedata.category(char) not in ("Cc", "Cf", "Cs")


def _truncate(name: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut at a character, keeping a short extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = limit - len(suffix.encode())
    return stem.encode()[:room].decode("utf-8", "ignore").rstrip() + suffix


def clean_name(raw: str) -> str:
    """The name's last path part, without control or formatting characters, at most 255
    bytes; "file" when nothing is left."""
    check_name(raw)
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if _shown(c)).strip()
    if name in ("", ".", ".."):
        return FALLBACK
    return _truncate(name, MAX_NAME_BYTES) or FALLBACK


def content_disposition(name: str) -> str:
    """`attachment` with the name: an ASCII fallback and the exact UTF-8 one (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace("\\", "_").replace('"', "_").strip() or FALLBACK
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
