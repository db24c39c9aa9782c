"""Raw message bytes -> a ``MessageRecord``: the facts attribution needs, nothing config-specific.

Everything here depends only on the bytes, so a stored record stays valid when the workspace
configuration changes; attribution (point of sale, portal, category, channel) is computed
from these records and the current config (see ``attribution/``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from email import policy
from email.message import Message
from typing import NamedTuple

from . import fastmime, fastpath
from . import headers as h
from . import signals as sig
from .body import readable_from, text_parts
from .details import LeadDetails, LeadDetailsRow, extract_details
from .forwards import FORWARD_PREFIX, unwrap
from .reports import delivery_report

# Raise when parsing changes what it extracts: stored copies are then parsed again from their
# bytes at the next ingest.
PARSER_VERSION = 11
MAX_BODY_CHARS = 20_000  # body text kept per message for rules and fingerprints

# Headers a mailbox program adds or rewrites on export: they say nothing about the message,
# and leaving them out lets the same message from an mbox and from an .eml share one key.
_MAILBOX_STATE = {b"status", b"x-status", b"x-keywords", b"x-uid", b"x-mozilla-status",
                  b"x-mozilla-status2", b"x-mozilla-keys", b"x-gmail-labels", b"x-gm-thrid",
                  b"content-length", b"lines", b"x-imap", b"x-imapbase", b"x-evolution",
                  b"x-apple-mail-remote-attachments"}
_KNOWN_HEADERS = {"from", "to", "cc", "date", "subject", "message-id", "received", "return-path",
                  "delivered-to", "mime-version", "content-type", "x-original-to", "sender",
                  "reply-to", "in-reply-to", "references", "envelope-to", "resent-from",
                  "resent-to", "dkim-signature", "x-mailer", "x-forwarded-to"}


class Unparseable(Exception):
    """A message that cannot be stored; ``reason`` is a short code, ``detail`` a sentence."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class MessageRecord:
    message_key: str
    message_id: str | None
    received_at: dt.datetime
    date_source: str                     # date | forward_header | received | mbox_from
    copy_at: dt.datetime | None          # the copy's own date (the forward's, for forwards)
    sender: str | None                   # the original sender, lower case
    sender_name: str | None
    subject: str
    copy_sender: str | None              # From of the copy as received
    copy_subject: str
    to_addrs: list[str]
    cc_addrs: list[str]
    original_to: list[str]               # recipients of the unwrapped original (forwards)
    original_cc: list[str]
    envelope_to: list[str]               # Delivered-To, X-Original-To, Envelope-To, X-Envelope-To
    forwarded_to: list[str]              # X-Forwarded-To, X-Forwarded-For
    resent_to: list[str]                 # Resent-To, Resent-Cc
    resent_from: str | None
    original_message_id: str | None      # the original's Message-ID (same as message_id if not wrapped)
    in_reply_to: str | None
    reference_ids: list[str]
    list_unsubscribe: bool               # a List-Unsubscribe header (List-Id is kept apart: list_id)
    precedence: str | None
    auto_submitted: str | None
    autoreply: bool                      # X-Autoreply / X-Autorespond / X-Auto-Response-Suppress on a reply
    spam_flag: bool
    forward_kind: str | None             # inline | attachment
    forward_depth: int
    body_text: str
    body_is_html: bool
    body_fingerprint: str
    content_fingerprint: str             # sender, minute, subject, body: identity of a lead without ids
    has_contact: bool                    # the body gives a prospect's email or phone (a lead's mark)
    date_zone: str | None                # what a forward header's time was read in (forwards.DATE_ZONES)
    identity_marks: list[str]            # time-free marks of the lead's content (``identity_marks``)
    size: int
    defects: list[str] = field(default_factory=list)
    # signals of the portal besides the From address (parsing/signals.py); of the original when
    # the copy kept it or attached it, none of the headers of an inline forward (they are the
    # forwarder's); link hosts from every text part
    reply_to_domains: list[str] = field(default_factory=list)
    return_path_domain: str | None = None
    sender_header_domain: str | None = None   # the Sender: header
    dkim_domains: list[str] = field(default_factory=list)
    list_id: str | None = None
    link_hosts: list[str] = field(default_factory=list)
    # a delivery failure report's failed recipients, aligned (parsing/reports.py); empty for any other
    report_recipients: list[str] = field(default_factory=list)
    report_statuses: list[str] = field(default_factory=list)
    report_actions: list[str] = field(default_factory=list)
    report_diagnostics: list[str] = field(default_factory=list)
    parser_version: int = PARSER_VERSION
    details: LeadDetailsRow | None = None  # prospect details (personal data: stored apart)

    def as_row(self) -> dict[str, object]:
        """The stored_messages columns (a shallow copy: dataclasses.asdict deep-copies, slowly)."""
        return {name: getattr(self, name) for name in _ROW_FIELDS}


