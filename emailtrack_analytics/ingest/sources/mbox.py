"""mbox files, streamed: memory holds one message at a time whatever the file size.

A message starts at a ``From `` line that carries a date (``From sender Thu Mar 12 18:04:11
2026``), at the start of the file or after a blank line: a body line such as ``From time to
time`` is not a separator, whether or not the writer escaped it. Escaped body lines
(``>From ``, and ``>>From `` in mboxrd) lose one ``>``, so mboxo and mboxrd files read the same.
A file may also start with a message that has no ``From `` line at all.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Literal

from .base import (
    MAX_MESSAGE_BYTES,
    READ_ERRORS,
    InputPath,
    RawMessage,
    input_size,
    message_limit,
    open_binary,
    open_plain,
    read_block,
    read_problem,
    too_large_detail,
)

# ".*?" alone: the former "\S*.*?" matched the same lines but backtracked quadratically on a long
# "From xxxx…" line without spaces (a minute for 16 KB, hours for a megabyte).
_SEPARATOR = re.compile(
    rb"^From .*?(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    rb" +\d{1,2} +\d{1,2}:\d{2}(?::\d{2})?(?: +\S+)? +\d{4}")
_ESCAPED = re.compile(rb"^>+From ")
_HEADER = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:")


_BARE = re.compile(rb"^From \S+[ \t]*\r?\n?$")

# A separator line is short: only this much of a candidate line (and of the line after it) is
# looked at, so that a gigabyte-long "From …" line is never searched or held whole.
MAX_SEPARATOR_LINE = 4096


def is_separator(line: bytes, next_line: bytes | None = None, after_blank: bool = True) -> bool:
    """Whether ``line`` starts a message.

    A dated ``From `` line after a blank line (classic mbox); a dated or bare ``From -`` /
    ``From <id>`` line (Netscape, Mozilla, Gmail Takeout) followed by a header line, even
    without the blank line that old writers left out. Never a sentence such as
    ``From time to time`` or ``From Russia with love``. Only the first ``MAX_SEPARATOR_LINE``
    bytes of a line are read.
    """
    if not line.startswith(b"From "):
        return False
    dated = bool(_SEPARATOR.match(line, 0, MAX_SEPARATOR_LINE))
    if dated and after_blank:
        return True
    next_is_header = next_line is not None and bool(_HEADER.match(next_line, 0, MAX_SEPARATOR_LINE))
    bare = len(line) <= MAX_SEPARATOR_LINE and bool(_BARE.match(line))
    return next_is_header and (dated or bare)


def looks_like_mbox(head: bytes) -> bool:
    lines = head.lstrip(b"\xef\xbb\xbf\r\n").split(b"\n", 2)
    return is_separator(lines[0] + b"\n", lines[1] if len(lines) > 1 else None)


def _lines(handle: io.BufferedIOBase, limit: int = 1 << 20) -> Iterator[tuple[bytes, bool, bytes | None]]:
    """Lines in chunks of at most ``limit`` bytes, each with whether it starts a line and the
    chunk that follows it: a gigabyte-long line never has to fit in memory at once."""
    at_start = True
    chunk = handle.readline(limit)
    while chunk:
        following = handle.readline(limit)
        yield chunk, at_start, following or None
        at_start = chunk.endswith(b"\n")
        chunk = following


def contains_separator(path: InputPath, limit: int = 64 * 1024 * 1024) -> bool:
    """Whether a file that starts like a single message holds further mbox messages."""
    if not _has_from_line(path, limit + 2 * _BLOCK):
        return False  # the line-by-line search below (2.5 s for 20,000 .eml files) finds none
    previous_blank = False
    read = 0
    try:
        with open_binary(path) as handle:
            for line, at_start, following in _lines(handle):
                read += len(line)
                if at_start and is_separator(line, following, previous_blank):
                    return True
                previous_blank = at_start and not line.strip()
                if read > limit:
                    break
    except READ_ERRORS:
        pass  # a damaged file: its reader reports it
    return False


_BLOCK = 1 << 20


def _has_from_line(path: InputPath, limit: int) -> bool:
    """Whether a line starts with ``From `` in the first ``limit`` bytes (or so) of a file."""
    tail = b"\n"  # the file starts a line
    read = 0
    try:
        with open_binary(path) as handle:
            while read < limit:
                block = handle.read(_BLOCK)
                if not block:
                    return False
                if b"\nFrom " in tail + block:
                    return True
                tail, read = block[-5:], read + len(block)
    except READ_ERRORS:
        return True  # a damaged file: the line-by-line search decides, as it did
    return True  # not searched to the end: the line-by-line search decides


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
    """The message being read: its parts, bounded by the maximum message size."""

    def __init__(self, from_line: str | None, offset: int, limit: int):
        self.from_line = from_line
        self.offset = offset          # where it starts in the (uncompressed) file
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.too_large = False

    def add(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.too_large:
            return
        if self.size > self.limit:
            self.too_large, self.parts = True, []
        else:
            self.parts.append(data)

    def raw(self, path: InputPath, source: str, problem: tuple[str, str] | None = None) -> RawMessage:
        if self.too_large:
            return RawMessage(path, source, b"", self.from_line, "too_large",
                              too_large_detail(self.limit, self.offset))
        data = _finish(b"".join(self.parts))
        self.parts = []
        if problem:
            reason, detail = problem
            return RawMessage(path, source, data, self.from_line, reason,
                              f"{detail} (message starting at byte {self.offset})")
        return RawMessage(path, source, data, self.from_line)


class _Blocks:
    """Blocks of a file; an error (a cut or corrupt gzip stream, an I/O error) ends the file
    and is kept in ``problem`` for the message being read at that point."""

    def __init__(self, handle: io.BufferedIOBase, remaining: int | None = None) -> None:
        self.handle = handle
        self.remaining = remaining    # bytes left to read (a shard ends where the next one starts)
        self.problem: tuple[str, str] | None = None

    def more(self, buf: bytes) -> tuple[bytes, bool]:
        size = _BLOCK if self.remaining is None else min(_BLOCK, self.remaining)
        block, error = read_block(self.handle, size)
        if self.remaining is not None:
            self.remaining -= len(block)
        if error is not None:
            self.problem = read_problem(error)
            return buf + block, True
        return buf + block, len(block) < size or self.remaining == 0


def read_mbox(path: InputPath, label: str, max_bytes: int | None = None) -> Iterator[RawMessage]:
    """Yield each message of an mbox file, numbered from 1 as ``label:N``.

    The file is read in 1 MB blocks and searched for ``From `` at line starts; each candidate
    is checked with its neighbour lines (``is_separator``). Memory holds about one block and
    one message (at most ``max_bytes``, by default MAX_MESSAGE_BYTES or the environment's
    EMAILTRACK_MAX_MESSAGE_MB: a larger one is reported ``too_large`` with its position and
    skipped up to the next separator), whatever the file or line length. A file that breaks
    off (a truncated gzip) ends with its last message reported ``truncated``.
    """
    yield from read_mbox_range(path, label, 0, None, max_bytes)


def read_mbox_range(path: InputPath, label: str, start: int, end: int | None,
                    max_bytes: int | None = None) -> Iterator[RawMessage]:
    """The messages of bytes ``start`` to ``end`` of an mbox, cut where ``cut_points`` says a
    message starts: a shard of the file, read as the whole file's reading reads those bytes.
    Messages are numbered from 1 within the shard (``label:N``); positions in details are the
    file's."""
    with open_binary(path) as handle:
        if start:
            handle.seek(start)
        blocks = _Blocks(handle, None if end is None else end - start)
        yield from _Scan(blocks, path, label, message_limit(MAX_MESSAGE_BYTES, max_bytes), start).messages()


