"""A multipart/form-data body read as it arrives: the small fields first, then the file's
bytes handed on chunk by chunk, never the whole body in memory.

The file must be the last part, as S3's form uploads also require: its fields (the purpose)
are known before its first byte, so its limits apply from the first byte on.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    Preamble,
)

from shared.errors import Problem

READ_BYTES = 256 * 1024  # what one read of the request asks for
MAX_FIELDS = 16
MAX_FIELD_BYTES = 4096
# What the decoder may hold unparsed: a read and a boundary while it streams data, more
# only when a preamble or a part's headers never end (a body that is not really a form).
MAX_BUFFERED = 4 * READ_BYTES


def malformed(detail: str) -> Problem:
    return Problem(400, detail, title="Malformed form")


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type; 415 for another type."""
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data":
        raise Problem(415, "Send the file as multipart/form-data (fields first, then the "
                           "file).", title="Unsupported media type")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200 or not boundary.isascii():
        raise malformed("The multipart Content-Type has no usable boundary.")
    return boundary.encode()


@dataclass
class FilePart:
    """The file part: its form field name, the name the client gave, and its bytes."""

    field: str
    filename: str
    chunks: Iterator[bytes] = field(repr=False)


class FormReader:
    """Reads the body from `stream` in READ_BYTES reads, as the decoder needs it."""

    def __init__(self, stream, content_type: str | None):
        self.stream = stream
        self.decoder = MultipartDecoder(boundary_of(content_type), MAX_BUFFERED)
        self.events = self._events()

    def _events(self):
        try:
            while True:
                event = self.decoder.next_event()
                if event is NEED_DATA:
                    self.decoder.receive_data(self.stream.read(READ_BYTES) or None)
                    continue
                yield event
                if isinstance(event, Epilogue):
                    return
        except (ValueError, UnicodeDecodeError):
            raise malformed("The multipart body is malformed or ends early.") from None

    def fields_and_file(self) -> tuple[dict[str, str], FilePart | None]:
        """The fields before the file, and the file part (None when the form has none)."""
        fields: dict[str, str] = {}
        for event in self.events:
            if isinstance(event, File):
                return fields, FilePart(event.name, event.filename, self._file_bytes())
            if isinstance(event, Field):
                if len(fields) >= MAX_FIELDS:
                    raise malformed(f"The form has more than {MAX_FIELDS} fields.")
                fields[event.name] = self._field_value(event.name)
            elif not isinstance(event, Preamble | Epilogue):
                raise malformed("The multipart body is malformed.")
        return fields, None

    def _field_value(self, name: str) -> str:
        value = bytearray()
        for event in self.events:
            if not isinstance(event, Data):
                break
            value += event.data
            if len(value) > MAX_FIELD_BYTES:
                raise malformed(f"The form field {name!r} is longer than {MAX_FIELD_BYTES} "
                                "bytes.")
            if not event.more_data:
                try:
                    return value.decode()
                except UnicodeDecodeError:
                    raise malformed(f"The form field {name!r} is not UTF-8.") from None
        raise malformed("The multipart body is malformed.")

    def _file_bytes(self) -> Iterator[bytes]:
        """The file's chunks; then the rest of the body, which must hold no other part."""
        for event in self.events:
            if not isinstance(event, Data):
                raise malformed("The multipart body is malformed.")
            if event.data:
                yield event.data
            if not event.more_data:
                break
        for event in self.events:
            if not isinstance(event, Epilogue):
                raise malformed("The file must be the form's last part, and the only file.")
