"""Unwrapping forwards: recover the original sender, recipients, date, subject and body.

A mail client forward is a new message (new From, new Message-ID, subject ``TR:``/``Fwd:``)
that carries the original either inline, after a separator and a localised header block, or
as an attached ``message/rfc822`` part. Forwards of forwards are unwrapped to the innermost
original. Redirects (``Resent-*``) keep the original message and need no unwrapping.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email.message import Message

from . import headers as h
from .body import attached_messages, readable_text

FORWARD_PREFIX = re.compile(
    r"^\s*(?:\[?(?:tr|trs|fwd?|fw|wg|rv|enc|doorst|vs|vb|i|pd|fwrd)\s*:\s*\]?\s*)+",
    re.IGNORECASE)
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|r|r[ée]p|aw|sv|antw|rif|res)\s*:\s*)+", re.IGNORECASE)

# Lines that announce a forwarded block, in the languages of the clients we see.
_SEPARATOR = re.compile(
    r"^[\s>]*(?:"
    r"-{2,}\s*(?:original message|message d'origine|ursprüngliche nachricht|mensaje original|"
    r"messaggio originale|oorspronkelijk bericht|mensagem original|forwarded message|"
    r"message transf[ée]r[ée]|mensaje reenviado|weitergeleitete nachricht|messaggio inoltrato|"
    r"doorgestuurd bericht|mensagem encaminhada|message réexpédié|forwarded message)\s*-{2,}"
    r"|_{10,}"
    r"|(?:d[ée]but du message r[ée]exp[ée]di[ée]|begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"inicio del mensaje reenviado|inizio messaggio inoltrato|begin doorgestuurd bericht)\s*:"
    r")\s*$", re.IGNORECASE)

_LABELS = {
    "from": "from|de|von|da|van|exp[ée]diteur|remitente|afzender|mittente",
    "date": "date|envoy[ée]|sent|gesendet|datum|inviato|enviado|verzonden|data|fecha|envoy[ée] le",
    "to": "to|[àa]|an|para|aan|destinataire|destinatario|pour",
    "cc": "cc|kopie|copia",
    "subject": "subject|objet|betreff|oggetto|asunto|onderwerp|assunto|sujet",
    "reply_to": "reply-to|r[ée]pondre [àa]",
}
_FIELD = re.compile(
    r"^(?P<quote>(?:>\s?)*)\s*\*?(?P<label>" + "|".join(f"(?P<{k}>{v})" for k, v in _LABELS.items())
    + r")\*?\s*:\s*\*?(?P<value>.*)$", re.IGNORECASE)


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
    message_id: str | None = None
    body: str = ""
    body_is_html: bool = False
    message: Message | None = None  # the attached message, for attachment forwards


def _labelled(line: str):
    match = _FIELD.match(line)
    if not match:
        return None
    kind = next(k for k in _LABELS if match.group(k) is not None)
    return kind, match.group("quote"), match.group("value").strip()


def _strip_quote(line: str, quote: str) -> str:
    if quote and line.startswith(">"):
        return re.sub(r"^(?:>\s?){1,%d}" % max(1, quote.count(">")), "", line)
    return line


def find_inline(text: str, subject_says_forward: bool) -> tuple[dict, str] | None:
    """The first forwarded header block in ``text`` and the text after it, or None.

    A block is a run of labelled lines (``De :``, ``From:``, ``Sujet :``, ``Date:`` … in any
    order: Thunderbird puts the subject first) holding at least a sender and a subject. It must
    follow a separator line, or the subject must carry a forward prefix.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        field_ = _labelled(line)
        if not field_:
            continue
        before = [l for l in lines[max(0, i - 3):i] if l.strip(" >\t")]
        after_separator = any(_SEPARATOR.match(l) for l in before)
        if not (after_separator or subject_says_forward):
            continue
        quote = field_[1]
        block: dict[str, str] = {}
        last = None
        end = i
        for j in range(i, min(len(lines), i + 16)):
            current = _strip_quote(lines[j], quote) if quote else lines[j]
            labelled = _labelled(current)
            if labelled and labelled[0] not in block:
                last = labelled[0]
                block[last] = labelled[2]
                end = j
            elif not current.strip():
                if "subject" in block and "from" in block:
                    break
                end = j
            elif last in ("to", "cc") and ("@" in current or "," in current):
                block[last] += " " + current.strip()
                end = j
            elif last in ("subject", "from") and not block[last]:
                block[last] = current.strip()
                end = j
            else:
                break
        if "subject" not in block or "from" not in block:
            continue
        rest = [_strip_quote(l, quote) for l in lines[end + 1:]]
        return block, "\n".join(rest).strip("\n")
    return None


