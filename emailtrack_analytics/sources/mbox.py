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


_BLOCK = 1 << 20
_ESCAPED_LINES = re.compile(rb"(?m)^>(>*From )")


def _finish(data: bytes) -> bytes:
    """A message's bytes: escaped ``From`` lines restored, the framing blank line removed."""
    if b">From " in data:
        data = _ESCAPED_LINES.sub(rb"\1", data)
    # the blank line before the next separator belongs to the mbox framing
    if data.endswith(b"\r\n\r\n"):
        return data[:-2]
    if data.endswith(b"\n\n"):
        return data[:-1]
    return data


class _Message:
    """The message being read: its parts, bounded by MAX_MESSAGE_BYTES."""

    def __init__(self, from_line: str | None):
        self.from_line = from_line
        self.parts: list[bytes] = []
        self.size = 0
        self.too_large = False

    def add(self, data: bytes) -> None:
        if self.too_large or not data:
            return
        self.size += len(data)
        if self.size > MAX_MESSAGE_BYTES:
            self.too_large, self.parts = True, []
        else:
            self.parts.append(data)

    def raw(self, path: Path, source: str) -> RawMessage:
        if self.too_large:
            return RawMessage(path, source, b"", self.from_line, "too_large",
                              f"message larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB")
        return RawMessage(path, source, _finish(b"".join(self.parts)), self.from_line)


def read_mbox(path: Path, label: str) -> Iterator[RawMessage]:
    """Yield each message of an mbox file, numbered from 1 as ``label:N``.

    The file is read in 1 MB blocks and searched for ``From `` at line starts; each candidate
    is checked with its neighbour lines (``is_separator``). Memory holds about one block and
    one message (at most MAX_MESSAGE_BYTES: a larger one is reported ``too_large``), whatever
    the file or line length.
    """
    number = 0
    current: _Message | None = None
    with open_binary(path) as handle:
        buf, eof = _more(handle, b"")
        if buf.startswith(b"\xef\xbb\xbf"):
            buf = buf[3:]
        line_start = True       # buf[0] begins a line
        previous_blank = True   # the line before buf[0] was blank (the file's start counts as such)
        search = 0
        while True:
            if current is None and search == 0:  # blank lines before the first message are passed over
                stripped = buf.lstrip(b" \t\r\n")
                if not stripped:
                    if eof:
                        break
                    buf, eof = _more(handle, b"")
                    continue
                buf = buf[buf.rfind(b"\n", 0, len(buf) - len(stripped)) + 1:]
            if search == 0 and line_start and buf.startswith(b"From "):
                start = 0
            else:
                found = buf.find(b"\nFrom ", max(0, search - 1))
                start = found + 1 if found >= 0 else -1
            if start >= 0:
                end = buf.find(b"\n", start)
                following_end = buf.find(b"\n", end + 1) if end >= 0 else -1
                if following_end < 0 and not eof and len(buf) - start < MAX_MESSAGE_BYTES:
                    buf, eof = _more(handle, buf)
                    continue  # the candidate and the line after it must be whole
                line = buf[start:end + 1] if end >= 0 else buf[start:]
                following = buf[end + 1:following_end + 1] if end >= 0 else b""
                before_blank = previous_blank if start == 0 else _blank_before(buf, start)
                if is_separator(line, following or None, before_blank):
                    if current is None and buf[:start].strip():
                        current = _Message(None)  # a file that does not start with "From "
                    if current is not None:
                        current.add(buf[:start])
                        number += 1
                        yield current.raw(path, f"{label}:{number}")
                    current = _Message(line.decode("latin-1").rstrip("\r\n"))
                    buf = buf[end + 1:] if end >= 0 else b""
                    line_start, previous_blank, search = True, False, 0
                    continue
                search = start + 1
                continue
            # no separator in buf: hand over all but its last, possibly partial, line
            keep = buf.rfind(b"\n") + 1
            if keep and current is None:
                current = _Message(None)  # a file that does not start with "From "
            if keep:
                current.add(buf[:keep])
                previous_blank = _blank_before(buf, keep)
                buf, line_start = buf[keep:], True
            elif len(buf) > _BLOCK:  # one very long line: it cannot hold a separator further on
                current = current or _Message(None)
                current.add(buf)
                buf, line_start, previous_blank = b"", False, False
            if eof:
                break
            buf, eof = _more(handle, buf)
            search = 0 if line_start else 1
        if current is None and buf.strip():
            current = _Message(None)
        if current is not None:
            current.add(buf)
            number += 1
            yield current.raw(path, f"{label}:{number}")


def _more(handle, buf: bytes) -> tuple[bytes, bool]:
    block = handle.read(_BLOCK)
    return buf + block, len(block) < _BLOCK


def _blank_before(buf: bytes, start: int) -> bool:
    """Whether the line that ends at ``buf[start - 1]`` is blank (only white space)."""
    previous = buf.rfind(b"\n", 0, start - 1) + 1
    return not buf[previous:start].strip()
