"""A file's content type, read from its bytes as they stream past: never the client's word.

Binary types are told by their magic numbers in the first bytes. Anything else is text if
every byte is valid UTF-8 without control characters (tabs, line and page breaks allowed),
and a Jupyter notebook if that text is a JSON object with an "nbformat" key. The notebook
test looks at the text's first and last characters and for the key, so a 50 MiB notebook is
never parsed whole; the service serves it as an attachment either way.
"""

import codecs
import re

PNG, JPEG, WEBP = "image/png", "image/jpeg", "image/webp"
PDF, ZIP = "application/pdf", "application/zip"
TEXT, NOTEBOOK = "text/plain", "application/x-ipynb+json"
UNKNOWN = "application/octet-stream"

MAGIC = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"%PDF-", PDF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty archive
)
HEAD_BYTES = 12  # enough for every magic number, WebP's "RIFF....WEBP" the longest
# UTF-8 never uses bytes below 0x80 inside a multi-byte character: checking bytes suffices.
CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
WHITESPACE = b" \t\r\n\x0b\x0c"
BOM = codecs.BOM_UTF8
NBFORMAT = b'"nbformat"'


def _magic(head: bytes) -> str | None:
    for prefix, kind in MAGIC:
        if head.startswith(prefix):
            return kind
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


class Sniffer:
    """Feed a file's bytes in order. `known` is its type as soon as the bytes settle it (a
    magic number, or UNKNOWN once they cannot be text); `finish()` gives the final answer."""

    def __init__(self):
        self.known: str | None = None
        self._head = b""
        self._text = True
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._first = b""  # first non-blank byte of the text
        self._last = b""  # last non-blank byte so far
        self._tail = b""  # the end of the bytes so far, for a key split between chunks
        self._nbformat = False

    def feed(self, chunk: bytes) -> None:
        if self.known is not None or not chunk:
            return
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[:HEAD_BYTES - len(self._head)]
            if len(self._head) >= HEAD_BYTES:
                self.known = _magic(self._head) or (None if self._text else UNKNOWN)
                if self.known is not None:
                    return
        if self._text:
            self._feed_text(chunk)

    def _feed_text(self, chunk: bytes) -> None:
        if CONTROL.search(chunk):
            return self._not_text()
        try:
            self._decoder.decode(chunk)
        except UnicodeDecodeError:
            return self._not_text()
        stripped = chunk.strip(WHITESPACE)
        if stripped:
            if not self._first:
                self._first = stripped.removeprefix(BOM).lstrip(WHITESPACE)[:1]
            self._last = stripped[-1:]
        if not self._nbformat:
            window = self._tail + chunk
            self._nbformat = NBFORMAT in window
            self._tail = window[-(len(NBFORMAT) - 1):]
        return None

    def _not_text(self) -> None:
        self._text = False
        if len(self._head) >= HEAD_BYTES:
            self.known = UNKNOWN

    def finish(self) -> str:
        """The type of the whole file (call once every byte was fed)."""
        if self.known is not None:
            return self.known
        magic = _magic(self._head)
        if magic is not None:
            return magic
        if not self._text or not self._head:
            return UNKNOWN
        try:
            self._decoder.decode(b"", final=True)  # a character cut off at the end
        except UnicodeDecodeError:
            return UNKNOWN
        if self._first == b"{" and self._last == b"}" and self._nbformat:
            return NOTEBOOK
        return TEXT


def sniff(data: bytes) -> str:
    """The content type of `data` held whole (small files, tests)."""
    sniffer = Sniffer()
    sniffer.feed(data)
    return sniffer.finish()
