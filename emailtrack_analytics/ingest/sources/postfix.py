"""Postfix syslog: delivery events joined across lines by queue id.

A queue id names one message only during its stay in one Postfix queue: from its first line
(``smtpd`` ``client=``, ``pickup`` or ``cleanup``) to ``qmgr``'s ``removed``. Within that
lifetime ``cleanup`` gives the Message-ID, ``qmgr`` ``from=`` the envelope sender, and each
delivery line (``smtp``, ``lmtp``, ``local``, ``virtual``, ``pipe``, ``error``… and ``qmgr``'s
own ``status=expired``) one recipient with ``to=``, ``orig_to=`` and ``status=``. Short queue
ids come back (days later, or at once after a restart), several messages' lines interleave and
one file may hold several hosts or Postfix instances: lines are joined on (host, instance,
queue id) and only within a lifetime; a delivery line is held until its message's ``removed``
(or the end of the file) so that a sender logged late still joins it.

Classic syslog timestamps carry no year: it is inferred from the file's modification time and
advanced at each December-to-January turn.

Content filters: a hop that hands the message back to Postfix (amavis answers ``queued as
NEWID``, and ``NEWID`` is logged with the same Message-ID, or the hop goes to the loopback) is
an ``other`` event; the re-injected copy, under its new queue id, carries the real delivery, so
a delivery is counted once. Address-verification probes (``status=deliverable`` or
``undeliverable``) are ``other`` too: no message was delivered.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias
from zoneinfo import ZoneInfo

from .base import MAX_LOG_LINE, READ_ERRORS, InputPath, bounded_lines, modified_time, open_binary, read_problem
from .logs import BadLine, LogEvent, clean_address, clean_message_id, numbered

_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CLASSIC = re.compile(r"^(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?\s+(?P<rest>.*)$")
_RFC3339 = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(?P<rest>.*)$")
_BODY = re.compile(r"^(?P<host>\S+)\s+(?P<service>postfix[\w.-]*(?:/[\w.-]+)*)\[(?P<pid>\d+)\]:\s+(?P<text>.*)$")
_QUEUED = re.compile(r"^(?P<queue>[0-9A-F]{6,}|[0-9A-Za-z]{10,}):\s+(?P<rest>.*)$")
_FIELD = re.compile(r"(\w+)=(<[^>]{0,1024}>|[^,\s]{0,1024})")  # bounded: see _NOQUEUE
# smtpd and postscreen rejections, before a queue id (postscreen separates the fields with ", ")
# (addresses bounded: an unbounded class was scanned to the end of the line from every "; from=<"
# of a hostile line, quadratic time)
_NOQUEUE = re.compile(r"^NOQUEUE: (?P<action>reject|discard|hold)[^:]{0,200}: (?P<what>.*?); "
                      r"from=<(?P<from>[^>]{0,512})>,? to=<(?P<to>[^>]{0,512})>")
# a queued message refused by header/body checks or a milter: it is never delivered
_QUEUED_REJECT = re.compile(r"^(?P<action>reject|milter-reject|discard|milter-discard): (?P<what>.*?); "
                            r"from=<(?P<from>[^>]{0,512})>,? to=<(?P<to>[^>]{0,512})>")
_ACTIONS = {"reject": "rejected", "milter-reject": "rejected", "discard": "other", "milter-discard": "other",
            "hold": "other"}
# qmgr writes delivery lines itself for a message that expires or a dead destination
_DELIVERY_AGENTS = {"smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry", "relay", "qmgr"}
_QUEUE_MANAGERS = {"qmgr", "nqmgr", "oqmgr"}
_STATUS = {"sent": "sent", "deferred": "deferred", "bounced": "bounced", "expired": "bounced",
           "expanded": "expanded"}
_PROBES = {"deliverable", "undeliverable"}  # address verification: nothing was delivered
_QUEUED_AS = re.compile(r"\bqueued as ([0-9A-Za-z]+)")
LATE_SECONDS = 60          # a delivery line logged this long after its message's "removed" still joins it
HELD_DELIVERIES = 100_000  # delivery lines held before the oldest messages are given out unfinished
OPEN_MESSAGES = 200_000    # messages followed at once (a log without "removed" lines)
RECENT_IDS = 50_000        # queue ids whose Message-ID is kept to recognise a re-injected copy
# longer than a queued message stays silent (qmgr logs every retry, at most maximal_backoff_time
# apart: 4,000 s by default): a line this long after its queue id's last one belongs to a later
# message under the same id. A message deferred for weeks keeps its lines coming and its id.
QUEUE_LIFETIME = dt.timedelta(days=7)
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


def _modified(path: InputPath, zone: ZoneInfo) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(modified_time(path), tz=zone)
    except (OverflowError, OSError, ValueError):  # a modification time out of range
        return dt.datetime.now(tz=zone)


_NEWLINES = re.compile(rb"\r(?!\n)")


def _text_lines(handle: io.BufferedIOBase, limit: int) -> Iterator[tuple[int, str | None, int]]:
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


def read_postfix(path: InputPath, label: str, timezone: str = "UTC",
                 max_line: int = MAX_LOG_LINE) -> Iterator[LogEvent | BadLine]:
    """Delivery events of a Postfix log; lines that look like Postfix but cannot be read are
    ``BadLine``s; other programs' lines (amavis, dovecot, …) are passed over. A line longer than
    ``max_line`` is a ``too_large`` BadLine (skipped without being held in memory); a file that
    breaks off (a truncated gzip) ends with an ``unreadable``/``truncated`` BadLine. Events come
    out when their message leaves the queue, not in line order."""
    return numbered(_read(path, label, timezone, max_line))


def _read(path: InputPath, label: str, timezone: str, max_line: int) -> Iterator[LogEvent | BadLine]:
    zone = ZoneInfo(timezone)
    years = _YearGuess(_modified(path, zone))
    queues = _Queues()
    number = 0
    try:
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
                        yield BadLine(source, "bad_log_line", "not a Postfix syslog line",
                                      line.encode("utf-8", "replace"))
                        continue
                    service = body.group("service")
                    found = queues.line(stamped[0], body.group("host"), service.split("/", 1)[0],
                                        service.rsplit("/", 1)[-1], body.group("text"), number, source)
                except Exception as exc:  # noqa: BLE001 - one odd line never stops the file
                    yield BadLine(source, "bad_log_line", f"{type(exc).__name__}: {exc}"[:200],
                                  line.encode("utf-8", "replace"))
                    continue
                if isinstance(found, str):
                    yield BadLine(source, found, "a delivery line without its status (cut short?)",
                                  line.encode("utf-8", "replace"))
                else:
                    yield from found
    except Exception:  # an error the caller quarantines: the deliveries held so far are kept
        yield from queues.finish()
        raise
    yield from queues.finish()


@dataclass
class _Delivery:
    """A delivery line held until its message's sender and Message-ID are known for sure."""

    number: int
    when: dt.datetime
    recipient: str | None
    original_recipient: str | None
    status: str
    source: str
    relay: str | None
    queue_id: str
    detail: str | None
    requeued_as: str | None = None   # "queued as NEWID" in the answer of a hop to a content filter


