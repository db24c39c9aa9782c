"""What every mail-log reader yields: one delivery event, or a line it could not read."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

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

    @property
    def row_key(self) -> str:
        basis = "|".join(str(v) for v in (self.log_kind, self.event_time.isoformat(), self.queue_id,
                                          self.message_id, self.recipient, self.status, self.detail))
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
