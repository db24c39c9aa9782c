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
from pathlib import Path

from .base import open_binary

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
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def read_distribution(path: Path, label: str) -> Iterator[DistributionRow | BadRow]:
    with open_binary(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        names = [c.strip().strip('"').lstrip("\ufeff").lower() for c in header]
        index = {name: names.index(name) for name in COLUMNS if name in names}
        for number, row in enumerate(reader, start=2):
            source = f"{label}:{number}"
            if not any(cell.strip() for cell in row):
                continue
            raw = ",".join(row).encode("utf-8")
            try:
                values = {name: row[i].strip() if i < len(row) else "" for name, i in index.items()}
                delivered_to = values.get("delivered_to", "").lower().strip("<> ")
                if "@" not in delivered_to:
                    raise ValueError(f"delivered_to {values.get('delivered_to')!r} is not an address")
                received_at = parse_time(values.get("received_at", ""))
            except (ValueError, KeyError) as exc:
                yield BadRow(source, "bad_log_row", str(exc)[:200], raw)
                continue
            message_id = values.get("message_id", "").strip().strip("<>") or None
            key = hashlib.sha256(b"|".join(
                part.encode("utf-8") for part in (received_at.isoformat(), message_id or "",
                                                  values.get("sender", ""), delivered_to))).hexdigest()[:32]
            yield DistributionRow(key, received_at, message_id,
                                  values.get("sender", "").lower().strip("<> ") or None,
                                  values.get("subject") or None, delivered_to, source)