_ROW_FIELDS = tuple(f.name for f in fields(MessageRecord) if f.name != "details")


# --------------------------------------------------------------------------- keys

def normalise_bytes(raw: bytes) -> bytes:
    """The message as a line-ending-neutral byte string without mailbox state headers."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    head, sep, body = text.partition(b"\n\n")
    return _without_mailbox_state(head) + sep + body.rstrip(b"\n")


def _without_mailbox_state(head: bytes) -> bytes:
    """A header block (LF line endings) without the mailbox state headers."""
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skipping = name in _MAILBOX_STATE
        if not skipping:
            kept.append(line)
    return b"\n".join(kept)


def message_key(raw: bytes, chunk: int = 1 << 20) -> str:
    """Content-derived key of one physical copy: the same bytes give the same key anywhere.

    The hash of ``normalise_bytes(raw)``, computed a megabyte at a time: a large message is
    not copied whole (the plain function held four copies of a 70 MB message at once).
    """
    digest = hashlib.sha256()
    head, pending_newlines, in_body = b"", 0, False
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    for piece in _normalised_chunks(raw, chunk, start):
        if not in_body:
            searched = max(0, len(head) - 1)
            head += piece
            split = head.find(b"\n\n", searched)
            if split < 0:
                continue
            digest.update(_without_mailbox_state(head[:split]) + b"\n\n")
            piece, head, in_body = head[split + 2:], b"", True
        body = piece.rstrip(b"\n")
        if body:  # newlines held back are written only when something follows them
            digest.update(b"\n" * pending_newlines + body)
            pending_newlines = len(piece) - len(body)
        else:
            pending_newlines += len(piece)
    if not in_body:
        digest.update(_without_mailbox_state(head))
    return digest.hexdigest()[:32]


def _normalised_chunks(raw: bytes, size: int, start: int = 0) -> Iterator[bytes]:
    """``raw[start:]`` with CRLF and CR made LF, in pieces of about ``size`` bytes (a piece
    never ends in CR unless the message does, so that a CRLF is never cut)."""
    length = len(raw)
    while start < length:
        end = min(start + max(size, 1), length)
        while end < length and raw[end - 1:end] == b"\r":
            end += 1
        yield raw[start:end].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start = end


_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


def fingerprint(text: str, limit: int = 400) -> str:
    """A hash of the first words of a text, blind to quoting, wrapping, case and punctuation."""
    lines = [l.lstrip("> \t") for l in text.splitlines()]
    words = _WORDS.findall(" ".join(lines).lower())
    joined = " ".join(words)[:limit]
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:16] if joined else ""


def normalise_subject(subject: str) -> str:
    subject = FORWARD_PREFIX.sub("", subject or "")
    return " ".join(_WORDS.findall(subject.lower()))


def content_fingerprint(sender: str | None, when: dt.datetime | None, subject: str, body: str,
                        details: LeadDetails | None = None, body_print: str | None = None) -> str:
    """Identity of a lead without its Message-ID: sender, minute, subject, and who the prospect
    is (email, phone, name) when the body says it, else the body's first words. The prospect's
    details survive a mail client's re-rendering of the body (a footer dropped, HTML turned
    into text) that changes its words; two prospects writing in the same minute differ in them.
    ``body_print`` is ``fingerprint(body)`` when the caller has it already."""
    minute = when.strftime("%Y-%m-%dT%H:%M") if when else ""
    who = ""
    if details is not None and (details.email or details.phone or details.name):
        who = "who:" + "/".join((details.email or "", details.phone or "", (details.name or "").casefold()))
    basis = "|".join([sender or "", minute, normalise_subject(subject),
                      who or (fingerprint(body) if body_print is None else body_print)])
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:24]


def identity_marks(sender: str | None, subject: str, body: str,
                   details: LeadDetails | None = None, body_print: str | None = None) -> list[str]:
    """Marks of who wrote about what, without the time: sender and normalised subject with, each
    in a mark of its own (``body:…``, ``email:…``, ``phone:…``, ``name:…``), the body's first
    words, the prospect's email (not the sender's own), phone and name. Linking
    (attribution/identity.py) joins copies that share a mark in the same minute: each mark
    alone, as what a path keeps differs (an inline forward loses the Reply-To a name or email
    was read from; a client re-renders an HTML-only body in other words). ``body_print`` is
    ``fingerprint(body)`` when the caller has it already."""
    head = f"{sender or ''}|{normalise_subject(subject)}|"
    found: list[tuple[str, str | None]] = [("body", fingerprint(body) if body_print is None else body_print)]
    if details is not None:
        found += [("email", details.email if details.email != sender else None), ("phone", details.phone),
                  ("name", (details.name or "").casefold())]
    return sorted({kind + ":" + hashlib.sha1((head + kind + ":" + value).encode("utf-8")).hexdigest()[:16]
                   for kind, value in found if value})


# --------------------------------------------------------------------------- parsing

# the standard library's parse, without compiling a regex per multipart boundary
_PARSER = fastmime.BytesParser(policy=policy.compat32)
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]{1,76}[ \t]*:")


def _looks_like_email(raw: bytes) -> bool:
    """At least one header line at the top, and a known header among the first ones."""
    start = raw.lstrip(b" \t\r\n")[:4096]
    lines = start.replace(b"\r\n", b"\n").split(b"\n")
    if not lines or not _HEADER_LINE.match(lines[0]) and not lines[0].startswith(b"From "):
        return False
    for line in lines[:60]:
        if not line.strip():
            break
        name = line.split(b":", 1)[0].strip().lower()
        if name.decode("latin-1") in _KNOWN_HEADERS:
            return True
    return False


class _Headers:
    """A message's raw header values by lower-case name, indexed once."""

    def __init__(self, message: Message):
        self.values: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self.values.setdefault(name.lower(), []).append(value)

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def first(self, name: str) -> str | None:
        values = self.values.get(name)
        return values[0] if values else None