_MONTH_NAMES = {
    # prefixes are enough and cover "févr.", "mär", "sept"
    "jan": 1, "janv": 1, "ene": 1, "gen": 1, "jän": 1,
    "feb": 2, "fév": 2, "fev": 2, "févr": 2,
    "mar": 3, "mär": 3, "mars": 3, "maa": 3,
    "apr": 4, "avr": 4, "abr": 4,
    "may": 5, "mai": 5, "mei": 5, "mag": 5, "mayo": 5,
    "jun": 6, "juin": 6, "giu": 6, "jui": 6,
    "jul": 7, "juil": 7, "lug": 7,
    "aug": 8, "aoû": 8, "aou": 8, "ago": 8,
    "sep": 9, "set": 9,
    "oct": 10, "okt": 10, "ott": 10, "out": 10,
    "nov": 11,
    "dec": 12, "déc": 12, "dez": 12, "dic": 12,
}
_NUMERIC_DATE = re.compile(r"\b(\d{1,4})[/.-](\d{1,2})[/.-](\d{2,4})\b")
_TIME = re.compile(r"\b(\d{1,2})[:h](\d{2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.IGNORECASE)
_ZONE = re.compile(r"(?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?|(?<![\d:])([+-])(\d{2})(\d{2})\b",
                   re.IGNORECASE)


def _month(word: str) -> int | None:
    word = word.lower().rstrip(".")
    for size in (5, 4, 3):
        if word[:size] in _MONTH_NAMES:
            return _MONTH_NAMES[word[:size]]
    return None


_WEEKDAY_WORDS = {
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado", "domingo",
    "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
}
# "12 mars 2026", "12. März 2026", "jeu. 12 mars 2026"; and "March 12, 2026"
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})\.?\s+(?:de\s+)?([^\W\d_]{3,})\.?\s+(?:de\s+)?(\d{4})\b", re.UNICODE)
_MONTH_DAY_YEAR = re.compile(r"\b([^\W\d_]{3,})\.?\s+(\d{1,2}),?\s+(\d{4})\b", re.UNICODE)


def _worded_date(text: str) -> tuple[int | None, int | None, int | None]:
    """(year, month, day) from a date with a month name; a weekday is never read as a month
    ("mardi" is not March)."""
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        for match in pattern.finditer(text):
            if order == "dmy":
                day, word, year = match.groups()
            else:
                word, day, year = match.groups()
            if word.lower().rstrip(".") in _WEEKDAY_WORDS:
                continue
            month = _month(word)
            if month:
                return int(year), month, int(day)
    return None, None, None


