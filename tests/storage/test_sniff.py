"""Content types from the bytes, fed whole or a byte at a time; names cleaned."""

import pytest

from services.storage.names import BadName, clean_name, content_disposition
from services.storage.sniff import (
    NOTEBOOK,
    PDF,
    TEXT,
    UNKNOWN,
    Sniffer,
    sniff,
)
from tests.storage.samples import NOTEBOOK_BYTES, SAMPLES


def bytewise(data: bytes) -> str:
    sniffer = Sniffer()
    for i in range(len(data)):
        sniffer.feed(data[i:i + 1])
    return sniffer.finish()


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_type_is_told_by_its_bytes(kind):
    assert sniff(SAMPLES[kind]) == kind
    assert bytewise(SAMPLES[kind]) == kind


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",  # a Windows executable
    b"plain text until a NUL\x00 shows up",
    b"text with an escape \x1b[31m sequence",
    "latin-1 caf\xe9".encode("latin-1"),
    b"cut in the middle of a character \xe2\x82",
    b"\x00",
])
def test_other_bytes_are_unknown(data):
    assert sniff(data) == UNKNOWN
    assert bytewise(data) == UNKNOWN


def test_binary_is_known_from_the_first_bytes_and_text_never_is_early():
    sniffer = Sniffer()
    sniffer.feed(SAMPLES[PDF][:12])
    assert sniffer.known == PDF
    text = Sniffer()
    text.feed(b"a" * 100)
    assert text.known is None
    text.feed(b"\x00")
    assert text.known == UNKNOWN


def test_json_without_nbformat_is_text_and_a_short_text_is_text():
    assert sniff(b'{"cells": []}') == TEXT
    assert sniff(b"hi") == TEXT
    assert sniff(b"\xef\xbb\xbf  " + NOTEBOOK_BYTES + b"\n") == NOTEBOOK


@pytest.mark.parametrize(("raw", "clean"), [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\notes.txt", "notes.txt"),
    ("line\nbreak\r\tand\x1bescape.txt", "linebreakandescape.txt"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),
    ("..", "file"),
    ("/", "file"),
    ("  spaced  ", "spaced"),
    ("e\u0301te\u0301.txt", "été.txt"),
])
def test_names_are_cleaned(raw, clean):
    assert clean_name(raw) == clean


def test_a_long_name_is_cut_to_255_bytes_keeping_its_extension():
    name = clean_name("é" * 150 + ".ipynb")  # 306 bytes
    assert len(name.encode()) <= 255 and name.endswith(".ipynb")
    assert name.startswith("é" * 100)
    assert len(clean_name("x" * 300).encode()) == 255


@pytest.mark.parametrize("raw", ["nul\x00.txt", "surrogate\ud800.txt"])
def test_nul_and_lone_surrogates_are_refused(raw):
    with pytest.raises(BadName):
        clean_name(raw)


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name():
    header = content_disposition('naïve "quote".pdf')
    assert header == ("attachment; filename=\"naive _quote_.pdf\"; "
                      "filename*=UTF-8''na%C3%AFve%20%22quote%22.pdf")
    assert content_disposition("日本.txt").startswith('attachment; filename=".txt"')
