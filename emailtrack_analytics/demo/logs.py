"""What the points of sale's own mail systems saw, for the demo data set: mail logs and mailbox exports.

Used only by :mod:`emailtrack_analytics.demo.sample`. The generator records one
:class:`MailboxDelivery` per message that reached a point of sale's own mailbox (leads that were
tracked and leads that were not, non-lead mail, mail to a group list), with the server-side
forward of that message to a tracked address when there is one (:class:`ForwardLeg`), and the
connection attempts its group's server refused (:class:`Rejection`). The writers here render
them the way each group's mail platform exports them:

- :func:`write_postfix_logs`: classic syslog lines of the network's own Postfix server, one file
  per month (``mail.log``, then ``mail.log.1.gz`` … for older months), year-less time stamps in
  Europe/Paris, each file's modification time set to the end of the month it covers;
- :func:`write_m365_logs`: Microsoft 365 classic message trace (Windows PowerShell ``Export-Csv``)
  per month, and a historical search "enhanced summary" (UTF-16LE) for the last month;
- :func:`write_gws_logs`: Google Workspace email log search exports per month;
- :func:`write_mailbox_export`: one point of sale's own mailbox as an mboxrd file.

Every writer is pure given its inputs and its ``random.Random``: the same inputs give the same bytes.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import os
import random
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc

POSTFIX_HOST = "mx"                                  # the syslog host field of the network's server
POSTFIX_FQDN = "mx.agence-exemple.fr"
TRACKING_RELAY = ("mx.track.example.net", "198.51.100.7")   # the tracking service's inbound server
M365_ORGANIZATION = "agenceexemple.onmicrosoft.com"
MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

M365_TRACE_COLUMNS = ["Organization", "MessageId", "Received", "SenderAddress", "RecipientAddress", "Subject",
                      "Status", "ToIP", "FromIP", "Size", "MessageTraceId"]
M365_HISTORICAL_COLUMNS = ["origin_timestamp_utc", "sender_address", "recipient_status", "message_subject",
                           "total_bytes", "message_id", "network_message_id", "original_client_ip",
                           "directionality", "connector_id", "delivery_priority"]
GWS_COLUMNS = ["Message ID", "Start date", "End date", "Sender", "Message size", "Subject", "Direction",
               "Attachments", "Recipient address", "Event target", "Event date", "Event status",
               "Event target IP address", "Has encryption", "Event SMTP reply code", "Event description"]


# --------------------------------------------------------------------------- what the generator records

@dataclass
class ForwardLeg:
    """A server-side forward (alias, redirect, Gmail filter) of a delivered message to a tracked
    address: each attempt as (when, ``sent`` | ``deferred`` | ``bounced``), the last one final."""

    tracked_address: str
    attempts: list[tuple[dt.datetime, str]]

    @property
    def status(self) -> str:
        return self.attempts[-1][1]

    @property
    def done_at(self) -> dt.datetime:
        return self.attempts[-1][0]


@dataclass
class MailboxDelivery:
    """One message delivered to one point of sale's own mailbox (or to a group list expanded to
    several mailboxes), as its group's mail platform handled it."""

    group: str
    point_of_sale: str                 # "" for a message to a group list
    mailboxes: tuple[str, ...]         # final recipients on the platform
    delivered_at: dt.datetime          # aware; when the mailbox stored it
    message_id: str                    # with angle brackets; "" when the message has none
    sender: str                        # envelope sender
    client: tuple[str, str]            # (host name, IP) of the server that handed it over
    subject: str
    size: int
    category: str                      # the contract's categories: lead, notification, spam, ...
    lead_id: str = ""
    portal: str = ""
    attachments: int = 0
    forward: ForwardLeg | None = None
    list_address: str = ""             # the group list the message was sent to, expanded to ``mailboxes``
    raw: bytes = b""                   # the message as sent (kept only where a mailbox export needs it)


@dataclass(frozen=True)
class Rejection:
    """A message the group's server refused before accepting it (spam source, unknown recipient)."""

    group: str
    at: dt.datetime
    sender: str
    recipient: str
    client: tuple[str, str]
    subject: str
    reason: str                        # blocklist | unknown_recipient