def parse_loose_date(value: str, default_offset: dt.timedelta | None) -> dt.datetime | None:
    """A date as mail clients print it in forward headers, in several languages, as UTC.

    Without a zone in the text the time is read in ``default_offset`` (the forwarding
    client's own offset, taken from the forward's Date header), else as UTC.
    """
    if not value:
        return None
    parsed = h.parse_rfc_date(value)  # a full RFC 5322 date carries its zone
    if parsed is not None:
        return parsed
    text = value.replace("\u202f", " ").replace("\xa0", " ")
    time = _TIME.search(text)
    hour = minute = second = 0
    if time:
        hour, minute, second = int(time.group(1)), int(time.group(2)), int(time.group(3) or 0)
        marker = (time.group(4) or "").lower().replace(".", "")
        if marker == "pm" and hour < 12:
            hour += 12
        elif marker == "am" and hour == 12:
            hour = 0
        text_no_time = text[:time.start()] + " " + text[time.end():]
    else:
        text_no_time = text
    year = month = day = None
    numeric = _NUMERIC_DATE.search(text_no_time)
    if numeric:
        a, b, c = numeric.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:  # day first, as in every language we read except US English
            day, month, year = int(a), int(b), int(c)
            if year < 100:
                year += 2000
    else:
        year, month, day = _worded_date(text_no_time)
    if not (year and month and day):
        return None
    zone = _ZONE.search(text)
    offset = default_offset
    if zone:
        if zone.group(1):
            sign, hours, minutes = zone.group(1), int(zone.group(2)), int(zone.group(3) or 0)
        else:
            sign, hours, minutes = zone.group(4), int(zone.group(5)), int(zone.group(6))
        offset = dt.timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    try:
        local = dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return None
    return (local - (offset or dt.timedelta(0))).replace(tzinfo=h.UTC)


def date_offset(raw_date: str | None) -> dt.timedelta | None:
    """The UTC offset written in a Date header (``+0100``), or None."""
    if not raw_date:
        return None
    match = re.search(r"([+-])(\d{2})(\d{2})\b", raw_date)
    if not match:
        return None
    delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return -delta if match.group(1) == "-" else delta


def _from_block(block: dict, rest: str, offset: dt.timedelta | None, html: bool) -> Original:
    senders = h.addresses([block.get("from", "").replace("[mailto:", "<").replace("]", ">")])
    sender_name = senders[0][0] if senders else block.get("from", "").strip(' "') or None
    return Original(
        kind="inline",
        sender=senders[0][1] if senders else None,
        sender_name=sender_name,
        to=h.address_list([block.get("to", "").replace("[mailto:", "<").replace("]", ">")]),
        cc=h.address_list([block.get("cc", "").replace("[mailto:", "<").replace("]", ">")]),
        subject=block.get("subject", "").strip() or None,
        date=parse_loose_date(block.get("date", ""), offset),
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
        message_id=h.message_id(message.get("Message-ID")),
        body=body,
        body_is_html=html,
        message=message,
    )


MAX_DEPTH = 8


def unwrap(message: Message, subject: str, body: str, body_is_html: bool,
           raw_date: str | None) -> list[Original]:
    """The chain of originals a forward carries, outermost first; [] when not a forward.

    ``subject`` and ``body`` are the decoded subject and readable text of ``message``.
    """
    chain: list[Original] = []
    current_message, current_subject, current_body, html = message, subject, body, body_is_html
    offset = date_offset(raw_date)
    for _ in range(MAX_DEPTH):
        says_forward = bool(FORWARD_PREFIX.match(current_subject or ""))
        if not says_forward and REPLY_PREFIX.match(current_subject or ""):
            break  # a reply quotes the message it answers: that is not a forward
        attached = [] if current_message is None or not says_forward \
            or current_message.get_content_type() == "multipart/report" \
            else attached_messages(current_message)
        inline = find_inline(current_body, says_forward)
        if attached and _thin(current_body, inline):
            original = _from_attached(attached[0])
            offset = date_offset(attached[0].get("Date")) or offset
        elif inline is not None:
            original = _from_block(*inline, offset=offset, html=html)
        else:
            break
        chain.append(original)
        current_message = original.message
        current_subject, current_body, html = original.subject or "", original.body, original.body_is_html
    return chain


def _thin(body: str, inline) -> bool:
    """A forward-as-attachment wrapper has little text of its own (a short note at most)."""
    return inline is None or len(body) < 2000
