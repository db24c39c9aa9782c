"""Header values: decoding (RFC 2047, undeclared 8-bit), addresses and dates.

Header structure comes from the standard library's parser (policy ``compat32``, the fastest);
the decoding of encoded-words and the RFC 5322 date grammar come from mail-parser, whose
helpers handle the obsolete and broken forms found in real mail.
"""

from __future__ import annotations

import datetime as dt
import re
from email.errors import HeaderParseError
from email.header import decode_header
from email.utils import getaddresses, parsedate_to_datetime

from mailparser.dates import parse_mail_date
from mailparser.utils import ported_string

_FOLD = re.compile(r"\r?\n[ \t]+")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?")
UTC = dt.timezone.utc


def recover_text(value: str) -> str:
    """Undo ``surrogateescape``: raw 8-bit header bytes decoded as UTF-8, else Windows-1252."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def unfold(value: str) -> str:
    return _FOLD.sub(" ", value).replace("\r", "").replace("\n", " ")


def decode_text(value: str | None) -> str:
    """A header value as readable text: unfolded, 8-bit recovered, encoded-words decoded."""
    if not value:
        return ""
    text = unfold(recover_text(value))
    if _ENCODED_WORD.search(text):
        try:
            text = _decode_words(text)
        except Exception:  # a broken encoded-word must not lose the message
            pass
    return text.replace("\x00", "").strip()


# An encoded-word (as email.header reads them), or a run of them, adjacent or apart by white
# space only (which RFC 2047 drops; adjacent words in one charset are decoded together).
_WORD = r"=\?[^?]*?\?[qQbB]\?.*?\?="
_ENCODED_RUN = re.compile(_WORD + r"(?:\s*" + _WORD + r")*")


def _decode_words(text: str) -> str:
    """Each run of encoded-words decoded as mail-parser's ``decode_header_part`` decodes them,
    the text around them kept as it is.

    Given a whole value, ``decode_header_part`` turns 8-bit text outside encoded-words into
    bytes that it then drops as invalid UTF-8 ("Demande à Lyon =?utf-8?Q?caf=C3=A9?=" lost its
    "à"), and its expression searches to the end of the value from each "=?" that no "?="
    follows (quadratic: 12 s for a 128 KB subject of "=?a?q?x ").
    """
    end = text.rfind("?=") + 2  # no encoded-word ends after the last "?="
    out, position = [], 0
    for run in _ENCODED_RUN.finditer(text, 0, end if end >= 2 else 0):
        out.append(text[position:run.start()])
        try:
            decoded = "".join(ported_string(data, charset or "utf-8", "ignore")
                              for data, charset in decode_header(run.group(0)))
            decoded.encode("utf-8")  # a codec that made surrogates: keep the words as written
        except (HeaderParseError, UnicodeError):
            decoded = run.group(0)
        out.append(decoded)
        position = run.end()
    out.append(text[position:])
    return "".join(out)


_SIMPLE_MAILBOX = re.compile(r"^\s*(?:(\"[^\"\\,]*\"|[^<>\",;:()\\]*?)\s*<\s*([^<>\s\",;:()\\]+@[^<>\s\",;:()\\]+)\s*>"
                             r"|([^<>\s\",;:()\\]+@[^<>\s\",;:()\\]+))\s*$")
_QUOTED_COMMA = re.compile(r'"[^"]*,[^"]*"')

# _SIMPLE_MAILBOX, applied as an expression, takes cubic time on a value of white space
# ("To: a@b,        …x"): 4 s for 2,000 spaces, hours for 50,000. ``_simple_mailbox`` gives its
# groups in linear time (tests/robustness/test_fuzz.py checks it against the expression).
_ADDRESS_CHARS = re.compile(r'[^<>\s",;:()\\]+')
_NAME_CHARS = re.compile(r'[^<>",;:()\\]*')


def _is_address(text: str) -> bool:
    r"""``[^<>\s",;:()\\]+@[^<>\s",;:()\\]+`` matches all of ``text``."""
    return bool(_ADDRESS_CHARS.fullmatch(text)) and "@" in text[1:-1]


def _angle_address(tail: str) -> str | None:
    r"""The address of a tail ``\s*<\s*ADDRESS\s*>\s*`` (all of it), else None."""
    tail = tail.strip()
    if not (tail.startswith("<") and tail.endswith(">")):
        return None
    address = tail[1:-1].strip()
    return address if _is_address(address) else None


def _simple_mailbox(item: str) -> tuple[str, str, None] | tuple[None, None, str] | None:
    """``_SIMPLE_MAILBOX.match(item).groups()``: (display name, address) for ``Name <address>``
    or ``"Name" <address>``, (None, None, address) for a bare address, else None."""
    start = len(item) - len(item.lstrip())
    if item[start:start + 1] == '"':
        close = item.find('"', start + 1)
        if close >= 0 and not any(c in item[start + 1:close] for c in "\\,"):
            address = _angle_address(item[close + 1:])
            if address is not None:
                return item[start:close + 1], address, None
    else:
        less = item.find("<", start)
        if less >= 0 and _NAME_CHARS.fullmatch(item, start, less):
            address = _angle_address(item[less:])
            if address is not None:
                return item[start:less].rstrip(), address, None
    bare = item.strip()
    return (None, None, bare) if _is_address(bare) else None


def _simple(raw: list[str]) -> list[tuple[str, str]] | None:
    """The common forms (``a@b``, ``Name <a@b>``, lists of them) without the full RFC 5322
    address parser, which is slow; None when a value needs that parser (quotes, comments,
    groups, escapes)."""
    found: list[tuple[str, str]] = []
    for value in raw:
        if '"' in value and (value.count('"') % 2 or _QUOTED_COMMA.search(value)):
            return None
        for item in value.split(","):
            if not item.strip():
                continue
            match = _simple_mailbox(item)
            if not match:
                return None
            if match[2] is not None:
                found.append(("", match[2]))  # a bare address
            else:
                found.append((match[0].strip().strip('"'), match[1]))
    return found


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs from raw header values, in order.

    Addresses are split on the raw value so that a comma inside an encoded display name
    does not split a mailbox in two; names are decoded afterwards.
    """
    result = []
    raw = [unfold(recover_text(v)) for v in values if v]
    pairs = _simple(raw)
    if pairs is None:
        try:
            pairs = getaddresses(raw)
        except RecursionError:  # comments nested thousands deep ("((((…"): no address to read
            pairs = []
    for name, address in pairs:
        address = address.strip().strip("<>").strip().lower()
        if "@" not in address or " " in address:
            continue
        result.append((decode_text(name), address))
    return result


