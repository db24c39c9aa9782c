"""The common case parsed quickly: the same ``Message`` tree as the standard library's, built
from whole blocks of text instead of line by line.

``email.feedparser`` reads a message one line at a time through a generator, testing every line
against every enclosing multipart boundary: about a third of the time spent on a portal email.
``split`` gives the tree that ``fastmime.BytesParser`` would give (the same header pairs,
payload strings, preambles and epilogues, no defects) by searching for the header block's end
and for boundary lines only, for the messages it knows it reads alike: LF or CRLF line endings
throughout, every header block a run of well-formed fields ended by a blank line, every
multipart with a start and a close boundary and parts between them. Anything else (a defect
the standard library would record, a stray carriage return, a ``multipart/digest``, a
``message/delivery-status``) makes it return None, and ``parse_message`` parses the message
with the full parser. ``tests/ingest/test_fast_path.py`` checks both give the same record.

The parts are ``Message`` objects that index their headers and remember their content type,
and read ``charset`` and ``boundary`` without the general parameter parser: the record asks
each part for them several times, and the standard library parses the header each time.
``parse_date`` reads the usual ``Date`` form without mail-parser's grammar; ``decode_text``,
``addresses`` and ``address_list`` remember the header values portal mail repeats.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from email import policy
from email.message import Message
from email.utils import quote, unquote

from . import headers as h

_COMPAT32 = policy.compat32


class FastMessage(Message):
    """A compat32 ``Message`` that reads its headers faster, with the same answers: the parser
    never changes a part's headers after building it, so the first value of each name is
    indexed once, the content type is remembered, and the ``charset`` and ``boundary``
    parameters of a plain ``Content-Type`` are read without the general parameter parser."""

    _index: dict[str, tuple[str, str, bool]] | None = None
    _content_type: str | None = None

    # The overrides answer as the standard library's methods do, with one signature where
    # typeshed spells overloads (hence the ignored override checks).
    def get(self, name: str, failobj: object = None) -> object:  # type: ignore[override]
        index = self._index
        if index is None:
            # the first value of each name (read last to first, the first is written last);
            # compat32's header_fetch_parse gives an ASCII value back as it is
            index = self._index = {key.lower(): (key, value, value.isascii())
                                   for key, value in reversed(vars(self)["_headers"])}
        found = index.get(name.lower())
        if found is None:
            return failobj
        key, value, plain = found
        return value if plain else self.policy.header_fetch_parse(key, value)

    def get_content_type(self) -> str:
        found = self._content_type
        if found is None:
            value = self.get("content-type", _MISSING)
            if value is _MISSING:
                found = self.get_default_type()
            elif isinstance(value, str):  # Message.get_content_type, _splitparam inlined
                found = value.partition(";")[0].strip().lower()
                found = found if found.count("/") == 1 else "text/plain"
            else:
                found = super().get_content_type()
            self._content_type = found
        return found

    def get_content_maintype(self) -> str:
        return self.get_content_type().split("/")[0]

    def get_content_subtype(self) -> str:
        return self.get_content_type().split("/")[1]

    def get_content_charset(self, failobj: object = None) -> object:  # type: ignore[override]
        found = _content_param(self.get("content-type", _MISSING), "charset")
        if found is _ASK:
            return super().get_content_charset(failobj)
        if not isinstance(found, str):  # no Content-Type, or no charset in it
            return failobj
        return found.lower()  # ASCII: _content_param reads only ASCII values

    def get_boundary(self, failobj: object = None) -> object:  # type: ignore[override]
        found = _content_param(self.get("content-type", _MISSING), "boundary")
        if found is _ASK:
            return super().get_boundary(failobj)
        if not isinstance(found, str):
            return failobj
        return unquote(found).rstrip()  # collapse_rfc2231_value of a str


_MISSING = object()
_ASK = object()


def _content_param(value: object, wanted: str) -> object:
    """``Message.get_param(wanted)`` of a Content-Type ``value`` (``_MISSING`` for no header
    or no such parameter), or ``_ASK`` when the value needs the standard library's general
    parser: 8-bit text, escapes, a semicolon inside quotes, RFC 2231 parameters."""
    if value is _MISSING:
        return _MISSING
    if not isinstance(value, str) or not value.isascii() or "\\" in value:
        return _ASK
    pieces = value.split(";")
    if '"' in value and any(piece.count('"') % 2 for piece in pieces):
        return _ASK  # a semicolon inside quotes: email.message._parseparam does not cut there
    for position, piece in enumerate(pieces):
        # email.message._parseparam, then _get_params_preserve and utils.decode_params
        name, equals, found = piece.partition("=")
        name = name.strip().lower() if equals else piece.strip()
        if position and _RFC2231_NAME.match(name.strip()):
            return _ASK
        if name.strip().lower() != wanted:
            continue
        found = found.strip()
        if position:  # decode_params unquotes and quotes it again
            found = '"%s"' % quote(unquote(found))
        return unquote(found)  # get_param's
    return _MISSING


_RFC2231_NAME = re.compile(r"^(?P<name>\w+)\*((?P<num>[0-9]+)\*?)?$", re.ASCII)  # email.utils'


class _Reject(Exception):
    """The message holds something this reader does not read as the standard library does."""


# A header block the feed parser reads without a defect: a field first, then fields and
# continuation lines, each line ended (the blank line after them is not part of it). A name is
# the feed parser's ``[\041-\071\073-\176]``, at least one character (an empty name is a defect).
_NAME = r"[\x21-\x39\x3b-\x7e]+:"
_BLOCK = {nl: re.compile(r"%s[^\r\n]*%s(?:(?:%s|[ \t])[^\r\n]*%s)*" % (_NAME, nl, _NAME, nl)) for nl in ("\n", "\r\n")}
_FIELD = {nl: re.compile(r"(%s)([^\r\n]*(?:%s[ \t][^\r\n]*)*)%s" % (_NAME, nl, nl)) for nl in ("\n", "\r\n")}


class _Splitter:
    """One message's text, read as ``FeedParser`` reads it (see ``_parsegen`` there)."""

    def __init__(self, text: str, nl: str):
        self.text = text
        self.nl = nl
        self.length = len(text)
        self.block = _BLOCK[nl]
        self.field = _FIELD[nl]
        self.separators: list[str] = []   # the feed parser's stack of false-EOF boundary matchers
        self.pos = 0
        self.last: Message | None = None  # the feed parser's ``_last``: the message created last

    # ----------------------------------------------------------------- lines

    def line_end(self, start: int) -> int:
        end = self.text.find(self.nl, start)
        return self.length if end < 0 else end + len(self.nl)

    def boundary(self, start: int, separator: str) -> tuple[bool, bool] | None:
        """Whether the line at ``start`` matches ``(?P<sep>SEP)(?P<end>--)?[ \\t]*(linesep)?$``:
        None if not, else (close boundary, line ended)."""
        text = self.text
        if not text.startswith(separator, start):
            return None
        end = self.line_end(start)
        rest = text[start + len(separator):end]
        ended = rest.endswith(self.nl)
        if ended:
            rest = rest[:-len(self.nl)]
        closing = rest.startswith("--")
        if closing:
            rest = rest[2:]
        if rest.strip(" \t"):
            return None
        return closing, ended

    def outer_eof(self, start: int, separators: list[str]) -> bool:
        """Whether reading the line at ``start`` gives the feed parser's false EOF."""
        if not self.text.startswith("--", start):  # every separator starts so
            return False
        for separator in separators:
            if self.boundary(start, separator) is not None:
                return True
        return False

    def next_boundary(self, start: int, separators: list[str]) -> int:
        """The first line from ``start`` that matches one of ``separators`` (the text's end when
        none does)."""
        if not separators:
            return self.length
        text, marker = self.text, self.nl + "--"
        line = start
        while True:
            if self.outer_eof(line, separators):
                return line
            found = text.find(marker, line)
            if found < 0:
                return self.length
            line = found + len(self.nl)

    # ----------------------------------------------------------------- parts

    def message(self, parent: Message | None) -> FastMessage:
        """A message or part from ``self.pos``, attached to ``parent``, as ``_parsegen`` makes it."""
        message = FastMessage(policy=_COMPAT32)
        if parent is not None:
            if parent.get_content_type() == "multipart/digest":
                raise _Reject("digest parts have another default type")
            parent.attach(message)
        self.last = message
        self.headers(message)
        ctype = message.get_content_type()
        if ctype == "message/delivery-status":
            raise _Reject("delivery-status blocks")
        maintype = ctype.split("/")[0]
        if maintype == "message":
            self.message(message)
        elif maintype == "multipart":
            self.multipart(message)
        else:
            end = self.next_boundary(self.pos, self.separators)
            message.set_payload(self.text[self.pos:end])
            self.pos = end
        return message

    def headers(self, message: Message) -> None:
        text, start, nl = self.text, self.pos, self.nl
        if start >= self.length or self.outer_eof(start, self.separators):
            raise _Reject("no header block before the end")
        if text.startswith(nl, start):  # no headers: the blank line is thrown away
            self.pos = start + len(nl)
            return
        stop = text.find(nl + nl, start)
        if stop < 0:
            raise _Reject("no blank line after the headers")
        stop += len(nl)
        if not self.block.fullmatch(text, start, stop):
            raise _Reject("a header line the parser reads as a defect or as the body")
        if self.separators and (text.startswith("--", start) or (nl + "--") in text[start:stop - len(nl)]):
            raise _Reject("a header line that may be a boundary")
        # compat32's header_source_parse: the first line's value left-stripped, the lines kept
        # (no value ends in a line break: the expression ends each before its own)
        vars(message)["_headers"] = [(name[:-1], value.lstrip(" \t")) for name, value in self.field.findall(text, start, stop)]
        self.pos = stop + len(nl)

    def multipart(self, message: Message) -> None:
        boundary = message.get_boundary()
        if boundary is None:
            raise _Reject("multipart without a boundary")
        if str(message.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit", "binary"):
            raise _Reject("multipart with a transfer encoding")
        separator = "--" + boundary
        outer = self.separators
        start = self.pos
        line = self.next_boundary(start, outer + [separator])
        if line >= self.length or self.outer_eof(line, outer):
            raise _Reject("no start boundary")
        found = self.boundary(line, separator)
        if found is None or found[0]:
            raise _Reject("a close boundary before any part")
        if line > start:  # the last newline belongs to the boundary
            message.preamble = self.text[start:line - len(self.nl)]
        while True:
            after = self.line_end(line)
            if after < self.length and (self.boundary(after, separator) is not None or self.outer_eof(after, outer)):
                raise _Reject("boundary lines in a row")
            self.pos = after
            self.separators = outer + [separator]
            self.message(message)
            self.separators = outer
            self.strip_last_newline()
            self.last = message
            line = self.pos
            if line >= self.length or self.outer_eof(line, outer):
                raise _Reject("no close boundary")
            found = self.boundary(line, separator)
            if found is None:  # the part ended at this boundary: never so
                raise _Reject("a part ended elsewhere than at a boundary")
            if found[0]:
                break
        after = self.line_end(line)
        end = self.next_boundary(after, outer)
        message.epilogue = self.text[after:end]
        self.pos = end

    def strip_last_newline(self) -> None:
        """The newline before a boundary belongs to the boundary, not to the part before it."""
        last = self.last
        assert last is not None
        nl = self.nl
        if last.get_content_maintype() == "multipart":
            epilogue = last.epilogue
            if epilogue == "":
                last.epilogue = None
            elif epilogue is not None and epilogue.endswith(nl):
                last.epilogue = epilogue[:-len(nl)]
        else:
            payload = vars(last)["_payload"]
            if isinstance(payload, str) and payload.endswith(nl):
                vars(last)["_payload"] = payload[:-len(nl)]


def split(data: bytes) -> FastMessage | None:
    """``fastmime.BytesParser(policy=compat32).parsebytes(data)``, or None when this reader
    cannot promise the same tree."""
    text = data.decode("ascii", "surrogateescape")
    if "\r" in text:
        bare = text.replace("\r\n", "")
        if "\r" in bare or "\n" in bare:
            return None  # mixed line endings: the feed parser splits lines at each kind
        nl = "\r\n"
    else:
        nl = "\n"
    splitter = _Splitter(text, nl)
    try:
        root = splitter.message(None)
    except _Reject:
        return None
    except Exception:  # nesting deeper than this reader recurses, say: the full parser decides
        return None
    if splitter.pos != splitter.length:  # never: the top level reads to the end
        return None
    return root


# "Sat, 01 Nov 2025 08:12:39 +0100" with an optional comment zone "(CET)": what portals and
# mail clients write; mail-parser's grammar gives the same instant (tests/ingest/test_fast_path.py).
_DATE = re.compile(r"(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                   r"(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})(?: \([A-Za-z]{1,5}\))?")
_MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_date(value: str | None) -> dt.datetime | None:
    """``headers.parse_date(value)``, read directly for the usual form."""
    match = _DATE.fullmatch(value) if value else None
    if match is None:
        return h.parse_date(value)
    weekday, day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    try:
        local = dt.datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    except ValueError:
        return h.parse_date(value)
    if int(year) < 1900 or int(zone_minutes) > 59 or (weekday is not None and _WEEKDAYS[local.weekday()] != weekday):
        return h.parse_date(value)  # what mail-parser makes of these is left to it
    offset = dt.timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        return (local - offset if sign == "+" else local + offset).replace(tzinfo=h.UTC)
    except OverflowError:
        return h.parse_date(value)


# Portal mail repeats its header values (a portal's From, a tracked To, a template's subject):
# the fast path reads each value once per process. The readers are pure, their answers are
# copied out, and a long value is read afresh (a cache of hostile headers would hold megabytes).
_CACHED_CHARS = 1000
_CACHE_SIZE = 2048


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _decoded(value: str) -> str:
    return h.decode_text(value)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _address_pairs(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(h.addresses(list(values)))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _address_list(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(h.address_list(list(values)))


def decode_text(value: str | None) -> str:
    """``headers.decode_text(value)``, remembered."""
    if value and len(value) <= _CACHED_CHARS:
        return _decoded(value)
    return h.decode_text(value)


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """``headers.addresses(values)``, remembered."""
    if not values:
        return []
    if sum(map(len, values)) <= _CACHED_CHARS:
        return list(_address_pairs(tuple(values)))
    return h.addresses(values)


def address_list(values: list[str]) -> list[str]:
    """``headers.address_list(values)``, remembered."""
    if not values:
        return []
    if sum(map(len, values)) <= _CACHED_CHARS:
        return list(_address_list(tuple(values)))
    return h.address_list(values)
