"""Unwrapping forwards: recover the original sender, recipients, date, subject and body.

A mail client forward is a new message (new From, new Message-ID, subject ``TR:``/``Fwd:``)
that carries the original either inline, after a separator and a localised header block, or
as an attached ``message/rfc822`` part. Forwards of forwards are unwrapped to the innermost
original. Redirects (``Resent-*``) keep the original message and need no unwrapping.

A reply quotes its parent with the same header block as a forward (Outlook), so a subject
with a reply prefix is never unwrapped; without a forward prefix in the subject, a block is
only taken after a separator or intro line that says "forwarded" in some language.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import Message

from . import headers as h
from .body import attached_messages, readable_text
from .forward_words import FORWARD_WORDS, LABELS, MONTH_ABBREVIATIONS, MONTHS, WEEKDAYS, ZONES

FORWARD_PREFIX = re.compile(
    r"^\s*(?:\[?(?:tr|trs|fwd?|fw|wg|rv|enc|doorst|vs|vb|i|pd|fwrd|videresend|vl|redir\.|İlt|ilt)\s*:\s*\]?\s*)+",
    re.IGNORECASE)
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|r|r[ée]p|aw|sv|antw|rif|res|odp|ynt|отв|vá)\s*:\s*)+", re.IGNORECASE)

_LABEL_ALTERNATIVES = "|".join(
    f"(?P<{field_}>{'|'.join(re.escape(w) for w in sorted(words, key=len, reverse=True))})"
    for field_, words in LABELS.items())
_FIELD = re.compile(
    r"^(?P<quote>(?:>[ \t]?)*)[ \t]*\*?(?:" + _LABEL_ALTERNATIVES + r")\*?[ \t\u00a0]*[:：]\*?[ \t\u00a0]*(?P<value>.*)$",
    re.IGNORECASE)
_DASHED = re.compile(r"^[\s>]*-{2,}\s*(?P<text>[^-].{1,60}?)\s*-{2,}\s*(?P<rest>.*)$")
_INTRO = re.compile(r"^[\s>]*(?P<text>[^:]{5,70})\s*:\s*$")
_MAILTO_TAIL = re.compile(r"(<?[\w.+'-]+@[\w.-]+)<mailto:[^>]+>>?", re.IGNORECASE)
_BRACKET_MAILTO = re.compile(r"\[mailto:([^\]]+)\]", re.IGNORECASE)


@dataclass
class Original:
    """What a forward carried: the original message as far as it can be recovered."""

    kind: str                       # "inline" or "attachment"
    sender: str | None = None
    sender_name: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str | None = None
    date: dt.datetime | None = None
    date_zone: str | None = None    # what ``date`` was read in: see ``DATE_ZONES``
    message_id: str | None = None
    body: str = ""
    body_is_html: bool = False
    message: Message | None = None  # the attached message, for attachment forwards


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "İletilmiş" and "Transféré" match "iletilmis", "transfere"."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_FOLDED_WORDS = tuple({fold(word) for word in FORWARD_WORDS})


def _says_forward(text: str) -> bool:
    folded = fold(text)
    return any(word in folded for word in _FOLDED_WORDS)


def _dashed(line: str) -> re.Match[str] | None:
    """``_DASHED.match(line)``, not tried on a line without "--" (where it cannot match, and
    backtracks over a long quote prefix such as "> > > …")."""
    return _DASHED.match(line) if "--" in line else None


def _is_separator(line: str) -> bool:
    """A line announcing a forwarded message (not a reply's "Original Message" or underscores)."""
    dashed = _dashed(line)
    if dashed:
        return _says_forward(dashed.group("text"))
    intro = _INTRO.match(line) if line.rstrip().endswith(":") else None
    return intro is not None and _says_forward(intro.group("text")) and "@" not in line


def _labelled(line: str) -> tuple[str, str, str] | None:
    """(field kind, quote prefix, value) of a labelled header line ("De : …"), or None."""
    match = _FIELD.match(line.replace("\u00a0", " "))
    if not match:
        return None
    kind = next(k for k in LABELS if match.group(k) is not None)
    return kind, match.group("quote"), match.group("value").strip()


def _strip_quote(line: str, quote: str) -> str:
    if quote and line.lstrip().startswith(">"):
        return re.sub(r"^\s*(?:>[ \t]?){1,%d}" % max(1, quote.count(">")), "", line)
    return line


# Yahoo glues capitalised labels to the previous value ("…<a@b>To: …", "…CETSubject: …").
_GLUED_LABEL = re.compile(
    r"(?<=\S)(?=(?:" + "|".join(re.escape(w[:1].upper() + w[1:]) for w in sorted(
        {w for words in LABELS.values() for w in words}, key=len, reverse=True)) + r")\s?[:：]\s)")


# Yahoo writes two labels without a colon: Portuguese "Assunto" (subject), Polish "Dw" (cc).
_COLONLESS = re.compile(r"(?<=\S)(?=(?:Assunto|Dw)\s)")
_COLONLESS_LABEL = re.compile(r"^(Assunto|Dw)\s+(?!:)")


def _unglue(text: str) -> str:
    """Yahoo writes the separator and every field on one line (``----- Forwarded Message -----
    From: a <b>To: c Sent: …Subject: x``): put each on a line of its own."""
    lines = text.split("\n")
    out = []
    for line in lines:
        dashed = _dashed(line)
        if dashed and dashed.group("rest") and _says_forward(dashed.group("text")):
            out.append(line[:line.index(dashed.group("rest"))].rstrip())
            rest = dashed.group("rest")
            starts = sorted({0, *(m.start() for m in _GLUED_LABEL.finditer(rest)),
                             *(m.start() for m in _COLONLESS.finditer(rest))})
            out += [_COLONLESS_LABEL.sub(r"\1: ", rest[a:b].strip())
                    for a, b in zip(starts, starts[1:] + [len(rest)], strict=True) if rest[a:b].strip()]
        else:
            out.append(line)
    return "\n".join(out)


# A cheap first look: without one of these stems (or a forward prefix in the subject) a body
# holds no forwarded block, and the line-by-line search is skipped. Substring tests on the
# lower-cased text: an ignore-case regular expression of these alternatives took 67 µs for a
# typical 450-character lead body, these take 8 µs (the same answers on the sample).
_FORWARD_STEMS = (
    "forward", "transf", "transmis", "réexp", "reexp", "weitergeleit", "reenvi", "inoltr", "doorgest",
    "encaminh", "vidarebef", "videresend", "välitet", "valitet", "edelleen", "przekaz", "přepos",
    "prepos", "továbbít", "tovabbit", "továbbit", "tovabbít", "redirec", "переадр", "пересыл",
    "переслан", "перенапр", "пересил", "przesłan", "przeslan", "ileti", "proslij", "転送")


# The characters an ignore-case expression takes for a stem's letter that ``str.lower`` does not
# turn into it (tests/robustness/test_fuzz.py checks this list against every code point).
_CASE_EXTRAS = {"İ": "i", "ı": "i", "ſ": "s", "ᲁ": "д", "ᲃ": "с"}
_CASE_TABLE = str.maketrans(_CASE_EXTRAS)


def _maybe_forwarded(text: str) -> bool:
    """Whether ``text`` holds a stem, ignoring case as an ignore-case expression does."""
    if not text.isascii() and any(extra in text for extra in _CASE_EXTRAS):
        text = text.translate(_CASE_TABLE)
    lowered = text.lower()
    return any(stem in lowered for stem in _FORWARD_STEMS)


def find_inline(text: str, subject_says_forward: bool) -> tuple[dict[str, str], str] | None:
    """The first forwarded header block in ``text`` and the text after it, or None.

    A block is a run of labelled lines (``De :``, ``From:``, ``Sujet :``, ``Date:`` … in any
    order: Thunderbird puts the subject first; blank lines between them are allowed) holding at
    least a sender and a subject. It must follow a separator or intro line, or the subject must
    carry a forward prefix.
    """
    if not subject_says_forward and not _maybe_forwarded(text):
        return None
    lines = _unglue(text).split("\n")
    for i, line in enumerate(lines):
        if ":" not in line and "：" not in line:
            continue
        field_ = _labelled(line)
        if not field_:
            continue
        before = [l for l in lines[max(0, i - 3):i] if l.strip(" >\t")]
        after_separator = any(_is_separator(l) for l in before)
        if not (after_separator or subject_says_forward):
            continue
        block = _read_block(lines, i, field_[1])
        if block is None:
            continue
        fields, end = block
        rest = [_strip_quote(l, field_[1]) for l in lines[end + 1:]]
        return fields, "\n".join(rest).strip("\n")
    return None


def _read_block(lines: list[str], start: int, quote: str) -> tuple[dict[str, str], int] | None:
    block: dict[str, str] = {}
    last = None
    end = start
    for j in range(start, min(len(lines), start + 20)):
        current = _strip_quote(lines[j], quote) if quote else lines[j]
        labelled = _labelled(current)
        if labelled and labelled[0] not in block:
            last = labelled[0]
            block[last] = labelled[2]
            end = j
        elif not current.strip(" \t\u00a0>"):
            if "subject" in block and "from" in block:
                break
            end = j
        elif last in ("to", "cc") and ("@" in current or "," in current or ";" in current):
            block[last] += " " + current.strip()
            end = j
        elif last in ("subject", "from") and not block[last]:
            block[last] = current.strip()  # label on one line, value on the next
            end = j
        elif last == "subject" and _wrapped(block["subject"], current, lines, j):
            block["subject"] += " " + current.strip()  # a long subject wrapped onto the next line
            end = j
        else:
            break
    if "subject" not in block or "from" not in block:
        return None
    return block, end


def _wrapped(subject: str, line: str, lines: list[str], index: int) -> bool:
    """Whether ``line`` continues a subject that plain-text wrapping cut (at ~76 characters):
    indented, or short and closing the block (a blank line follows)."""
    if line[:1] in (" ", "\t") and len(subject) > 40:
        return True
    closes_block = index + 1 >= len(lines) or not lines[index + 1].strip(" \t>")
    # "Bonjour," right under the subject is the body (New Outlook writes no blank line there)
    return len(subject) >= 60 and len(line.strip()) < 60 and closes_block \
        and not line.rstrip().endswith((":", ",", "!", "?"))


# --------------------------------------------------------------------------- attribution lines

_ATTRIBUTION = re.compile(
    r"^\s*(?P<line>.{0,120}?[\"«„“]?\s*(?P<name>[^\"«»„”<>()\n]{1,60}?)?\s*[\"»”]?\s*[<(]\s*(?P<address>[\w.+'-]+@[\w.-]+)\s*[>)]"
    r".{0,120}?)\s*:\s*$")


def find_attribution(text: str) -> tuple[dict[str, str], str] | None:
    """Outlook 2019 (and Mac clients) forward with one line, ``Le 28/10/2025 12:46, « N » <A>
    a écrit :``, then the original indented: only trusted when the subject says forward."""
    lines = text.split("\n")
    for i, line in enumerate(lines[:40]):
        match = _ATTRIBUTION.match(line)
        if not match or not re.search(r"\d", line):
            continue
        rest = lines[i + 1:]
        indents = [len(l) - len(l.lstrip(" ")) for l in rest if l.strip()]
        cut = min(indents) if indents else 0
        body = "\n".join(l[cut:] if l[:cut].strip() == "" else l for l in rest).strip("\n")
        date_text = line[:match.start("address")]
        return {"from": f"{(match.group('name') or '').strip()} <{match.group('address')}>",
                "date": date_text}, body
    return None


# --------------------------------------------------------------------------- dates

_NUMERIC_DATE = re.compile(r"(?<![\d:])(\d{1,4})\s?[/.-]\s?(\d{1,2})\s?[/.-]\s?(\d{2,4})(?![\d:])")
_YEAR_FIRST = re.compile(r"(\d{4})\.\s*([^\W\d_]+)\.?\s+(\d{1,2})\.?", re.UNICODE)
_CJK_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DAY_MONTH_YEAR = re.compile(r"(?<!\d)(\d{1,2})\.?\s+(?:de\s+)?([^\W\d_]{3,}\.?)\s+(?:de\s+)?(\d{4})", re.UNICODE)
_MONTH_DAY_YEAR = re.compile(r"([^\W\d_]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.UNICODE)
_TIME = re.compile(r"(?<![\d.])(\d{1,2})[:h.](\d{2})(?:[:.](\d{2}))?(?![\d])\s*(am|pm|a\.m\.|p\.m\.)?", re.IGNORECASE)
_OFFSET_ZONE = re.compile(r"(?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?|(?<![\d:])([+-])(\d{2}):?(\d{2})\b", re.IGNORECASE)
_WORD_ZONE = re.compile(r"\b([A-Za-zČčŠš]{1,5})\s*$")


def _month(word: str) -> int | None:
    word = unicodedata.normalize("NFC", word.lower().rstrip("."))
    if word in WEEKDAYS:
        return None
    if word in MONTHS:
        return MONTHS[word]
    for size in (7, 6, 5, 4, 3):
        if len(word) >= size and word[:size] in MONTH_ABBREVIATIONS:
            return MONTH_ABBREVIATIONS[word[:size]]
    return None


def _find_date(text: str) -> tuple[tuple[int, int, int] | None, str]:
    """(year, month, day) in the text, and the text without it (so its digits are not a time)."""
    cjk = _CJK_DATE.search(text)
    if cjk:
        cjk_year, cjk_month, cjk_day = map(int, cjk.groups())
        return (cjk_year, cjk_month, cjk_day), text[:cjk.start()] + " " + text[cjk.end():]
    year_first = _YEAR_FIRST.search(text)
    month = _month(year_first.group(2)) if year_first else None
    if year_first and month:
        found = (int(year_first.group(1)), month, int(year_first.group(3)))
        return found, text[:year_first.start()] + " " + text[year_first.end():]
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        for match in pattern.finditer(text):
            day, word, year = match.groups() if order == "dmy" else (match.group(2), match.group(1), match.group(3))
            month = _month(word)
            if month:
                return (int(year), month, int(day)), text[:match.start()] + " " + text[match.end():]
    numeric = _NUMERIC_DATE.search(text)
    if numeric:
        a, b, c = numeric.groups()
        if len(a) == 4:
            parts = (int(a), int(b), int(c))
        else:
            full_year = int(c) + (2000 if len(c) == 2 else 0)
            first, second = int(a), int(b)
            # day first, as the European languages write it; month first with a 12-hour clock
            # (US English), or when the first number cannot be a month... nor the second
            us = bool(re.search(r"\b[ap]\.?m\.?\b", text, re.IGNORECASE))
            if (us and first <= 12) or second > 12:
                parts = (full_year, first, second)
            else:
                parts = (full_year, second, first)
        return parts, text[:numeric.start()] + " " + text[numeric.end():]
    return None, text


# What the original's time in a forward's header block was read in (``MessageRecord.date_zone``):
# "text": the block wrote its zone (``UTC+2``, ``GMT+3``, ``CEST``, ``+0200``) or the original
# was attached whole; "forward": no zone written, read in the offset of the forward's own Date
# (the forwarder's clock); "utc": no zone written and the forward's Date is in UTC (Exchange and
# Outlook on the web stamp ``+0000`` while printing ``Envoyé :`` in the agent's local time) or
# absent: read as UTC, it is in fact a local time in a zone the bytes do not give, and linking
# reads it in the workspace's time zone (attribution/identity.py).
DATE_ZONES = ("text", "forward", "utc")


def parse_loose_date(value: str, default_offset: dt.timedelta | None) -> dt.datetime | None:
    """A date as mail clients print it in forward headers, in many languages, as UTC.

    Without a zone in the text the time is read in ``default_offset`` (the forwarding
    client's own offset, taken from the forward's Date header), else as UTC.
    """
    return parse_loose_date_zone(value, default_offset)[0]


def parse_loose_date_zone(value: str, default_offset: dt.timedelta | None) -> tuple[dt.datetime | None, str | None]:
    """``parse_loose_date`` and what the time was read in (one of ``DATE_ZONES``; None without a date)."""
    if not value:
        return None, None
    parsed = h.parse_rfc_date(value)  # a full RFC 5322 date carries its zone
    if parsed is not None:
        return parsed, "text"
    text = unicodedata.normalize("NFC", value.replace("\u202f", " ").replace("\xa0", " "))
    found, rest = _find_date(text)
    if not found:
        return None, None
    year, month, day = found
    hour = minute = second = 0
    time = _TIME.search(rest)
    if time:
        hour, minute, second = int(time.group(1)), int(time.group(2)), int(time.group(3) or 0)
        marker = (time.group(4) or "").lower().replace(".", "")
        if marker == "pm" and hour < 12:
            hour += 12
        elif marker == "am" and hour == 12:
            hour = 0
    offset = _zone(rest[time.end():] if time else rest)
    zone = "text"
    if offset is None:
        offset = default_offset
        zone = "forward" if offset else "utc"
    try:
        local = dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return None, None
    return (local - (offset or dt.timedelta(0))).replace(tzinfo=h.UTC), zone


def _zone(text: str) -> dt.timedelta | None:
    numeric = _OFFSET_ZONE.search(text)
    if numeric:
        if numeric.group(1):
            sign, hours, minutes = numeric.group(1), int(numeric.group(2)), int(numeric.group(3) or 0)
        else:
            sign, hours, minutes = numeric.group(4), int(numeric.group(5)), int(numeric.group(6))
        delta = dt.timedelta(hours=hours, minutes=minutes)
        return -delta if sign == "-" else delta
    word = _WORD_ZONE.search(text.strip().rstrip(")").replace("(", " "))
    if word and word.group(1).lower() in ZONES:
        return dt.timedelta(minutes=ZONES[word.group(1).lower()])
    return None


def date_offset(raw_date: str | None) -> dt.timedelta | None:
    """The UTC offset written in a Date header (``+0100``), or None."""
    if not raw_date:
        return None
    match = re.search(r"([+-])(\d{2})(\d{2})\b", raw_date)
    if not match:
        return None
    delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return -delta if match.group(1) == "-" else delta


# --------------------------------------------------------------------------- mailboxes

def _mailboxes(value: str) -> list[tuple[str, str]]:
    """Mailboxes as clients print them: ``Name <a>``, ``Name [mailto:a]``, ``a<mailto:a>``,
    ``Name <a<mailto:a>>``, ``"a" <a>``; "on behalf of" keeps the first."""
    text = re.split(r"\s+on behalf of\s+", value, maxsplit=1, flags=re.IGNORECASE)[0]
    text = _MAILTO_TAIL.sub(lambda m: m.group(1) + (">" if m.group(0).endswith(">>") else ""), text)
    text = _BRACKET_MAILTO.sub(r"<\1>", text)
    text = text.replace(";", ",")
    return h.addresses([text])


def _from_block(block: dict[str, str], rest: str, offset: dt.timedelta | None, html: bool, subject: str) -> Original:
    senders = _mailboxes(block.get("from", ""))
    raw_from = block.get("from", "").strip(' "')
    date, date_zone = parse_loose_date_zone(block.get("date", ""), offset)
    return Original(
        kind="inline",
        sender=senders[0][1] if senders else None,
        sender_name=(senders[0][0] if senders else raw_from) or None,
        to=[a for _, a in _mailboxes(block.get("to", ""))],
        cc=[a for _, a in _mailboxes(block.get("cc", ""))],
        subject=block.get("subject", "").strip() or subject or None,
        date=date,
        date_zone=date_zone,
        body=rest,
        body_is_html=html,
    )


def _from_attached(message: Message) -> Original:
    senders = h.addresses(message.get_all("From") or [])
    body, html = readable_text(message)
    return Original(
        kind="attachment",
        sender=senders[0][1] if senders else None,
        sender_name=senders[0][0] if senders else None,
        to=h.address_list(message.get_all("To") or []),
        cc=h.address_list(message.get_all("Cc") or []),
        subject=h.decode_text(message.get("Subject")) or None,
        date=h.parse_date(message.get("Date")),
        date_zone="text",
        message_id=h.message_id(message.get("Message-ID")),
        body=body,
        body_is_html=html,
        message=message,
    )


MAX_DEPTH = 8
_BOUNCE_SUBJECT = re.compile(
    r"delivery status notification|undeliver|returned mail|mail delivery (failed|failure)|delivery failure|"
    r"non remis|non distribu|échec de (la )?(remise|distribution)|unzustellbar|no se puede entregar|"
    r"mancato recapito|onbestelbaar", re.IGNORECASE)


def _is_delivery_report(message: Message, subject: str) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    sender = str(message.get("From") or "").lower()
    return ("mailer-daemon" in sender or "postmaster" in sender) and bool(_BOUNCE_SUBJECT.search(subject or "")) \
        or bool(_BOUNCE_SUBJECT.match(subject or ""))


def unwrap(message: Message, subject: str, body: str, body_is_html: bool,
           raw_date: str | None) -> list[Original]:
    """The chain of originals a forward carries, outermost first; [] when not a forward.

    ``subject`` and ``body`` are the decoded subject and readable text of ``message``.
    """
    chain: list[Original] = []
    if _is_delivery_report(message, subject):
        return chain  # a bounce quotes the message it returns: that is not a forward
    current_message: Message | None = message
    current_subject, current_body, html = subject, body, body_is_html
    offset = date_offset(raw_date)
    for _ in range(MAX_DEPTH):
        says_forward = bool(FORWARD_PREFIX.match(current_subject or ""))
        if not says_forward and REPLY_PREFIX.match(current_subject or ""):
            break  # a reply quotes the message it answers: that is not a forward
        attached = [] if current_message is None or not says_forward \
            or current_message.get_content_type() == "multipart/report" \
            else attached_messages(current_message)
        inline = find_inline(current_body, says_forward)
        stripped_subject = FORWARD_PREFIX.sub("", current_subject or "")
        if attached and (inline is None or len(current_body) < 2000):
            original = _from_attached(attached[0])
            offset = date_offset(attached[0].get("Date")) or offset
        elif inline is not None:
            original = _from_block(*inline, offset=offset, html=html, subject=stripped_subject)
        elif says_forward and (attribution := find_attribution(current_body)) is not None:
            original = _from_block(*attribution, offset=offset, html=html, subject=stripped_subject)
        else:
            break
        chain.append(original)
        current_message = original.message
        current_subject, current_body, html = original.subject or "", original.body, original.body_is_html
    return chain