# A message larger than SLIM_ABOVE is parsed without the part of each base64 block past its
# first KEEP_BASE64 bytes: attachments are never decoded, and the stdlib parser holds about six
# times what it reads (a 70 MB message with a 50 MB attachment took 390 MB to parse). Text
# parts, even base64-encoded, are far below KEEP_BASE64; the stored bytes stay whole.
SLIM_ABOVE = 4 * 1024 * 1024
KEEP_BASE64 = 1024 * 1024
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]{40,998}={0,2}\r?")


def slim(raw: bytes, keep: int = KEEP_BASE64) -> bytes:
    """``raw`` without the lines of each run of base64 lines past its first ``keep`` bytes."""
    pieces: list[bytes] = []
    copied, position, length = 0, 0, len(raw)
    run_start: int | None = None
    cut_from: int | None = None
    while position < length:
        end = raw.find(b"\n", position)
        end = length if end < 0 else end
        if _BASE64_LINE.fullmatch(raw, position, end):
            if run_start is None:
                run_start = position
            elif cut_from is None and position - run_start >= keep:
                cut_from = position
        else:
            if cut_from is not None:
                pieces.append(raw[copied:cut_from])
                copied = position
            run_start = cut_from = None
        position = end + 1
    if cut_from is not None:
        pieces.append(raw[copied:cut_from])
        copied = length
    if not pieces:
        return raw
    pieces.append(raw[copied:])
    return b"".join(pieces)


