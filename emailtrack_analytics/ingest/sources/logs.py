"""What every mail-log reader yields: one delivery event, or a line it could not read."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

STATUSES = ("sent", "deferred", "bounced", "rejected", "expanded", "other")


@dataclass(frozen=True)
class LogEvent:
    """One delivery (or attempt) of one message to one recipient, as a mail log tells it."""

    event_time: dt.datetime          # naive UTC
    log_kind: str                    # postfix | m365 | gws | distribution
    message_id: str | None
    sender: str | None
    recipient: str | None
    original_recipient: str | None   # before alias expansion or forwarding (Postfix orig_to)
    status: str                      # one of STATUSES
    source: str                      # PATH:N, N the line (or row) number
    relay: str | None = None
    queue_id: str | None = None
    detail: str | None = None        # the server's answer, DSN code, or why the line is "other"
    subject: str | None = None
    occurrence: int = 1              # n-th event of its file with the same key basis (see ``numbered``)

    @property
    def basis(self) -> str:
        return "|".join(str(v) for v in (self.log_kind, self.event_time.isoformat(), self.queue_id,
                                         self.message_id, self.recipient, self.status, self.detail))

    @property
    def row_key(self) -> str:
        # the first occurrence keeps the key it had before occurrences were counted, so a log
        # read again (it grew, or was rotated) adds nothing it had already given
        basis = self.basis if self.occurrence == 1 else f"{self.basis}|#{self.occurrence}"
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class BadLine:
    source: str
    reason: str
    detail: str
    data: bytes


def clean_address(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().strip("<>").strip().lower()
    return value or None


def clean_message_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    return value or None


RECENT_KEYS = 100_000  # key bases remembered per file: alike lines are written moments apart


def numbered(entries: Iterable[LogEvent | BadLine]) -> Iterator[LogEvent | BadLine]:
    """The entries of one log file, each event numbered among the events of that file with the
    same key basis (time to the second, queue id, Message-ID, recipient, status, answer): two
    delivery lines that say the same (the same message delivered twice to one address in a
    second by two agents, two trace rows without a Message-ID) are two rows, not one."""
    seen: OrderedDict[bytes, int] = OrderedDict()
    for entry in entries:
        if isinstance(entry, LogEvent):
            digest = hashlib.sha256(entry.basis.encode("utf-8")).digest()[:16]
            count = seen.pop(digest, 0) + 1
            seen[digest] = count
            if len(seen) > RECENT_KEYS:
                seen.popitem(last=False)
            if count > 1:
                entry = replace(entry, occurrence=count)
        yield entry