@dataclass
class LogFiles:
    """What a writer wrote: files (workspace-relative), and lines or rows per file."""

    kind: str
    files: dict[str, int] = field(default_factory=dict)
    truncated_line: str = ""           # PATH:N of the line cut short on purpose, if any

    @property
    def lines(self) -> int:
        return sum(self.files.values())


# --------------------------------------------------------------------------- shared helpers

def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """First instant of ``month`` (``YYYY-MM``) and of the next one, in Europe/Paris."""
    year, number = map(int, month.split("-"))
    start = dt.datetime(year, number, 1, tzinfo=PARIS)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=PARIS)
    return start, end


def _paris_month(moment: dt.datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m")


def _set_mtime(path: Path, moment: dt.datetime) -> None:
    stamp = int(moment.timestamp())
    os.utime(path, (stamp, stamp))


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _bare(message_id: str) -> str:
    return message_id.strip("<>")


def mboxrd_entry(raw: bytes, when: dt.datetime) -> bytes:
    """One mboxrd entry: ``From `` line (UTC), body ``From `` lines escaped, blank line after."""
    stamp = time.asctime(when.astimezone(UTC).timetuple())
    return f"From MAILER-DAEMON {stamp}\n".encode() + re.sub(rb"(?m)^(>*From )", rb">\1", raw) + b"\n"


def _in_window(moment: dt.datetime, months: list[str]) -> str:
    """The window month a line written at ``moment`` belongs to (first/last month at the edges)."""
    month = _paris_month(moment)
    return min(max(month, months[0]), months[-1])


# --------------------------------------------------------------------------- Postfix

def _postfix_seconds(value: float) -> str:
    """A duration as Postfix prints it: ``0``, ``0.42``, ``1.2``, ``23``."""
    if value < 0.01:
        return "0"
    if value < 1:
        return f"{value:.2f}".rstrip("0")
    if value < 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.0f}"