def parse_message(raw: bytes, *, from_line: str | None = None, key: str | None = None,
                  fast: bool = True) -> MessageRecord:
    """Parse one message; raises ``Unparseable`` with a reason when it cannot be stored.

    ``key`` is ``message_key(raw)`` when the caller has computed it already. ``fast=False``
    parses with the standard library's parser only (``fastpath`` reads most messages alike,
    quicker; the record is the same either way)."""
    stripped, from_line = _message_bytes(raw, from_line)
    tree = fastpath.split(stripped) if fast else None
    if tree is not None:
        message: Message = tree
        readers = _FAST_READERS
    else:
        try:
            message = _PARSER.parsebytes(stripped)
        except Exception as exc:  # the stdlib parser is lenient; this is a last resort
            raise Unparseable("parse_error", f"{type(exc).__name__}: {exc}") from exc
        readers = _FULL_READERS
    try:
        return _record(raw, message, from_line, key, readers)
    except Unparseable:
        raise
    except Exception as exc:  # a message we cannot read is quarantined, never a crash
        raise Unparseable("parse_error", f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def takes_fast_path(raw: bytes, from_line: str | None = None) -> bool:
    """Whether ``parse_message`` reads ``raw`` with ``fastpath`` (False for what it rejects,
    and for what cannot be stored at all)."""
    try:
        stripped, _ = _message_bytes(raw, from_line)
    except Unparseable:
        return False
    return fastpath.split(stripped) is not None


def _message_bytes(raw: bytes, from_line: str | None) -> tuple[bytes, str | None]:
    """The bytes to parse (without leading space or an mbox From line) and the From line."""
    if not raw.strip():
        raise Unparseable("empty", "no bytes, or only white space")
    # Some exporters prefix messages with spaces or blank lines before the first header.
    stripped = raw.lstrip(b" \t\r\n")
    if stripped.startswith(b"From ") and not _HEADER_LINE.match(stripped):
        from_line = from_line or stripped.split(b"\n", 1)[0].decode("latin-1").strip()
        stripped = stripped.split(b"\n", 1)[1] if b"\n" in stripped else b""
    if not _looks_like_email(stripped):
        raise Unparseable("not_an_email", "no RFC 5322 header block at the start")
    if len(stripped) > SLIM_ABOVE:
        stripped = slim(stripped)
    return stripped, from_line


class _Readers(NamedTuple):
    """How ``_record`` reads the dates, texts and addresses of headers: the reference functions,
    or the fast path's (the same answers, quicker on the common forms)."""

    date: Callable[[str | None], dt.datetime | None]
    decode_text: Callable[[str | None], str]
    addresses: Callable[[list[str]], list[tuple[str, str]]]
    address_list: Callable[[list[str]], list[str]]


_FULL_READERS = _Readers(h.parse_date, h.decode_text, h.addresses, h.address_list)
_FAST_READERS = _Readers(fastpath.parse_date, fastpath.decode_text, fastpath.addresses, fastpath.address_list)


def _record(raw: bytes, message: Message, from_line: str | None, key: str | None,
            readers: _Readers) -> MessageRecord:
    headers = _Headers(message)
    defects = sorted({type(d).__name__ for d in message.defects})
    subject = readers.decode_text(headers.first("subject"))
    senders = readers.addresses(headers.all("from")) or readers.addresses(headers.all("sender"))
    copy_sender = senders[0][1] if senders else None
    sender_name = senders[0][0] or None if senders else None
    raw_date = headers.first("date")
    copy_at = readers.date(raw_date)
    date_source = "date"
    if copy_at is None:
        copy_at = h.received_date(headers.all("received"))
        date_source = "received"
    if copy_at is None:
        copy_at = h.from_line_date(from_line)
        date_source = "mbox_from"
    if raw_date and date_source != "date":
        defects.append("UnparseableDate")

    plain, markup = text_parts(message)
    body, body_is_html = readable_from(plain, markup)
    chain = unwrap(message, subject, body, body_is_html, raw_date)
    original = chain[-1] if chain else None
    received_at = copy_at
    sender, orig_subject, orig_body, orig_html = copy_sender, subject, body, body_is_html
    original_message_id = h.message_id(headers.first("message-id"))
    original_to, original_cc = [], []
    date_zone = None
    if original is not None:
        sender = original.sender  # None when the block shows a name only: not the forwarder's
        sender_name = original.sender_name or sender_name
        orig_subject = original.subject or FORWARD_PREFIX.sub("", subject)
        orig_body, orig_html = original.body, original.body_is_html
        original_to, original_cc = original.to, original.cc
        original_message_id = original.message_id
        if original.date is not None:
            received_at, date_source = original.date, "forward_header"
            date_zone = original.date_zone
    if received_at is None:
        raise Unparseable("no_date", "no usable Date, Received or mbox From line date")

    precedence = (h.decode_text(headers.first("precedence")) or "").lower() or None
    auto_submitted = (h.decode_text(headers.first("auto-submitted")) or "").lower() or None
    autoreply = any(headers.first(name) for name in ("x-autoreply", "x-autorespond", "x-autogenerated")) \
        or (h.decode_text(headers.first("x-auto-response-suppress")).lower() in ("all", "oof")
            and bool(headers.first("in-reply-to")))
    spam_status = (h.decode_text(headers.first("x-spam-flag")) + " "
                   + h.decode_text(headers.first("x-spam-status"))).strip().lower()
    spam_flag = spam_status.startswith("yes") or " yes" in f" {spam_status.split(',')[0]}"
    body_text = orig_body[:MAX_BODY_CHARS]
    if original is None:
        origin = headers.values
    elif original.message is not None:
        origin = _Headers(original.message).values
    else:
        origin = {}  # an inline forward's headers are the forwarder's
    reply_to = h.addresses(origin.get("reply-to", []))
    body_print = fingerprint(orig_body)  # once: the fingerprints below read it too
    report = delivery_report(message, copy_sender, subject, body)
    details = extract_details(orig_body, orig_subject, reply_to=reply_to[0] if reply_to else None,
                              sender_name=sender_name, sender=sender)

    return MessageRecord(
        message_key=key or message_key(raw),
        message_id=h.message_id(headers.first("message-id")),
        received_at=received_at,
        date_source=date_source,
        copy_at=copy_at,
        sender=sender,
        sender_name=sender_name,
        subject=orig_subject,
        copy_sender=copy_sender,
        copy_subject=subject,
        to_addrs=readers.address_list(headers.all("to")),
        cc_addrs=readers.address_list(headers.all("cc")),
        original_to=original_to,
        original_cc=original_cc,
        envelope_to=readers.address_list(headers.all("delivered-to") + headers.all("x-original-to")
                                   + headers.all("envelope-to") + headers.all("x-envelope-to")),
        forwarded_to=h.bare_address_list(headers.all("x-forwarded-to") + headers.all("x-forwarded-for")),
        resent_to=h.address_list(headers.all("resent-to") + headers.all("resent-cc")),
        resent_from=_first_address(headers.all("resent-from")),
        original_message_id=original_message_id,
        in_reply_to=h.message_id(headers.first("in-reply-to")),
        reference_ids=h.message_ids(headers.first("references")),
        list_unsubscribe=bool(headers.first("list-unsubscribe")),
        precedence=precedence,
        auto_submitted=auto_submitted,
        autoreply=autoreply,
        spam_flag=spam_flag,
        forward_kind=original.kind if original else None,
        forward_depth=len(chain),
        body_text=body_text,
        body_is_html=orig_html,
        body_fingerprint=body_print,
        content_fingerprint=content_fingerprint(sender, received_at, orig_subject, orig_body, details, body_print),
        has_contact=bool(details.phone or (details.email and details.email != sender)),
        date_zone=date_zone,
        identity_marks=identity_marks(sender, orig_subject, orig_body, details, body_print),
        size=len(raw),
        defects=defects,
        details=details.as_row() if details.found() else None,
        reply_to_domains=_unique(sig.domain_of(address) for _, address in reply_to),
        return_path_domain=sig.domain_of(_first_address(origin.get("return-path"))),
        sender_header_domain=sig.domain_of(_first_address(origin.get("sender"))),
        dkim_domains=sig.dkim_domains(origin.get("dkim-signature", [])),
        list_id=sig.list_id(h.decode_text(_first_value(origin.get("list-id")))),
        link_hosts=sig.link_hosts([markup, plain] + (sig.body_texts(original.message)
                                                     if original is not None and original.message is not None else [])),
        report_recipients=report.recipients,
        report_statuses=report.statuses,
        report_actions=report.actions,
        report_diagnostics=report.diagnostics,
    )


def _first_address(values: list[str] | None) -> str | None:
    found = h.address_list(values or [])
    return found[0] if found else None


def _first_value(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _unique(values: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out
