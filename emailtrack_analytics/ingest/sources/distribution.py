"""The multi-distribution system's log: CSV ``received_at,message_id,sender,subject,delivered_to``.

One row per copy the system dispatched. A row that cannot be read is quarantined with its
line number; the others are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

from .base import MAX_LOG_LINE, READ_ERRORS, InputPath, open_binary, read_blocks, read_problem, split_lines

COLUMNS = ["received_at", "message_id", "sender", "subject", "delivered_to"]


@dataclass(frozen=True)
class DistributionRow:
    row_key: str
    received_at: dt.datetime      # UTC, naive
    message_id: str | None
    sender: str | None
    subject: str | None
    delivered_to: str
    source: str


@dataclass(frozen=True)
class BadRow:
    source: str
    reason: str
    detail: str
    data: bytes


def looks_like_distribution(head: bytes) -> bool:
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    names = [c.strip().strip('"').lower() for c in first.strip().split(",")]
    return names[:5] == COLUMNS


def parse_time(value: str) -> dt.datetime:
    """ISO 8601 with an offset, or UTC when none, as naive UTC."""
    text = value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
        except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
            raise ValueError(f"received_at {value.strip()[:40]!r} is out of range") from None
    return parsed


def _lines(handle: io.BufferedIOBase, limit: int, too_long: list[int]) -> Iterator[str]:
    """The file's lines as universal newlines cut them, decoded as UTF-8 (bad bytes replaced);
    a line longer than ``limit`` is skipped unread, an empty line in its place (its length
    noted in ``too_long``)."""
    for line, length in split_lines(read_blocks(handle, 1 << 16), limit, b"\n\r"):
        if line is None:
            too_long.append(length)
            yield "\n"
        else:
            yield line.decode("utf-8", "replace")


def read_distribution(path: InputPath, label: str, max_line: int = MAX_LOG_LINE) -> Iterator[DistributionRow | BadRow]:
    """Rows of the distribution log, numbered as rows (``PATH:N``, the header is row 1). A row the
    CSV reader refuses is a ``bad_log_row``; a line longer than ``max_line`` is ``too_large``
    (skipped unread); a file that breaks off ends with an ``unreadable``/``truncated`` row."""
    too_long: list[int] = []

    def too_large(number: int) -> Iterator[BadRow]:
        for length in too_long:
            yield BadRow(f"{label}:{number}", "too_large", f"line of {length} bytes, longer than {max_line}", b"")
        too_long.clear()

    with open_binary(path) as handle:
        reader = csv.reader(_lines(handle, max_line, too_long))
        number = 1
        try:
            header = next(reader, None)
        except csv.Error as exc:
            yield BadRow(f"{label}:1", "bad_log_row", str(exc)[:200], b"")
            header = []
        except READ_ERRORS as exc:
            yield BadRow(f"{label}:1", *read_problem(exc), b"")
            return
        yield from too_large(1)
        if header is None:
            return
        names = [c.strip().strip('"').lstrip("\ufeff").lower() for c in header]
        index = {name: names.index(name) for name in COLUMNS if name in names}
        while True:
            number += 1
            source = f"{label}:{number}"
            try:
                row = next(reader)
            except StopIteration:
                yield from too_large(number)
                return
            except csv.Error as exc:
                yield from too_large(number)
                yield BadRow(source, "bad_log_row", str(exc)[:200], b"")
                continue
            except READ_ERRORS as exc:
                yield from too_large(number)
                yield BadRow(source, *read_problem(exc), b"")
                return
            yield from too_large(number)
            if not any(cell.strip() for cell in row):
                continue
            entry = _row(row, index, source)
            if entry is not None:
                yield entry


def _row(row: list[str], index: dict[str, int], source: str) -> DistributionRow | BadRow:
    raw = ",".join(row).encode("utf-8", "replace")
    try:
        values = {name: row[i].strip() if i < len(row) else "" for name, i in index.items()}
        delivered_to = values.get("delivered_to", "").lower().strip("<> ")
        if "@" not in delivered_to:
            raise ValueError(f"delivered_to {values.get('delivered_to')!r} is not an address")
        received_at = parse_time(values.get("received_at", ""))
    except (ValueError, KeyError) as exc:
        return BadRow(source, "bad_log_row", str(exc)[:200], raw)
    message_id = values.get("message_id", "").strip().strip("<>") or None
    key = hashlib.sha256(b"|".join(
        part.encode("utf-8", "replace") for part in (received_at.isoformat(), message_id or "",
                                                     values.get("sender", ""), delivered_to))).hexdigest()[:32]
    return DistributionRow(key, received_at, message_id,
                           values.get("sender", "").lower().strip("<> ") or None,
                           values.get("subject") or None, delivered_to, source)