@dataclass
class _Message:
    """One message's lifetime under one queue id on one host and Postfix instance."""

    first: int                       # line number where it was first seen
    since: dt.datetime               # time of that line
    message_id: str | None = None
    sender: str | None = None
    has_sender: bool = False         # qmgr from= seen (from=<> is a null sender, not an unknown one)
    pickup_sender: str | None = None
    deliveries: list[_Delivery] = field(default_factory=list)
    removed_at: dt.datetime | None = None
    last_seen: dt.datetime | None = None  # time of its latest line


_Key: TypeAlias = "tuple[str, str, str]"  # host, Postfix instance, queue id


class _Queues:
    """The messages in the queues of a log, each followed from its first line to ``removed``."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str, str], _Message] = {}
        self.removed: OrderedDict[tuple[str, str, str], _Message] = OrderedDict()
        # Message-ID of each queue id seen lately, whatever the host: a hop's "queued as NEWID"
        # is a re-injection when NEWID carries the same Message-ID
        self.message_ids: OrderedDict[str, str] = OrderedDict()
        self.held = 0

    def line(self, when: dt.datetime, host: str, instance: str, agent: str, text: str, number: int,
             source: str) -> list[LogEvent] | str:
        """The events a line completes; a reason for a broken delivery line."""
        noqueue = _NOQUEUE.match(text)
        if noqueue:
            return [LogEvent(when, "postfix", None, clean_address(noqueue.group("from")),
                             clean_address(noqueue.group("to")), None, _ACTIONS[noqueue.group("action")], source,
                             detail=noqueue.group("what")[:300])]
        queued = _QUEUED.match(text)
        if not queued:
            return []
        queue, rest = queued.group("queue"), queued.group("rest")
        key = (host, instance, queue)
        out: list[LogEvent] = []
        if rest.startswith("client=") or (agent == "pickup" and "from=" in rest):
            message = self._start(key, number, when, out)
            if agent == "pickup":
                message.pickup_sender = clean_address(dict(_FIELD.findall(rest)).get("from"))
        elif rest.startswith("message-id="):
            self._message_id(key, rest, number, when, out)
        elif rest == "removed" and (agent in _QUEUE_MANAGERS or agent == "postsuper"):
            self._removed(key, when, out)
        else:
            return self._delivery(key, agent, rest, number, when, source, out)
        return out

    def _message_id(self, key: _Key, rest: str, number: int, when: dt.datetime, out: list[LogEvent]) -> None:
        value = rest[len("message-id="):].split()
        message_id = clean_message_id(value[0] if value else "")
        message = self._current(key, when)
        if message is None or message.message_id or message.has_sender or message.deliveries:
            message = self._start(key, number, when, out)
        message.message_id = message_id
        if message_id:
            self._remember(key[2], message_id)

    def _removed(self, key: _Key, when: dt.datetime, out: list[LogEvent]) -> None:
        message = self.open.pop(key, None)
        if message is not None:
            message.removed_at = when
            out.extend(self._give_out(message))
            self.removed[key] = message
            self.removed.move_to_end(key)
            while len(self.removed) > 10_000:
                self.removed.popitem(last=False)

    def _delivery(self, key: _Key, agent: str, rest: str, number: int, when: dt.datetime, source: str,
                  out: list[LogEvent]) -> list[LogEvent] | str:
        """A line with a recipient (a delivery or a rejection) or a queue manager's sender line."""
        queue = key[2]
        rejected = _QUEUED_REJECT.match(rest)
        if rejected:
            message = self._message(key, number, when, out)
            out.extend(self._hold(message, _Delivery(
                number, when, clean_address(rejected.group("to")), None, _ACTIONS[rejected.group("action")],
                source, None, queue, rejected.group("what")[:300]), out))
            return out
        fields = dict(_FIELD.findall(rest.split(" (", 1)[0]))
        if agent in _QUEUE_MANAGERS and "from" in fields and "to" not in fields:
            self._sender(key, clean_address(fields["from"]), number, when, out)
            return out
        if agent not in _DELIVERY_AGENTS and agent not in _QUEUE_MANAGERS or "to" not in fields:
            return out
        if "status" not in fields:
            return "truncated_log_line"
        answer = rest.split(" (", 1)[1].rstrip(")") if " (" in rest else ""
        word = fields["status"]
        status = "other" if word in _PROBES else _STATUS.get(word, "other")
        detail = (f"address verification probe: {answer}" if word in _PROBES else answer)[:300] or None
        requeued = _QUEUED_AS.search(answer) if status == "sent" else None
        delivery = _Delivery(number, when, clean_address(fields["to"]), clean_address(fields.get("orig_to")), status,
                             source, fields.get("relay"), queue, detail, requeued.group(1) if requeued else None)
        message = self._message(key, number, when, out)
        out.extend(self._hold(message, delivery, out))
        return out

    def _sender(self, key: _Key, sender: str | None, number: int, when: dt.datetime, out: list[LogEvent]) -> None:
        message = self._current(key, when)
        if message is not None and message.has_sender and message.sender != sender:
            message = None  # another message: the first one's "removed" is not in the log
        if message is None:
            message = self._start(key, number, when, out)
        message.sender, message.has_sender = sender, True

    def finish(self) -> Iterator[LogEvent]:
        """The messages still in the queue when the log ends, in the order they were first seen."""
        for message in sorted(self.open.values(), key=lambda m: m.first):
            yield from self._give_out(message)
        self.open.clear()

    # ----------------------------------------------------------------------- lifetimes

    def _current(self, key: _Key, when: dt.datetime) -> _Message | None:
        """The open message of ``key``, unless its id has been silent longer than a queued message
        stays silent (QUEUE_LIFETIME)."""
        message = self.open.get(key)
        if message is None:
            return None
        if when - (message.last_seen or message.since) > QUEUE_LIFETIME:
            return None
        message.last_seen = max(when, message.last_seen or when)
        return message

    def _start(self, key: _Key, number: int, when: dt.datetime, out: list[LogEvent]) -> _Message:
        """A new lifetime for ``key``; one still open, whose ``removed`` is not in the log, is
        given out as it is."""
        previous = self.open.pop(key, None)
        if previous is not None:
            out.extend(self._give_out(previous))
        message = _Message(number, when)
        self.open[key] = message
        if len(self.open) > OPEN_MESSAGES:  # a log without "removed": forget the oldest
            oldest = next(iter(self.open))
            out.extend(self._give_out(self.open.pop(oldest)))
        return message

    def _message(self, key: _Key, number: int, when: dt.datetime, out: list[LogEvent]) -> _Message:
        """The message a delivery line of ``key`` belongs to: the open one, else one removed
        moments before (its line came late), else one whose first lines are not in the log."""
        message = self._current(key, when)
        if message is not None:
            return message
        late = self.removed.get(key)
        if late is not None and late.removed_at is not None and key not in self.open \
                and abs((when - late.removed_at).total_seconds()) <= LATE_SECONDS:
            return late
        return self._start(key, number, when, out)

    def _hold(self, message: _Message, delivery: _Delivery, out: list[LogEvent]) -> list[LogEvent]:
        if message.removed_at is not None:  # a late line: its message has been given out already
            return [self._event(message, delivery)]
        message.deliveries.append(delivery)
        self.held += 1
        if self.held > HELD_DELIVERIES:  # a log without "removed" lines: give the oldest out
            for waiting in sorted(self.open.values(), key=lambda m: m.first):
                out.extend(self._give_out(waiting))
                if self.held <= HELD_DELIVERIES // 2:
                    break
        return []

    def _give_out(self, message: _Message) -> list[LogEvent]:
        events = [self._event(message, d) for d in message.deliveries]
        self.held -= len(message.deliveries)
        message.deliveries = []
        return events

    def _remember(self, queue: str, message_id: str) -> None:
        self.message_ids[queue] = message_id
        self.message_ids.move_to_end(queue)
        while len(self.message_ids) > RECENT_IDS:
            self.message_ids.popitem(last=False)

    def _event(self, message: _Message, d: _Delivery) -> LogEvent:
        status, detail = d.status, d.detail
        if d.requeued_as and (
                (message.message_id and self.message_ids.get(d.requeued_as) == message.message_id)
                or (d.relay and _LOOPBACK.search(d.relay))):
            status, detail = "other", f"content filter hop: {(detail or '')[:280]}"
        sender = message.sender if message.has_sender else message.pickup_sender
        return LogEvent(d.when, "postfix", message.message_id, sender, d.recipient, d.original_recipient, status,
                        d.source, relay=d.relay, queue_id=d.queue_id, detail=detail)