def cut_points(path: InputPath, every: int) -> list[int]:
    """Where to cut an mbox into shards of about ``every`` bytes: the first byte of a separator
    line at or after each multiple of ``every``, found as the whole file's reading finds
    separators (``is_separator`` with the lines around it). No cuts for a compressed file (it
    cannot be read from the middle) or one smaller than ``every``."""
    try:
        size = input_size(path)
        # small buffer: each look near a cut is one request for what is read there, not more
        with open_plain(path, buffer=64 * 1024) as handle:
            if size <= every or handle.read(2) == b"\x1f\x8b":
                return []
            cuts: list[int] = []
            nominal = every
            while nominal < size:
                found = _separator_from(handle, nominal)
                if found is None:
                    break
                cuts.append(found)
                nominal = found + every
            return cuts
    except READ_ERRORS:
        return []  # read whole: its reader reports the problem at its position


def _separator_from(handle: io.BufferedIOBase, position: int) -> int | None:
    """The first separator starting at or after ``position`` (> 0), or None. The bytes before a
    candidate are kept (up to a block) to tell whether the line before it is blank."""
    back = min(position, _BLOCK)
    base = position - back
    handle.seek(base)
    buf = handle.read(back + _BLOCK)
    search = back - 1  # a candidate is a "From " line after a newline at or after this index
    while True:
        found = buf.find(b"\nFrom ", search) + 1
        if not found:
            more = handle.read(_BLOCK)
            if not more:
                return None
            search = max(0, len(buf) - 6)
            keep = max(0, len(buf) - _BLOCK)
            buf, base, search = buf[keep:] + more, base + keep, search - keep
            continue
        while len(buf) - found < 2 * MAX_SEPARATOR_LINE + 2:
            more = handle.read(_BLOCK)
            if not more:
                break
            buf += more
        end = buf.find(b"\n", found, found + MAX_SEPARATOR_LINE + 1)
        if end < 0 and len(buf) - found > MAX_SEPARATOR_LINE:
            search = found  # far too long for a separator line
            continue
        following_end = buf.find(b"\n", end + 1, end + 2 + MAX_SEPARATOR_LINE) if end >= 0 else -1
        line = buf[found:end + 1] if end >= 0 else buf[found:]
        if is_separator(line, _following(buf, end, following_end) or None, _blank_before(buf, found, base == 0)):
            return base + found
        search = found