class _PostfixLog:
    """Renders deliveries as the lines ``mx.agence-exemple.fr``'s Postfix writes to syslog."""

    def __init__(self, rng: random.Random, content_filter_share: float):
        self.rng = rng
        self.content_filter_share = content_filter_share
        self.lines: list[tuple[dt.datetime, int, str]] = []
        self.queue_ids: set[str] = set()
        self.qmgr_pid = rng.randint(1100, 1900)
        self.cleanup_pids = [rng.randint(2000, 30000) for _ in range(3)]
        self.delivery_pids = [rng.randint(2000, 30000) for _ in range(6)]

    # ---- line primitives

    def queue_id(self) -> str:
        """A new short queue id: 11 upper-case hex digits, unique in the log."""
        while True:
            queue = f"{self.rng.getrandbits(44):011X}"
            if queue not in self.queue_ids:
                self.queue_ids.add(queue)
                return queue

    def emit(self, when: dt.datetime, service: str, pid: int, text: str) -> None:
        self.lines.append((when, len(self.lines), self._line(when, f"postfix/{service}", pid, text)))

    def emit_other(self, when: dt.datetime, program: str, pid: int, text: str) -> None:
        self.lines.append((when, len(self.lines), self._line(when, program, pid, text)))

    @staticmethod
    def _line(when: dt.datetime, program: str, pid: int, text: str) -> str:
        local = when.astimezone(PARIS)
        return (f"{MONTH_ABBREVIATIONS[local.month - 1]} {local.day:2d} {local:%H:%M:%S} "
                f"{POSTFIX_HOST} {program}[{pid}]: {text}")

    def _delays(self, total: float) -> str:
        """``delay=…, delays=a/b/c/d`` for a delivery that took ``total`` seconds in all."""
        total = max(total, 0.05)
        before = min(total * 0.3, self.rng.uniform(0.02, 0.4))
        queued = min((total - before) * 0.1, self.rng.uniform(0.0, 0.02))
        setup = min((total - before - queued) * 0.5, self.rng.uniform(0.0, 0.1))
        transfer = max(total - before - queued - setup, 0.0)
        parts = "/".join(_postfix_seconds(value) for value in (before, queued, setup, transfer))
        return f"delay={_postfix_seconds(total)}, delays={parts}"

    def _token(self) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        return "".join(self.rng.choice(alphabet) for _ in range(22))

    # ---- messages

    def delivery(self, d: MailboxDelivery) -> None:
        """The line sequence of one accepted message: smtpd, cleanup, qmgr, an optional
        content-filter hop and its re-injected copy, the local deliveries, the forward leg."""
        rng = self.rng
        accepted = d.delivered_at - dt.timedelta(milliseconds=rng.randint(300, 1500))
        given = 1 if d.list_address else len(d.mailboxes)
        scanned = rng.random() < self.content_filter_share
        # with a content filter, aliases are expanded only when the scanned copy is re-injected
        queue = self._receive(d, accepted, given, given if scanned else self._recipient_count(d))
        if scanned:
            queue, accepted = self._content_filter_hop(d, queue, accepted)
        last = self._deliver(d, queue, accepted)
        self.emit(last + dt.timedelta(milliseconds=8), "qmgr", self.qmgr_pid, f"{queue}: removed")

    def _receive(self, d: MailboxDelivery, at: dt.datetime, given: int, queued: int) -> str:
        """smtpd accepts the message from ``d.client`` for ``given`` envelope recipients, cleanup
        logs its Message-ID, qmgr queues it for ``queued`` recipients; returns its queue id."""
        host, ip = d.client
        smtpd = self.rng.randint(2000, 32000)
        peer = f"{host}[{ip}]"
        self.emit(at, "smtpd", smtpd, f"connect from {peer}")
        queue = self.queue_id()
        self.emit(at, "smtpd", smtpd, f"{queue}: client={peer}")
        if d.message_id:
            self.emit(at + dt.timedelta(milliseconds=40), "cleanup", self.rng.choice(self.cleanup_pids),
                      f"{queue}: message-id={d.message_id}")
        self.emit(at + dt.timedelta(milliseconds=70), "qmgr", self.qmgr_pid,
                  f"{queue}: from=<{d.sender}>, size={d.size}, nrcpt={queued} (queue active)")
        self.emit(at + dt.timedelta(milliseconds=110), "smtpd", smtpd,
                  f"disconnect from {peer} ehlo=2 starttls=1 mail=1 rcpt={given} data=1 quit=1 commands={6 + given}")
        return queue

    @staticmethod
    def _recipient_count(d: MailboxDelivery) -> int:
        return len(d.mailboxes) + (1 if d.forward else 0)

    def _content_filter_hop(self, d: MailboxDelivery, queue: str, accepted: dt.datetime) -> tuple[str, dt.datetime]:
        """amavis on 127.0.0.1:10024 scans the message and re-injects it on :10025 under a new
        queue id (same Message-ID); the first queue's only line with ``to=`` is the hop."""
        rng = self.rng
        hop_at = accepted + dt.timedelta(milliseconds=rng.randint(300, 900))
        reinjected_at = hop_at - dt.timedelta(milliseconds=rng.randint(20, 120))
        new_queue = self.queue_id()
        recipients = [d.list_address] if d.list_address else list(d.mailboxes)
        pid = rng.choice(self.delivery_pids)
        for rcpt in recipients:
            self.emit(hop_at, "smtp", pid,
                      f"{queue}: to=<{rcpt}>, relay=127.0.0.1[127.0.0.1]:10024, "
                      f"{self._delays((hop_at - accepted).total_seconds())}, dsn=2.0.0, status=sent "
                      f"(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as {new_queue})")
        amavis = rng.randint(3000, 9000)
        hits = rng.choice(["-1.9", "-0.1", "0.8", "1.2", "2.4"]) if d.category != "spam" else f"{rng.uniform(5, 9):.1f}"
        self.emit_other(hop_at, "amavis", amavis,
                        f"({amavis}-{rng.randint(1, 40):02d}) Passed {'SPAMMY' if d.category == 'spam' else 'CLEAN'} "
                        f"{{RelayedInbound}}, [{d.client[1]}]:{rng.randint(30000, 60000)} <{d.sender}> -> "
                        f"{','.join(f'<{r}>' for r in recipients)}, Queue-ID: {queue}, "
                        f"Message-ID: {d.message_id or '<>'}, mail_id: {self._token()[:12]}, Hits: {hits}, "
                        f"size: {d.size}, queued_as: {new_queue}, {rng.randint(300, 1500)} ms")
        self._receive_reinjected(d, new_queue, reinjected_at)
        self.emit(hop_at + dt.timedelta(milliseconds=5), "qmgr", self.qmgr_pid, f"{queue}: removed")
        return new_queue, reinjected_at

    def _receive_reinjected(self, d: MailboxDelivery, queue: str, at: dt.datetime) -> None:
        """The scanned copy coming back from amavis on :10025, aliases expanded this time."""
        smtpd = self.rng.randint(2000, 32000)
        peer = "localhost[127.0.0.1]"
        self.emit(at, "smtpd", smtpd, f"connect from {peer}")
        self.emit(at, "smtpd", smtpd, f"{queue}: client={peer}")
        if d.message_id:
            self.emit(at + dt.timedelta(milliseconds=10), "cleanup", self.rng.choice(self.cleanup_pids),
                      f"{queue}: message-id={d.message_id}")
        self.emit(at + dt.timedelta(milliseconds=15), "qmgr", self.qmgr_pid,
                  f"{queue}: from=<{d.sender}>, size={d.size + 612}, nrcpt={self._recipient_count(d)} (queue active)")
        self.emit(at + dt.timedelta(milliseconds=20), "smtpd", smtpd,
                  f"disconnect from {peer} ehlo=1 mail=1 rcpt={len(d.mailboxes) if not d.list_address else 1} "
                  f"data=1 quit=1 commands=5")

    def _deliver(self, d: MailboxDelivery, queue: str, accepted: dt.datetime) -> dt.datetime:
        """The lmtp line of each mailbox, then the forward leg; returns the last line's time."""
        rng = self.rng
        at = max(d.delivered_at, accepted + dt.timedelta(milliseconds=150))
        pid = rng.choice(self.delivery_pids)
        for mailbox in d.mailboxes:
            orig = f"orig_to=<{d.list_address}>, " if d.list_address else ""
            self.emit(at, "lmtp", pid,
                      f"{queue}: to=<{mailbox}>, {orig}relay={POSTFIX_FQDN}[private/dovecot-lmtp], "
                      f"{self._delays((at - accepted).total_seconds())}, dsn=2.0.0, "
                      f"status=sent (250 2.0.0 <{mailbox}> {self._token()} Saved)")
        last = at
        if d.forward:
            last = self._forward(d, queue, accepted, at)
        return last

    def _forward(self, d: MailboxDelivery, queue: str, accepted: dt.datetime, delivered: dt.datetime) -> dt.datetime:
        """The ``postfix/smtp`` line of each attempt of the forward leg (``orig_to`` the mailbox);
        a bounce also notifies the sender. Returns the last line's time."""
        rng = self.rng
        host, ip = TRACKING_RELAY
        assert d.forward is not None, "called for deliveries with a forward leg only"
        tracked, mailbox = d.forward.tracked_address, d.mailboxes[0]
        last = delivered
        for when, status in d.forward.attempts:
            when = max(when, delivered + dt.timedelta(milliseconds=20))
            pid = rng.choice(self.delivery_pids)
            head = f"{queue}: to=<{tracked}>, orig_to=<{mailbox}>, "
            if status == "deferred":
                self.emit(when, "smtp", pid,
                          f"{head}relay=none, delay={(when - accepted).total_seconds():.0f}, "
                          f"delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to {host}[{ip}]:25: "
                          "Connection timed out)")
            elif status == "bounced":
                self.emit(when, "smtp", pid,
                          f"{head}relay={host}[{ip}]:25, {self._delays((when - accepted).total_seconds())}, "
                          f"dsn=5.2.2, status=bounced (host {host}[{ip}] said: 552 5.2.2 mailbox full "
                          "(in reply to RCPT TO command))")
                when = self._non_delivery_notification(d, queue, when)
            else:
                self.emit(when, "smtp", pid,
                          f"{head}relay={host}[{ip}]:25, {self._delays((when - accepted).total_seconds())}, "
                          f"dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {rng.getrandbits(48):012X})")
            last = max(last, when)
        return last

    def _non_delivery_notification(self, d: MailboxDelivery, queue: str, at: dt.datetime) -> dt.datetime:
        """Postfix tells the sender that the forward bounced: a new message from ``<>``."""
        rng = self.rng
        notice = self.queue_id()
        local = at.astimezone(UTC)
        self.emit(at + dt.timedelta(milliseconds=30), "cleanup", rng.choice(self.cleanup_pids),
                  f"{notice}: message-id=<{local:%Y%m%d%H%M%S}.{notice}@{POSTFIX_FQDN}>")
        self.emit(at + dt.timedelta(milliseconds=40), "bounce", rng.randint(2000, 32000),
                  f"{queue}: sender non-delivery notification: {notice}")
        self.emit(at + dt.timedelta(milliseconds=50), "qmgr", self.qmgr_pid,
                  f"{notice}: from=<>, size={d.size // 3 + 2400}, nrcpt=1 (queue active)")
        sent = at + dt.timedelta(milliseconds=rng.randint(400, 1800))
        domain = d.sender.rsplit("@", 1)[-1]
        self.emit(sent, "smtp", rng.choice(self.delivery_pids),
                  f"{notice}: to=<{d.sender}>, relay=mx.{domain}[{d.client[1]}]:25, "
                  f"{self._delays((sent - at).total_seconds())}, dsn=2.0.0, status=sent (250 2.0.0 Ok)")
        self.emit(sent + dt.timedelta(milliseconds=5), "qmgr", self.qmgr_pid, f"{notice}: removed")
        return sent

    def rejection(self, r: Rejection) -> None:
        """``NOQUEUE: reject`` of a spam source or an unknown recipient, between connect and disconnect."""
        host, ip = r.client
        peer = f"{host}[{ip}]"
        pid = self.rng.randint(2000, 32000)
        helo = r.sender.rsplit("@", 1)[-1]
        if r.reason == "blocklist":
            answer = (f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
                      f"https://www.spamhaus.org/query/ip/{ip}")
        else:
            answer = f"550 5.1.1 <{r.recipient}>: Recipient address rejected: User unknown in virtual mailbox table"
        self.emit(r.at, "smtpd", pid, f"connect from {peer}")
        self.emit(r.at + dt.timedelta(milliseconds=300), "smtpd", pid,
                  f"NOQUEUE: reject: RCPT from {peer}: {answer}; from=<{r.sender}> to=<{r.recipient}> "
                  f"proto=ESMTP helo=<{helo}>")
        self.emit(r.at + dt.timedelta(milliseconds=450), "smtpd", pid,
                  f"disconnect from {peer} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4")

    def truncated_tail(self, at: dt.datetime, mailbox: str) -> str:
        """A last message whose delivery line the log rotation cut short (no status, no newline):
        returns that line, to be written last."""
        rng = self.rng
        d = MailboxDelivery("", "", (mailbox,), at, f"<{rng.getrandbits(64):016x}.news@news.seloger.com>",
                            "newsletter@news.seloger.com", ("bulk3.news.seloger.com", "203.0.113.9"),
                            "", rng.randint(20000, 60000), "newsletter")
        queue = self._receive(d, at - dt.timedelta(seconds=1), 1, 1)
        return self._line(at, "postfix/lmtp", rng.choice(self.delivery_pids),
                          f"{queue}: to=<{mailbox}>, relay={POSTFIX_FQDN}[private/dovecot-lmtp], delay=0.3, del")

    def sorted_lines(self) -> list[tuple[dt.datetime, str]]:
        return [(when, text) for when, _, text in sorted(self.lines, key=lambda line: (line[0], line[1]))]


