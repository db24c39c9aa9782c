"""What every reader yields, and the helpers they share."""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr, TypeAlias

from ... import settings
from .remote import ObjectPath

# Where an input is read from: a local file, or an object of a store (``s3://…``)
InputPath: TypeAlias = Path | ObjectPath

# A single message larger than this is quarantined (``too_large``) instead of held in memory.
# ``EMAILTRACK_MAX_MESSAGE_MB`` (a number of megabytes, decimals allowed) or the ``max_message_bytes``
# argument of ``ingest`` overrides it.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# A mail log or CSV line longer than this is quarantined (``too_large``) and skipped, unread.
MAX_LOG_LINE = 1024 * 1024

_MB = 1024 * 1024

# What a damaged file raises while it is read: a truncated or corrupt gzip stream, an I/O error.
READ_ERRORS = (OSError, EOFError, zlib.error)


def message_limit(default: int | None = None, given: int | None = None) -> int:
    """The maximum message size in bytes: ``given``, else the environment, else ``default``."""
    if given:
        return max(1, int(given))
    megabytes = settings.max_message_mb()
    if megabytes:
        return max(1, int(megabytes * _MB))
    return MAX_MESSAGE_BYTES if default is None else default


def size_text(size: int) -> str:
    """``64 MB`` for whole megabytes, else a byte count."""
    return f"{size // _MB} MB" if size % _MB == 0 else f"{size} bytes"


def too_large_detail(limit: int, offset: int, what: str = "message") -> str:
    return f"{what} larger than the maximum message size ({size_text(limit)}), starting at byte {offset}"


def read_problem(exc: BaseException) -> tuple[str, str]:
    """The quarantine reason and detail for an error raised while a file was read."""
    if isinstance(exc, EOFError):
        return "truncated", f"file ends before its end (compressed stream cut short): {exc}"[:300]
    if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile):
        return "unreadable", f"{exc.strerror or exc}"[:300]
    return "unreadable", f"{type(exc).__name__}: {exc}"[:300]


@dataclass(frozen=True)
class RawMessage:
    """One message as read: where it came from and its bytes (or why it has none)."""

    file: InputPath               # the physical file (or object) it was read from
    source: str                   # the contract's ``source``: PATH or PATH:N
    data: bytes
    from_line: str | None = None  # the mbox ``From `` line, for its date
    problem: str | None = None    # a quarantine reason decided by the reader (too_large, unreadable)
    detail: str | None = None


def is_regular(path: InputPath) -> bool:
    """Whether ``path`` is a regular file (not a FIFO, socket or device, which could block); an
    object of a store always is."""
    if isinstance(path, ObjectPath):
        return True
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let the reader report why it cannot be read


def open_plain(path: InputPath, buffer: int | None = None) -> io.BufferedReader:
    """Open a file or an object for reading its bytes as they are (seekable). ``buffer``: for an
    object, the bytes each request fetches at least (default ``remote.READ_BUFFER``)."""
    if isinstance(path, ObjectPath):
        return path.open() if buffer is None else path.open(buffer)
    if not is_regular(path):
        raise OSError(f"not a regular file: {path.name}")
    return open(path, "rb")


def input_size(path: InputPath) -> int:
    """The size of a file, or of an object as its listing gave it."""
    if isinstance(path, ObjectPath):
        return len(path.data) if path.data is not None else path.size
    return os.stat(path).st_size


def modified_time(path: InputPath) -> float:
    """When a file (or an object) was last modified, in seconds since the epoch."""
    if isinstance(path, ObjectPath):
        if path.modified is None:
            raise OSError(f"no modification time listed for {path.url}")
        return path.modified
    return os.stat(path).st_mtime


def open_binary(path: InputPath) -> io.BufferedIOBase:
    """Open a file or an object for streaming, transparently gunzipping ``.gz`` ones."""
    handle = open_plain(path)
    try:
        magic = handle.peek(2)[:2]
    except BaseException:
        handle.close()
        raise
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle)
    return handle


