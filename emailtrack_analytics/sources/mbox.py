"""mbox files, streamed: memory holds one message at a time whatever the file size.

A message starts at a ``From `` line that carries a date (``From sender Thu Mar 12 18:04:11
2026``), at the start of the file or after a blank line: a body line such as ``From time to
time`` is not a separator, whether or not the writer escaped it. Escaped body lines
(``>From ``, and ``>>From `` in mboxrd) lose one ``>``, so mboxo and mboxrd files read the same.
A file may also start with a message that has no ``From `` line at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .base import MAX_MESSAGE_BYTES, RawMessage, open_binary

_SEPARATOR = re.compile(
    rb"^From \S*.*?(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    rb" +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?(?: +\S+)? +\d{4}")
_ESCAPED = re.compile(rb"^>+From ")
_HEADER = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")


_BARE = re.compile(rb"^From \S+[ \t]*\r?\n?$")


def is_separator(line: bytes, next_line: bytes | None = None, after_blank: bool = True) -> bool:
    """Whether ``line`` starts a message.

    A dated ``From `` line after a blank line (classic mbox); a dated or bare ``From -`` /
    ``From <id>`` line (Netscape, Mozilla, Gmail Takeout) followed by a header line, even
    without the blank line that old writers left out. Never a sentence such as
    ``From time to time`` or ``From Russia with love``.
    """
    if not line.startswith(b"From "):
        return False
    dated = bool(_SEPARATOR.match(line))
    if dated and after_blank:
        return True
    next_is_header = next_line is not None and bool(_HEADER.match(next_line))
    return next_is_header and (dated or bool(_BARE.match(line)))


def looks_like_mbox(head: bytes) -> bool:
    lines = head.lstrip(b"\xef\xbb\xbf\r\n").split(b"\n", 2)
    return is_separator(lines[0] + b"\n", lines[1] if len(lines) > 1 else None)


def _lines(handle, limit: int = 1 << 20) -> Iterator[tuple[bytes, bool, bytes | None]]:
    """Lines in chunks of at most ``limit`` bytes, each with whether it starts a line and the
    chunk that follows it: a gigabyte-long line never has to fit in memory at once."""
    at_start = True
    chunk = handle.readline(limit)
    while chunk:
        following = handle.readline(limit)
        yield chunk, at_start, following or None
        at_start = chunk.endswith(b"\n")
        chunk = following


def contains_separator(path: Path, limit: int = 64 * 1024 * 1024) -> bool:
    """Whether a file that starts like a single message holds further mbox messages."""
    previous_blank = False
    read = 0
    with open_binary(path) as handle:
        for line, at_start, following in _lines(handle):
            read += len(line)
            if at_start and is_separator(line, following, previous_blank):
                return True
            previous_blank = at_start and not line.strip()
            if read > limit:
                break
    return False


def read_mbox(path: Path, label: str) -> Iterator[RawMessage]:
    """Yield each message of an mbox file, numbered from 1 as ``label:N``."""
    number = 0
    lines: list[bytes] = []
    size = 0
    from_line: str | None = None
    too_large = False
    started = False
    previous_blank = True

    def emit():
        nonlocal number
        number += 1
        source = f"{label}:{number}"
        if too_large:
            return RawMessage(path, source, b"", from_line, "too_large",
                              f"message larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
        data = b"".join(lines)
        # the blank line before the next separator belongs to the mbox framing
        if data.endswith(b"\r\n\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n\n"):
            data = data[:-1]
        return RawMessage(path, source, data, from_line)

    with open_binary(path) as handle:
        for index, (line, at_start, following) in enumerate(_lines(handle)):
            if index == 0 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if at_start and is_separator(line, following, previous_blank):
                if started:
                    yield emit()
                started = True
                lines, size, too_large = [], 0, False
                from_line = line.decode("latin-1").rstrip("\r\n")
                previous_blank = False
                continue
            if not started:
                if not line.strip():
                    continue  # blank lines before the first message
                started = True  # a file that does not start with "From "
                from_line = None
            previous_blank = at_start and not line.strip()
            if at_start and _ESCAPED.match(line):
                line = line[1:]
            if too_large:
                continue
            size += len(line)
            if size > MAX_MESSAGE_BYTES:
                too_large, lines = True, []
                continue
            lines.append(line)
    if started:
        yield emit()