def address_list(values: list[str]) -> list[str]:
    seen = []
    for _, address in addresses(values):
        if address not in seen:
            seen.append(address)
    return seen


_BARE = re.compile(r"<?([^<>\s,;@]+@[^<>\s,;@]+\.[^<>\s,;@]+)>?")


def bare_address_list(values: list[str]) -> list[str]:
    """Addresses of headers that list bare addresses separated by spaces or commas (Gmail's
    ``X-Forwarded-For: agence@x.fr tracked@y.net``), which the RFC 5322 grammar reads as one
    mangled address."""
    seen: list[str] = []
    for value in values:
        for token in re.split(r"[\s,;]+", unfold(recover_text(value or ""))[:4096]):
            match = _BARE.fullmatch(token)
            address = match.group(1).lower() if match else None
            if address and address not in seen:
                seen.append(address)
    return seen


def parse_rfc_date(value: str | None) -> dt.datetime | None:
    """A strict RFC 5322 date (zone required, obsolete forms and comments allowed), as UTC."""
    if not value:
        return None
    try:
        result = parse_mail_date(unfold(recover_text(value)).strip())
    except Exception:
        return None
    return result.value.astimezone(UTC) if result.value is not None else None


def parse_date(value: str | None) -> dt.datetime | None:
    """An RFC 5322 date (obsolete forms, comments such as ``(CEST)``) as an aware UTC datetime."""
    if not value:
        return None
    parsed = parse_rfc_date(value)
    if parsed is not None:
        return parsed
    text = unfold(recover_text(value)).strip()
    try:  # the stdlib is more lenient with some broken forms (missing seconds, odd spacing)
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000": time in UTC, zone unknown
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def received_date(values: list[str]) -> dt.datetime | None:
    """The date of the last hop: the topmost ``Received:`` header with a parseable date."""
    for value in values:
        text = unfold(recover_text(value))
        if ";" in text:
            parsed = parse_date(text.rsplit(";", 1)[1])
            if parsed is not None:
                return parsed
    return None


_FROM_LINE_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+"
    r"(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:[A-Z]{3,4}\s+|[+-]\d{4}\s+)?(\d{4})")
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def from_line_date(line: str | None) -> dt.datetime | None:
    """The asctime date of an mbox ``From `` line, read as UTC (mbox lines carry no zone)."""
    if not line:
        return None
    match = _FROM_LINE_DATE.search(line)
    if not match:
        return None
    month, day, hour, minute, second, year = match.groups()
    try:
        return dt.datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour),
                           int(minute), int(second or 0), tzinfo=UTC)
    except ValueError:
        return None


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_id(value: str | None) -> str | None:
    """The normalised Message-ID (without angle brackets), or None."""
    if not value:
        return None
    text = unfold(recover_text(value)).strip()
    match = _MESSAGE_ID.search(text)
    found = match.group(1) if match else text.strip("<> ")
    if not found or " " in found or len(found) > 998:
        return None
    return found


def message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    return _MESSAGE_ID.findall(unfold(recover_text(value)))