def read_block(handle: io.BufferedIOBase, size: int) -> tuple[bytes, BaseException | None]:
    """Up to ``size`` bytes (fewer only at the end of the file), and the error that ended the
    file early, if any. The bytes read before the error are kept: ``read`` drops them when a
    gzip stream breaks off, and with them every message of a small truncated ``.gz`` file."""
    parts: list[bytes] = []
    got = 0
    try:
        while got < size:
            part = handle.read1(size - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
    except READ_ERRORS as exc:
        return b"".join(parts), exc
    return b"".join(parts), None


def read_blocks(handle: io.BufferedIOBase, size: int = 1 << 16) -> Iterator[bytes]:
    """The rest of a file in blocks of ``size`` bytes; an error that ends it early is raised
    after the bytes read before it were yielded."""
    while True:
        block, error = read_block(handle, size)
        if block:
            yield block
        if error is not None:
            raise error
        if len(block) < size:
            return


def head(path: InputPath, size: int = 8192) -> bytes:
    """The first ``size`` bytes of a file (those before the break, in a truncated ``.gz``)."""
    with open_binary(path) as handle:
        return _first_bytes(handle, size)


def head_of(start: bytes, size: int = 8192) -> bytes:
    """The first ``size`` bytes of what a file starting with the bytes ``start`` holds (gunzipped)."""
    handle: io.BufferedIOBase = io.BufferedReader(io.BytesIO(start))
    if start[:2] == b"\x1f\x8b":
        handle = gzip.GzipFile(fileobj=handle)
    with handle:
        return _first_bytes(handle, size)


def _first_bytes(handle: io.BufferedIOBase, size: int) -> bytes:
    data, error = read_block(handle, size)
    if error is not None and not data:
        raise error
    return data


@dataclass(frozen=True)
class Line:
    """One line of a text file read in bounded memory; ``data`` is None for a line longer than
    the limit (then ``length`` says how long it was: it was skipped, not read)."""

    number: int
    data: bytes | None
    length: int


def bounded_lines(handle: io.BufferedIOBase, limit: int = MAX_LOG_LINE) -> Iterator[Line]:
    """The lines of a binary stream (split at ``\\n``, endings kept), none held longer than
    ``limit``: a longer line is skipped up to its end and reported with ``data=None``."""
    number = 0
    while True:
        chunk = handle.readline(limit + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) <= limit or chunk.endswith(b"\n") and len(chunk) == limit + 1:
            yield Line(number, chunk, len(chunk))
            continue
        length = len(chunk)
        while not chunk.endswith(b"\n"):
            chunk = handle.readline(1 << 20)
            if not chunk:
                break
            length += len(chunk)
        yield Line(number, None, length)


def split_lines(chunks: Iterable[AnyStr], limit: int, breaks: AnyStr) -> Iterator[tuple[AnyStr | None, int]]:
    """Lines (endings kept) of a stream of str or bytes chunks, as ``splitlines`` cuts them;
    (None, length) for a line longer than ``limit``, which is skipped, never held whole.
    ``breaks`` holds the characters ``splitlines`` ends a line at (for bytes: ``b"\\n\\r"``)."""
    pending, skipped = None, 0
    for chunk in chunks:
        text = chunk if pending is None else pending + chunk
        parts = text.splitlines(True)
        pending = None
        if parts and (parts[-1][-1:] not in breaks or parts[-1][-1:] in ("\r", b"\r")):
            pending = parts.pop()  # not ended yet (or a "\r" that a "\n" may follow)
        for part in parts:
            if skipped:
                yield None, skipped + len(part)
                skipped = 0
            else:
                yield part, len(part)
        if pending is not None and len(pending) > limit:
            # a final "\r" stays pending: whether a "\n" follows decides where the line ends
            keep = 1 if pending[-1:] in ("\r", b"\r") else 0
            skipped += len(pending) - keep
            pending = pending[len(pending) - keep:] or None
    if skipped:
        yield None, skipped + (len(pending) if pending is not None else 0)
    elif pending:
        yield pending, len(pending)
