"""What every reader yields, and the helpers they share."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

# A single message larger than this is quarantined instead of held in memory.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class RawMessage:
    """One message as read: where it came from and its bytes (or why it has none)."""

    file: Path                    # the physical file it was read from
    source: str                   # the contract's ``source``: PATH or PATH:N
    data: bytes
    from_line: str | None = None  # the mbox ``From `` line, for its date
    problem: str | None = None    # a quarantine reason decided by the reader (too_large, unreadable)
    detail: str | None = None


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open a file for streaming, transparently gunzipping ``.gz`` files."""
    handle = open(path, "rb")
    if handle.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]
    return handle


def head(path: Path, size: int = 8192) -> bytes:
    with open_binary(path) as handle:
        return handle.read(size)
