"""Single-message files: ``.eml`` and the like (any extension), and Apple Mail ``.emlx``."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator

from .base import MAX_MESSAGE_BYTES, InputPath, RawMessage, input_size, message_limit, open_binary, too_large_detail

_EMLX_LENGTH = re.compile(rb"^\s*(\d+)\s*\r?\n")
_CHUNK = 1 << 20


def read_eml(path: InputPath, label: str, max_bytes: int | None = None) -> Iterator[RawMessage]:
    """Yield the one message a file holds (an empty file yields empty bytes: quarantined).

    A file larger than the maximum message size (``max_bytes``, else EMAILTRACK_MAX_MESSAGE_MB,
    else MAX_MESSAGE_BYTES) is reported ``too_large`` after reading at most that much.
    """
    limit = message_limit(MAX_MESSAGE_BYTES, max_bytes)
    parts, size = [], 0
    with open_binary(path) as handle:
        if not isinstance(handle, gzip.GzipFile) and input_size(path) > limit:
            size = limit + 1  # known without reading it
        while size <= limit:
            block = handle.read(min(_CHUNK, limit + 1 - size))
            if not block:
                break
            parts.append(block)
            size += len(block)
    if size > limit:
        parts = []
        yield RawMessage(path, label, b"", None, "too_large", too_large_detail(limit, 0, "file"))
        return
    data = b"".join(parts)
    del parts
    emlx = _EMLX_LENGTH.match(data[:32])
    if emlx and path.suffix.lower() == ".emlx":
        # Apple Mail: a byte count line, the message, then an XML property list
        start = emlx.end()
        data = data[start:start + int(emlx.group(1))]
    yield RawMessage(path, label, data)