def write_postfix_logs(folder: Path, deliveries: Iterable[MailboxDelivery], rejections: Iterable[Rejection],
                       months: list[str], rng: random.Random, *, root: Path, truncated_mailbox: str,
                       content_filter_share: float = 0.1) -> LogFiles:
    """Write the Postfix log of ``deliveries`` and ``rejections``, one file per month in time order:
    ``mail.log`` for the last month, ``mail.log.N.gz`` for the month N months before (gzip). Each
    file's modification time is the end of its month, the only place the year can be read from.
    The last line of ``mail.log`` is cut short on purpose (a delivery to ``truncated_mailbox``)."""
    log = _PostfixLog(rng, content_filter_share)
    for delivery in deliveries:
        log.delivery(delivery)
    for rejection in rejections:
        log.rejection(rejection)
    by_month: dict[str, list[str]] = {month: [] for month in months}
    last_time = None
    for when, text in log.sorted_lines():
        by_month[_in_window(when, months)].append(text)
        last_time = when
    _, window_end = month_bounds(months[-1])
    tail_at = max(last_time or window_end, window_end - dt.timedelta(seconds=25))
    before = len(log.lines)
    cut = log.truncated_tail(tail_at, truncated_mailbox)
    by_month[months[-1]] += [text for _, _, text in sorted(log.lines[before:], key=lambda line: (line[0], line[1]))]

    folder.mkdir(parents=True, exist_ok=True)
    written = LogFiles("postfix")
    for age, month in enumerate(reversed(months)):
        lines = by_month[month]
        _, end = month_bounds(month)
        if age == 0:
            path = folder / "mail.log"
            text = "".join(line + "\n" for line in lines) + cut  # no newline: the write was cut short
            path.write_bytes(text.encode("utf-8"))
            written.truncated_line = f"{path.relative_to(root).as_posix()}:{len(lines) + 1}"
            written.files[path.relative_to(root).as_posix()] = len(lines) + 1
        else:
            path = folder / f"mail.log.{age}.gz"
            buffer = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=int(end.timestamp()),
                               compresslevel=6) as handle:
                handle.write("".join(line + "\n" for line in lines).encode("utf-8"))
            path.write_bytes(buffer.getvalue())
            written.files[path.relative_to(root).as_posix()] = len(lines)
        _set_mtime(path, end)
    return written


