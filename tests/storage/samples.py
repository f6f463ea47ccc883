"""Small files of every type the service knows, and one it refuses."""

import json

from services.storage.avatars import avatar_png
from services.storage.sniff import JPEG, NOTEBOOK, PDF, PNG, TEXT, WEBP, ZIP

NOTEBOOK_BYTES = json.dumps({"cells": [{"cell_type": "code", "source": ["print(1)"]}],
                             "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                            indent=1).encode()
SAMPLES = {
    PNG: avatar_png(1),
    JPEG: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(64),
    WEBP: b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32),
    PDF: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    ZIP: b"PK\x03\x04\x14\x00\x00\x00" + bytes(40),
    TEXT: "Résumé of week 3: two pointers.\n\tIndented — fine.\r\n".encode(),
    NOTEBOOK: NOTEBOOK_BYTES,
}
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(100)