class _Scan:
    """Reading one mbox: the bytes read and not handed over yet (``buf``, which starts at byte
    ``base`` of the file), where to look for the next separator in them, and the message being
    read (None before the first one)."""

    def __init__(self, blocks: _Blocks, path: InputPath, label: str, limit: int, start: int = 0) -> None:
        self.blocks, self.path, self.label, self.limit = blocks, path, label, limit
        self.number = 0
        self.current: _Message | None = None
        self.buf, self.eof = blocks.more(b"")
        self.base = start
        if not start and self.buf.startswith(b"\xef\xbb\xbf"):
            self.buf, self.base = self.buf[3:], 3
        self.line_start = True       # buf[0] begins a line
        self.previous_blank = True   # the line before buf[0] was blank (the file's start counts as such)
        self.search = 0

    def messages(self) -> Iterator[RawMessage]:
        while True:
            if self.current is None and self.search == 0:
                step = self._pass_blank_lines()
                if step == "end":
                    break
                if step == "again":
                    continue
            start = self._candidate()
            if start >= 0:
                finished = self._check_candidate(start)
                if finished is not None:
                    yield finished
                continue
            if not self._hand_over():
                break
        last = self._last()
        if last is not None:
            yield last

    def _more(self) -> None:
        self.buf, self.eof = self.blocks.more(self.buf)

    def _pass_blank_lines(self) -> Literal["end", "again", "go"]:
        """Pass over the blank lines before the first message."""
        stripped = self.buf.lstrip()  # white space as bytes.strip sees it (blank lines elsewhere)
        if not stripped:
            if self.eof:
                self.buf = b""
                return "end"
            self.base += len(self.buf)
            self.buf, self.eof = self.blocks.more(b"")
            return "again"
        cut = self.buf.rfind(b"\n", 0, len(self.buf) - len(stripped)) + 1
        self.buf, self.base = self.buf[cut:], self.base + cut
        return "go"

    def _candidate(self) -> int:
        """Where the next line starting with ``From `` starts in ``buf``, or -1."""
        if self.search == 0 and self.line_start and self.buf.startswith(b"From "):
            return 0
        found = self.buf.find(b"\nFrom ", max(0, self.search - 1))
        return found + 1 if found >= 0 else -1

    def _check_candidate(self, start: int) -> RawMessage | None:
        """Read more when the candidate line or the start of the next one is cut off; start a
        new message at the candidate when it is a separator, and return the one it ends."""
        buf = self.buf
        end = buf.find(b"\n", start, start + MAX_SEPARATOR_LINE + 1)
        if end < 0 and not self.eof and len(buf) - start <= MAX_SEPARATOR_LINE:
            self._more()
            return None  # the candidate line must be whole
        if end < 0 and len(buf) - start > MAX_SEPARATOR_LINE:
            self.search = start + 1  # far too long for a separator line
            return None
        following_end = buf.find(b"\n", end + 1, end + 2 + MAX_SEPARATOR_LINE) if end >= 0 else -1
        if end >= 0 and following_end < 0 and not self.eof \
                and len(buf) - (end + 1) <= MAX_SEPARATOR_LINE:
            self._more()
            return None  # and the start of the line after it
        line = buf[start:end + 1] if end >= 0 else buf[start:]
        before_blank = self.previous_blank if start == 0 else _blank_before(buf, start, self.line_start)
        if not is_separator(line, _following(buf, end, following_end) or None, before_blank):
            self.search = start + 1
            return None
        return self._separator(start, end, line)

    def _separator(self, start: int, end: int, line: bytes) -> RawMessage | None:
        """A message starts at ``buf[start]`` (its separator ``line`` ends at ``end``): the
        message before it, if any, is complete."""
        finished = None
        if self.current is None and self.buf[:start].strip():
            self.current = _Message(None, self.base, self.limit)  # a file that does not start with "From "
        if self.current is not None:
            self.current.add(self.buf[:start])
            self.number += 1
            finished = self.current.raw(self.path, f"{self.label}:{self.number}")
        self.current = _Message(line.decode("latin-1").rstrip("\r\n"), self.base + start, self.limit)
        cut = end + 1 if end >= 0 else len(self.buf)
        self.buf, self.base = self.buf[cut:], self.base + cut
        self.line_start, self.previous_blank, self.search = True, False, 0
        return finished

    def _hand_over(self) -> bool:
        """No separator in ``buf``: hand the message all but its last, possibly partial, line
        and read on. False at the end of the file."""
        buf = self.buf
        keep = buf.rfind(b"\n") + 1
        if keep:
            if self.current is None:
                self.current = _Message(None, self.base, self.limit)  # a file that does not start with "From "
            self.current.add(buf[:keep])
            self.previous_blank = _blank_before(buf, keep, self.line_start)
            self.buf, self.base, self.line_start = buf[keep:], self.base + keep, True
        elif len(buf) > _BLOCK:  # one very long line: it cannot hold a separator further on
            self.current = self.current or _Message(None, self.base, self.limit)
            self.current.add(buf)
            self.buf, self.base, self.line_start, self.previous_blank = b"", self.base + len(buf), False, False
        if self.eof:
            return False
        self._more()
        self.search = 0 if self.line_start else 1
        return True

    def _last(self) -> RawMessage | None:
        """The message the file ends with (reported with the error that ended it early, if any)."""
        if self.current is None and (self.buf.strip() or self.blocks.problem):
            self.current = _Message(None, self.base, self.limit)
        if self.current is None:
            return None
        self.current.add(self.buf)
        self.number += 1
        return self.current.raw(self.path, f"{self.label}:{self.number}", self.blocks.problem)


def _following(buf: bytes, end: int, following_end: int) -> bytes:
    """The start of the line after a candidate separator line that ends at ``end``."""
    if end < 0:
        return b""
    if following_end >= 0:
        return buf[end + 1:following_end + 1]
    return buf[end + 1:end + 2 + MAX_SEPARATOR_LINE]


def _blank_before(buf: bytes, start: int, line_start: bool = True) -> bool:
    """Whether the line that ends at ``buf[start - 1]`` is blank (only white space); a line that
    began before ``buf`` (when ``buf`` does not start a line) is not."""
    found = buf.rfind(b"\n", 0, start - 1)
    if found < 0 and not line_start:
        return False
    return not buf[found + 1:start].strip()