# --------------------------------------------------------------------------- Microsoft 365

def _powershell_csv_row(values: Sequence[str | None]) -> str:
    """A row as Windows PowerShell 5.1 ``Export-Csv`` writes it: every value quoted, nulls empty."""
    return ",".join("" if value is None else '"' + str(value).replace('"', '""') + '"' for value in values)


def _us_time(moment: dt.datetime) -> str:
    """``M/d/yyyy h:mm:ss AM/PM`` in UTC (en-US culture)."""
    utc = moment.astimezone(UTC)
    hour = utc.hour % 12 or 12
    return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc:%M:%S} {'AM' if utc.hour < 12 else 'PM'}"


def _m365_trace_rows(d: MailboxDelivery, trace_id: str) -> list[tuple[dt.datetime, list[str | None]]]:
    """Rows of one message in a classic message trace: one per recipient, the forward leg as a
    row for the tracked address, a group list as an ``Expanded`` row before its members."""
    received = _us_time(d.delivered_at)
    base = [M365_ORGANIZATION, d.message_id or None, received, d.sender]
    tail: list[str | None] = [str(d.size), trace_id]
    rows: list[list[str | None]] = []
    if d.list_address:
        rows.append(base + [d.list_address, d.subject, "Expanded", None, d.client[1]] + tail)
    for mailbox in d.mailboxes:
        rows.append(base + [mailbox, d.subject, "Delivered", None, d.client[1]] + tail)
    if d.forward:
        status = {"sent": "Delivered", "bounced": "Failed"}.get(d.forward.status, "Pending")
        rows.append(base + [d.forward.tracked_address, d.subject, status, TRACKING_RELAY[1], None] + tail)
    return [(d.delivered_at, row) for row in rows]


