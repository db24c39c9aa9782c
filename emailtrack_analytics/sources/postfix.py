"""Postfix syslog: delivery events joined across lines by queue id.

``cleanup`` gives a queue id its Message-ID, ``qmgr`` its sender, and each delivery agent
(``smtp``, ``lmtp``, ``local``, ``virtual``, ``pipe``, ``error``) one line per recipient with
``to=``, ``orig_to=`` and ``status=``. Classic syslog timestamps carry no year: it is inferred
from the file's modification time and advanced at each December-to-January turn. A hop to a
content filter on the loopback that re-queues the message (amavis: ``queued as …``) is an
``other`` event: the re-injected copy, under a new queue id and the same Message-ID, carries the
real delivery, so nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from .base import MAX_LOG_LINE, READ_ERRORS, bounded_lines, open_binary, read_problem
from .logs import BadLine, LogEvent, clean_address, clean_message_id

_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CLASSIC = re.compile(r"^(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?\s+(?P<rest>.*)$")
_RFC3339 = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(?P<rest>.*)$")
_BODY = re.compile(r"^(?P<host>\S+)\s+(?P<service>postfix[\w.-]*(?:/[\w.-]+)*)\[(?P<pid>\d+)\]:\s+(?P<text>.*)$")
_QUEUED = re.compile(r"^(?P<queue>[0-9A-F]{6,}|[0-9A-Za-z]{10,}):\s+(?P<rest>.*)$")
_FIELD = re.compile(r"(\w+)=(<[^>]*>|[^,\s]*)")
_NOQUEUE = re.compile(r"^NOQUEUE: (?P<action>reject|discard|hold)[^:]*: (?P<what>.*?); from=<(?P<from>[^>]*)> to=<(?P<to>[^>]*)>")
_DELIVERY_AGENTS = {"smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry", "relay"}
_STATUS = {"sent": "sent", "deliverable": "sent", "deferred": "deferred", "bounced": "bounced",
           "undeliverable": "bounced", "expired": "bounced", "expanded": "expanded"}
_LOOPBACK = re.compile(r"(?:^|\[)(?:127\.\d+\.\d+\.\d+|::1|localhost)\]?(?::\d+)?$", re.IGNORECASE)


def looks_like_postfix(head: bytes) -> bool:
    return re.search(rb"postfix(?:-[\w]+)?(?:/[\w.-]+)+\[\d+\]:", head) is not None


class _YearGuess:
    """Years for year-less syslog stamps, read in order: starts at the file's modification year
    (minus one if the first month is later than that month) and moves on at each Dec→Jan."""

    def __init__(self, modified: dt.datetime):
        self.modified = modified
        self.year: int | None = None
        self.last_month: int | None = None

    def __call__(self, month: int) -> int:
        if self.year is None:
            self.year = self.modified.year - (1 if month > self.modified.month else 0)
        elif self.last_month is not None and month < self.last_month and self.last_month - month >= 6:
            self.year += 1
        self.last_month = month
        return self.year


def _timestamp(line: str, years: _YearGuess, zone: ZoneInfo) -> tuple[dt.datetime, str] | None:
    match = _RFC3339.match(line)
    if match:
        try:  # a month 13 or a year 1 with an offset is no time at all
            stamp = dt.datetime.fromisoformat(match.group("stamp").replace("Z", "+00:00"))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=zone)
            return stamp.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0), match.group("rest")
        except (ValueError, OverflowError):
            return None
    match = _CLASSIC.match(line)
    if not match or match.group("mon") not in _MONTHS:
        return None
    month = _MONTHS[match.group("mon")]
    hour, minute, second = (int(x) for x in match.group("time").split(":"))
    try:
        local = dt.datetime(years(month), month, int(match.group("day")), hour, minute, second, tzinfo=zone)
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None), match.group("rest")
    except (ValueError, OverflowError):
        return None


def _modified(path: Path, zone: ZoneInfo) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(os.stat(path).st_mtime, tz=zone)
    except (OverflowError, OSError, ValueError):  # a modification time out of range
        return dt.datetime.now(tz=zone)


_NEWLINES = re.compile(rb"\r(?!\n)")


def _text_lines(handle, limit: int) -> Iterator[tuple[int, str | None, int]]:
    """(number, text, length) of each line, ended by ``\n``, ``\r\n`` or ``\r`` as universal
    newlines read them, decoded as UTF-8 (bad bytes replaced); text is None for a line longer
    than ``limit``, skipped unread."""
    number = 0
    for line in bounded_lines(handle, limit):
        if line.data is None:
            number += 1
            yield number, None, line.length
            continue
        pieces = _NEWLINES.split(line.data) if b"\r" in line.data else [line.data]
        if not pieces[-1]:
            pieces.pop()  # the line ended with a bare "\r"
        for piece in pieces:
            number += 1
            yield number, piece.decode("utf-8", "replace"), len(piece)


def read_postfix(path: Path, label: str, timezone: str = "UTC",
                 max_line: int = MAX_LOG_LINE) -> Iterator[LogEvent | BadLine]:
    """Delivery events of a Postfix log; lines that look like Postfix but cannot be read are
    ``BadLine``s; other programs' lines (amavis, dovecot, …) are passed over. A line longer than
    ``max_line`` is a ``too_large`` BadLine (skipped without being held in memory); a file that
    breaks off (a truncated gzip) ends with an ``unreadable``/``truncated`` BadLine."""
    zone = ZoneInfo(timezone)
    years = _YearGuess(_modified(path, zone))
    message_ids: dict[str, str] = {}
    senders: dict[str, str] = {}
    number = 0
    with open_binary(path) as handle:
        lines = _text_lines(handle, max_line)
        while True:
            try:
                number, line, length = next(lines)
            except StopIteration:
                break
            except READ_ERRORS as exc:
                reason, detail = read_problem(exc)
                yield BadLine(f"{label}:{number + 1}", reason, detail, b"")
                break
            source = f"{label}:{number}"
            if line is None:
                yield BadLine(source, "too_large", f"line of {length} bytes, longer than {max_line}", b"")
                continue
            line = line.rstrip("\r\n")
            if not line or line.startswith("#") or "postfix" not in line:
                continue
            try:
                stamped = _timestamp(line, years, zone)
                body = _BODY.match(stamped[1]) if stamped else None
                if not stamped or not body:
                    yield BadLine(source, "bad_log_line", "not a Postfix syslog line", line.encode("utf-8", "replace"))
                    continue
                when, agent = stamped[0], body.group("service").rsplit("/", 1)[-1]
                event = _event(when, agent, body.group("text"), source, message_ids, senders)
            except Exception as exc:  # noqa: BLE001 - one odd line never stops the file
                yield BadLine(source, "bad_log_line", f"{type(exc).__name__}: {exc}"[:200],
                              line.encode("utf-8", "replace"))
                continue
            if isinstance(event, str):
                yield BadLine(source, event, "a delivery line without its status (cut short?)",
                              line.encode("utf-8", "replace"))
            elif event is not None:
                yield event


def _event(when, agent: str, text: str, source: str, message_ids: dict, senders: dict) -> LogEvent | str | None:
    """The event of one line; None for lines that are not deliveries; a reason for a broken one."""
    noqueue = _NOQUEUE.match(text)
    if noqueue:
        return LogEvent(when, "postfix", None, clean_address(noqueue.group("from")),
                        clean_address(noqueue.group("to")), None, "rejected", source,
                        detail=noqueue.group("what")[:300])
    queued = _QUEUED.match(text)
    if not queued:
        return None
    queue, rest = queued.group("queue"), queued.group("rest")
    if agent == "cleanup" and rest.startswith("message-id="):
        value = rest[len("message-id="):].split()
        message_ids[queue] = clean_message_id(value[0] if value else "")
        return None
    fields = dict(_FIELD.findall(rest.split(" (", 1)[0]))
    if agent == "qmgr" and "from" in fields:
        senders[queue] = clean_address(fields["from"])
        return None
    if agent == "qmgr" and rest == "removed":
        return None  # the queue id may be reused later: forget it then, not now (lines can be late)
    if agent not in _DELIVERY_AGENTS or "to" not in fields:
        return None
    if "status" not in fields:
        return "truncated_log_line"
    status = _STATUS.get(fields["status"], "other")
    answer = rest.split(" (", 1)[1].rstrip(")") if " (" in rest else ""
    relay = fields.get("relay")
    detail = answer[:300] or None
    if status == "sent" and relay and _LOOPBACK.search(relay) and "queued as" in answer:
        status, detail = "other", f"content filter hop: {answer[:280]}"
    return LogEvent(when, "postfix", message_ids.get(queue), senders.get(queue), clean_address(fields["to"]),
                    clean_address(fields.get("orig_to")), status, source, relay=relay, queue_id=queue,
                    detail=detail)
