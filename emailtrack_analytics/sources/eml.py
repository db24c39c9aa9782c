"""Single-message files: ``.eml`` and the like (any extension), and Apple Mail ``.emlx``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .base import MAX_MESSAGE_BYTES, RawMessage, open_binary

_EMLX_LENGTH = re.compile(rb"^\s*(\d+)\s*\r?\n")


def read_eml(path: Path, label: str) -> Iterator[RawMessage]:
    """Yield the one message a file holds (an empty file yields empty bytes: quarantined)."""
    with open_binary(path) as handle:
        data = handle.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        yield RawMessage(path, label, b"", None, "too_large",
                         f"file larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
        return
    emlx = _EMLX_LENGTH.match(data[:32])
    if emlx and path.suffix.lower() == ".emlx":
        # Apple Mail: a byte count line, the message, then an XML property list
        start = emlx.end()
        data = data[start:start + int(emlx.group(1))]
    yield RawMessage(path, label, data)