def _m365_recipient_status(d: MailboxDelivery) -> str:
    parts = []
    if d.list_address:
        parts.append(f"{d.list_address}##Receive, Expand")
    parts += [f"{mailbox}##Receive, Deliver" for mailbox in d.mailboxes]
    if d.forward:
        events = {"sent": "Receive, Send", "bounced": "Receive, Fail"}.get(d.forward.status, "Receive, Defer")
        parts.append(f"{d.forward.tracked_address}##{events}")
    return ";".join(parts)


def write_m365_logs(folder: Path, deliveries: Iterable[MailboxDelivery], rejections: Iterable[Rejection],
                    months: list[str], rng: random.Random, *, root: Path) -> LogFiles:
    """Write ``message-trace-YYYY-MM.csv`` (classic trace, PowerShell 5.1 ``Export-Csv``: ``#TYPE``
    line, UTF-8 with BOM, CRLF, newest first) for every month but the last, and for the last
    month a historical search enhanced summary ``historical-YYYY-MM.csv`` (UTF-16LE with BOM)."""
    classic: dict[str, list[tuple[dt.datetime, list[str | None]]]] = {month: [] for month in months[:-1]}
    historical: list[tuple[dt.datetime, list[str]]] = []
    last = months[-1]
    for d in deliveries:
        month = _in_window(d.delivered_at, months)
        trace_id = _guid(rng)
        if month != last:
            classic[month] += _m365_trace_rows(d, trace_id)
            continue
        stamp = d.delivered_at.astimezone(UTC)
        historical.append((d.delivered_at, [
            f"{stamp:%Y-%m-%dT%H:%M:%S}.{rng.randrange(1000):03d}Z", d.sender, _m365_recipient_status(d),
            d.subject, str(d.size), d.message_id, trace_id, d.client[1], "Incoming", "", "Normal"]))
    for r in rejections:
        month = _in_window(r.at, months)
        trace_id = _guid(rng)
        message_id = f"<{rng.getrandbits(96):024x}@{r.sender.rsplit('@', 1)[-1]}>"
        if month != last:
            classic[month].append((r.at, [M365_ORGANIZATION, message_id, _us_time(r.at), r.sender, r.recipient,
                                          r.subject, "Failed", None, r.client[1], str(rng.randint(3000, 30000)),
                                          trace_id]))
        else:
            stamp = r.at.astimezone(UTC)
            historical.append((r.at, [f"{stamp:%Y-%m-%dT%H:%M:%S}.{rng.randrange(1000):03d}Z", r.sender,
                                      f"{r.recipient}##Receive, Fail", r.subject, str(rng.randint(3000, 30000)),
                                      message_id, trace_id, r.client[1], "Incoming", "", "Normal"]))

    folder.mkdir(parents=True, exist_ok=True)
    written = LogFiles("m365")
    for month, rows in classic.items():
        rows.sort(key=lambda item: item[0], reverse=True)  # Get-MessageTrace returns the newest first
        lines = ["#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTrace",
                 _powershell_csv_row(M365_TRACE_COLUMNS)] + [_powershell_csv_row(row) for _, row in rows]
        path = folder / f"message-trace-{month}.csv"
        path.write_bytes(codecs.BOM_UTF8 + "".join(line + "\r\n" for line in lines).encode("utf-8"))
        _set_mtime(path, month_bounds(month)[1])
        written.files[path.relative_to(root).as_posix()] = len(rows)
    historical.sort(key=lambda item: item[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(M365_HISTORICAL_COLUMNS)
    writer.writerows(row for _, row in historical)
    path = folder / f"historical-{last}.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + buffer.getvalue().encode("utf-16-le"))
    _set_mtime(path, month_bounds(last)[1])
    written.files[path.relative_to(root).as_posix()] = len(historical)
    return written


# --------------------------------------------------------------------------- Google Workspace

def _google_time(moment: dt.datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y/%m/%d %H:%M:%S")


def _gws_rows(d: MailboxDelivery, rng: random.Random) -> list[tuple[dt.datetime, list[str]]]:
    """One row per recipient event of one message, in Europe/Paris local time (no zone written)."""
    events: list[tuple[dt.datetime, str, str, str, str, str, str, str]] = []
    # (when, direction, recipient, target, status, target IP, reply code, description)
    if d.list_address:
        events.append((d.delivered_at, "Inbound", d.list_address, "LIST_SERVER", "EXPANDED", "", "250",
                       "The message was expanded to the group's members"))
    folder = "GMAIL_SPAM" if d.category == "spam" else "GMAIL_INBOX"
    place = "spam folder" if d.category == "spam" else "inbox"
    for mailbox in d.mailboxes:
        events.append((d.delivered_at, "Inbound", mailbox, folder, "DELIVERED", "", "250",
                       f"The message was delivered to the recipient's {place}"))
    if d.forward:
        for when, status in d.forward.attempts:
            when = max(when, d.delivered_at)
            if status == "sent":
                events.append((when, "Outbound", d.forward.tracked_address, "SMTP_OUT", "DELIVERED",
                               TRACKING_RELAY[1], "250", "Auto-forwarded to an external address"))
            elif status == "bounced":
                events.append((when, "Outbound", d.forward.tracked_address, "SMTP_OUT", "BOUNCED",
                               TRACKING_RELAY[1], "552", "552 5.2.2 mailbox full"))
            else:
                events.append((when, "Outbound", d.forward.tracked_address, "SMTP_OUT", "DEFERRED",
                               TRACKING_RELAY[1], "421", "421 4.4.1 Connection timed out"))
    start, end = _google_time(events[0][0]), _google_time(max(event[0] for event in events))
    encrypted = "No" if d.category == "spam" and rng.random() < 0.5 else "Yes"
    return [(when, [d.message_id, start, end, d.sender, str(d.size), d.subject, direction, str(d.attachments),
                    recipient, target, _google_time(when), status, ip, encrypted, code, description])
            for when, direction, recipient, target, status, ip, code, description in events]


def write_gws_logs(folder: Path, deliveries: Iterable[MailboxDelivery], rejections: Iterable[Rejection],
                   months: list[str], rng: random.Random, *, root: Path) -> LogFiles:
    """Write ``email-log-YYYY-MM.csv`` per month: a Google Workspace email log search export,
    UTF-8, one row per recipient event, newest first, dates in Europe/Paris without a zone."""
    rows: dict[str, list[tuple[dt.datetime, list[str]]]] = {month: [] for month in months}
    for d in deliveries:
        rows[_in_window(d.delivered_at, months)] += _gws_rows(d, rng)
    for r in rejections:
        message_id = f"<{rng.getrandbits(96):024x}@{r.sender.rsplit('@', 1)[-1]}>"
        description = ("Rejected: the sending IP address is on a blocklist" if r.reason == "blocklist"
                       else "Rejected: the recipient address does not exist")
        code = "550" if r.reason != "blocklist" else "554"
        rows[_in_window(r.at, months)].append((r.at, [
            message_id, _google_time(r.at), _google_time(r.at), r.sender, str(rng.randint(3000, 30000)), r.subject,
            "Inbound", "0", r.recipient, "SMTP_IN", _google_time(r.at), "REJECTED", "", "No", code, description]))
    folder.mkdir(parents=True, exist_ok=True)
    written = LogFiles("gws")
    for month, items in rows.items():
        items.sort(key=lambda item: item[0], reverse=True)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(GWS_COLUMNS)
        writer.writerows(row for _, row in items)
        path = folder / f"email-log-{month}.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        _set_mtime(path, month_bounds(month)[1])
        written.files[path.relative_to(root).as_posix()] = len(items)
    return written


# --------------------------------------------------------------------------- mailbox exports

def write_mailbox_export(path: Path, copies: list[tuple[dt.datetime, bytes]], end: dt.datetime) -> None:
    """Write one point of sale's own mailbox as mboxrd: ``copies`` as (delivered at, bytes as the
    mailbox stored them), oldest first; the file's modification time is ``end``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(mboxrd_entry(raw, when) for when, raw in copies))
    _set_mtime(path, end)
