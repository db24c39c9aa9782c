"""Microsoft 365 message trace and Google Workspace email log search exports (CSV).

Both vendors change column orders and spellings between versions and export paths, so
columns are found by name through alias tables, case- and space-insensitively; a ``#TYPE``
line (Windows PowerShell ``Export-Csv``), a byte order mark, UTF-16 (historical searches) and
a ``;`` delimiter (localised Excel) are handled. Times without a zone are UTC for Microsoft
(documented) and the workspace zone for Google (undocumented: see docs/ingest.md).

Microsoft 365 variants read:
- classic message trace (``Get-MessageTrace``/``V2``, EAC export): one row per recipient;
- historical search "enhanced summary": ``recipient_status`` as ``addr##Receive, Deliver;…``;
- historical search "extended" (``MessageTraceDetail``): one row per event (``event_id``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias
from zoneinfo import ZoneInfo

from .base import MAX_LOG_LINE, READ_ERRORS, InputPath, open_binary, read_block, read_blocks, read_problem, split_lines
from .logs import BadLine, LogEvent, clean_address, clean_message_id, numbered

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

# canonical field name -> the header names (lower case, without spaces) it may have
Aliases: TypeAlias = Mapping[str, tuple[str, ...]]

# --------------------------------------------------------------------------- decoding

def read_text(path: InputPath, limit: int | None = None) -> str:
    """A CSV export as text: BOM-marked or NUL-sniffed UTF-16, else UTF-8, else Windows-1252."""
    with open_binary(path) as handle:
        if limit is None:
            data = handle.read()
        else:  # a sample (to detect the kind): what was read before a truncated gzip breaks off
            data, error = read_block(handle, limit)
            if error is not None and not data:
                raise error
    return decode_export(data)


def decode_export(data: bytes) -> str:
    """The bytes of a CSV export as text (see ``read_text``)."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    sample = data[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        odd = sum(1 for i in range(1, len(sample), 2) if sample[i] == 0)
        return data.decode("utf-16-le" if odd >= len(sample) // 4 else "utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _normalise(name: str) -> str:
    return re.sub(r"[\s_()\-]+", "", name.strip().strip('"').lstrip("\ufeff").lower())


def header_line(text: str) -> tuple[int, str] | None:
    """(index, line) of the header: the first line that is not a ``#`` comment or blank."""
    for index, line in enumerate(text.splitlines()[:20]):
        if line.strip() and not line.lstrip("\ufeff").startswith("#"):
            return index, line
    return None


def _columns(line: str) -> tuple[str, list[str]]:
    delimiter = ";" if line.count(";") > line.count(",") else ","
    names = next(csv.reader([line], delimiter=delimiter))
    return delimiter, [_normalise(n) for n in names]


M365_ALIASES = {
    "time": ("received", "receivedtime", "datetimeutc", "origintimestamputc", "origintimestamp", "date",
             "dateutc", "datetime", "timestamp"),
    "sender": ("senderaddress", "sender", "fromaddress"),
    "recipient": ("recipientaddress", "recipient", "recipients", "toaddress"),
    "subject": ("subject", "messagesubject"),
    "status": ("status", "deliverystatus"),
    "message_id": ("messageid", "internetmessageid"),
    "recipient_status": ("recipientstatus",),
    # EventId: Exchange's message tracking log; Event and Detail: Get-MessageTraceDetail's export,
    # whose Detail gives a failure's reason ("Reason: [{LED=550 5.7.520 Access denied, …}]")
    "event": ("eventid", "event"),
    "detail": ("detail",),
    "related": ("relatedrecipientaddress",),
    "trace_id": ("messagetraceid", "networkmessageid"),
}
GWS_ALIASES = {
    "time": ("eventdate", "startdate", "date", "timestamp"),
    "sender": ("sender", "fromenvelope", "fromheaderaddress", "senderaddress"),
    "recipient": ("recipientaddress", "recipient", "toenvelope"),
    "subject": ("subject",),
    "status": ("eventstatus", "messagestatus", "status", "deliverystatus"),
    "message_id": ("messageid",),
    "target": ("eventtarget",),
    "direction": ("direction", "messagedirection"),
    "description": ("eventdescription",),
}


def _index(names: list[str], aliases: Aliases) -> dict[str, int]:
    found = {}
    for field, options in aliases.items():
        for option in options:
            if option in names:
                found[field] = names.index(option)
                break
    return found


def looks_like_m365(head: bytes) -> bool:
    """Whether ``head``, the first bytes of a file, starts a Microsoft 365 message trace."""
    found = _header_fields(head, M365_ALIASES)
    return {"time", "recipient", "status"} <= found or {"time", "recipient_status"} <= found \
        or {"time", "event", "recipient"} <= found


def looks_like_gws(head: bytes) -> bool:
    """Whether ``head``, the first bytes of a file, starts a Google Workspace email log export."""
    found = _header_fields(head, GWS_ALIASES)
    return {"message_id", "recipient"} <= found and ("target" in found or "status" in found and "direction" in found)


def _header_fields(head: bytes, aliases: Aliases) -> set[str]:
    found = header_line(decode_export(head))
    if not found:
        return set()
    _, names = _columns(found[1])
    return set(_index(names, aliases))


# --------------------------------------------------------------------------- times

_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)$", re.I)
_DAY_FIRST = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_GOOGLE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})(?::(\d{2}))?(?: \(?(UTC|GMT)\)?)?$")


def parse_time(value: str, zone: ZoneInfo) -> dt.datetime:
    """An export's timestamp as naive UTC; times without a zone are read in ``zone``."""
    text = value.strip()
    if not text:
        raise ValueError("empty time")
    iso = re.sub(r"(\.\d{6})\d+", r"\1", text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} ", text) else text)
    try:
        parsed = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        us, day_first, google = _US.match(text), _DAY_FIRST.match(text), _GOOGLE.match(text)
        if us:
            month, day, year, hour, minute, second, half = us.groups()
            hour = int(hour) % 12 + (12 if half.upper() == "PM" else 0)
            parsed = dt.datetime(int(year), int(month), int(day), hour, int(minute), int(second or 0))
        elif day_first:
            day, month, year, hour, minute, second = day_first.groups()
            parsed = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
        elif google:
            year, month, day, hour, minute, second, utc = google.groups()
            parsed = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
            if utc:
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
        else:
            raise ValueError(f"unreadable time {text!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


# --------------------------------------------------------------------------- rows

# What str.splitlines breaks lines at (the former reading split the whole text with it).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_CHUNK = 1 << 16


def _encoding(head: bytes) -> str | None:
    """The text encoding ``read_text`` would choose from a file's first bytes; None for
    "UTF-8, else Windows-1252" (decided line by line when streaming)."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return encoding
    sample = head[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        odd = sum(1 for i in range(1, len(sample), 2) if sample[i] == 0)
        return "utf-16-le" if odd >= len(sample) // 4 else "utf-16-be"
    return None


def _decoded_lines(handle: io.BufferedIOBase, limit: int) -> Iterator[tuple[str | None, int]]:
    """(text, length) of each line of a CSV export, decoded as ``read_text`` decodes a whole
    file (UTF-8 or Windows-1252 is decided per line here); text None for a line too long."""
    head, error = read_block(handle, 4000)

    def following() -> Iterator[bytes]:
        if error is not None:
            raise error  # after the lines of the bytes read before it
        yield from read_blocks(handle, _CHUNK)

    rest = following()
    encoding = _encoding(head)
    if encoding is not None:
        decoder = codecs.getincrementaldecoder(encoding)("replace")

        def texts() -> Iterator[str]:
            yield decoder.decode(head)
            for chunk in rest:
                yield decoder.decode(chunk)
            yield decoder.decode(b"", True)

        yield from split_lines(texts(), limit, _LINE_BREAKS)
        return

    def raw() -> Iterator[bytes]:
        yield head
        yield from rest

    for line, length in split_lines(raw(), limit, b"\n\r"):
        if line is None:
            yield None, length
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("cp1252", "replace")
        for piece in text.splitlines(True):
            yield piece, len(piece)


def _rows(path: InputPath, label: str, aliases: Aliases,
          max_line: int = MAX_LOG_LINE) -> Iterator[tuple[str, dict[str, str], list[str]] | BadLine]:
    """(source, fields by canonical name, raw row) for each data row; a ``BadLine`` for a row the
    CSV reader refuses, a line longer than ``max_line`` or a file that breaks off."""
    with open_binary(path) as handle:
        lines = _decoded_lines(handle, max_line)
        header = yield from _header(lines, label, max_line)
        if header is None:
            return
        start, line = header
        delimiter, names = _columns(line)
        too_long: list[tuple[int, int]] = []
        reader = csv.reader(_data_lines(lines, start, too_long), delimiter=delimiter)
        yield from _csv_rows(reader, label, start, _index(names, aliases), too_long, max_line)


def _header(lines: Iterator[tuple[str | None, int]], label: str,
            max_line: int) -> Generator[BadLine, None, tuple[int, str] | None]:
    """Read up to the header line, among the first 20: returns its index and text (None when
    there is none); yields a ``BadLine`` for each line too long before it and for a file that
    breaks off there."""
    try:
        for index, (text, length) in enumerate(lines):
            if index >= 20:
                return None  # the header is among the first lines, or this is no export
            if text is None:
                yield BadLine(f"{label}:{index + 1}", "too_large",
                              f"line of {length} characters, longer than {max_line}", b"")
                continue
            if text.strip() and not text.lstrip("\ufeff").startswith("#"):
                return index, text.rstrip(_LINE_BREAKS)
    except READ_ERRORS as exc:
        reason, detail = read_problem(exc)
        yield BadLine(f"{label}:1", reason, detail, b"")
    return None


def _data_lines(lines: Iterator[tuple[str | None, int]], start: int,
                too_long: list[tuple[int, int]]) -> Iterator[str]:
    """The lines after the header (at index ``start``) for the CSV reader; each line too long
    is an empty line, its number and length noted in ``too_long``."""
    # each line ended by "\n" but the last, as when the lines were joined by "\n"
    previous = None
    for offset, (text, length) in enumerate(lines, start=1):
        if previous is not None:
            yield previous + "\n"
        if text is None:
            too_long.append((start + 1 + offset, length))
            previous = ""
        else:
            previous = text.rstrip(_LINE_BREAKS)
    if previous:
        yield previous


def _csv_rows(reader: _CsvReader, label: str, start: int, columns: dict[str, int],
              too_long: list[tuple[int, int]],
              max_line: int) -> Iterator[tuple[str, dict[str, str], list[str]] | BadLine]:
    """The rows of ``reader`` with their fields by canonical name (``columns``: name -> cell
    index); a ``BadLine`` for a row it refuses, for a line too long, and for a file that breaks off."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield from _too_long(label, too_long, max_line)
            yield BadLine(f"{label}:{start + 1 + reader.line_num}", "bad_log_row", str(exc)[:200], b"")
            continue
        except READ_ERRORS as exc:
            yield from _too_long(label, too_long, max_line)
            reason, detail = read_problem(exc)
            yield BadLine(f"{label}:{start + 2 + reader.line_num}", reason, detail, b"")
            return
        yield from _too_long(label, too_long, max_line)
        number = start + 1 + reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        fields = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
        yield f"{label}:{number}", fields, row
    yield from _too_long(label, too_long, max_line)


def _too_long(label: str, found: list[tuple[int, int]], limit: int) -> Iterator[BadLine]:
    for number, length in found:
        yield BadLine(f"{label}:{number}", "too_large", f"line of {length} characters, longer than {limit}", b"")
    found.clear()


_M365_STATUS = {"delivered": "sent", "failed": "bounced", "pending": "deferred", "expanded": "expanded",
                "filteredasspam": "rejected", "quarantined": "other", "gettingstatus": "other", "none": "other",
                "resolved": "sent"}
_M365_EVENTS = {"deliver": "sent", "send": "sent", "sendexternal": "sent", "fail": "bounced",
                "defer": "deferred", "expand": "expanded", "redirect": "sent", "resolve": "sent",
                "drop": "rejected", "transfer": "other", "dsn": "other", "poisonmessage": "other"}


def _status_from_events(events: str) -> str:
    words = [w.strip().lower() for w in events.split(",") if w.strip()]
    for word, status in (("fail", "bounced"), ("drop", "rejected"), ("filteredasspam", "rejected"),
                         ("quarantined", "other"), ("defer", "deferred"), ("deliver", "sent"), ("send", "sent"),
                         ("expand", "expanded")):
        if word in words:
            return status
    return "other"


def read_m365(path: InputPath, label: str, timezone: str = "UTC") -> Iterator[LogEvent | BadLine]:
    """Delivery events of a Microsoft 365 message trace export (any of the variants): every
    row with a recipient is an event, whatever its status (two alike rows are two events)."""
    return numbered(_read_m365(path, label))


def _read_m365(path: InputPath, label: str) -> Iterator[LogEvent | BadLine]:
    utc = ZoneInfo("UTC")  # Microsoft exports are UTC, with or without a marker
    for item in _rows(path, label, M365_ALIASES):
        if isinstance(item, BadLine):
            yield item
            continue
        source, fields, row = item
        try:
            when = parse_time(fields.get("time", ""), utc)
            message_id = clean_message_id(fields.get("message_id"))
            sender, subject = clean_address(fields.get("sender")), fields.get("subject") or None
            if "recipient_status" in fields and fields["recipient_status"]:
                for status in fields["recipient_status"].split(";"):
                    if not status.strip():
                        continue
                    address, _, events = status.partition("##")
                    yield LogEvent(when, "m365", message_id, sender, clean_address(address), None,
                                   _status_from_events(events), source, detail=events.strip()[:200] or None,
                                   subject=subject)
                continue
            if "event" in fields:
                event = fields["event"].strip().lower().replace(" ", "")  # "Send external"
                if event not in _M365_EVENTS:
                    continue  # RECEIVE, AGENTINFO, …: steps, not deliveries
                related = clean_address(fields.get("related"))
                for address in (fields.get("recipient") or "").split(";"):
                    if address.strip():
                        recipient = related if event in ("redirect", "resolve") and related else clean_address(address)
                        original = clean_address(address) if recipient != clean_address(address) else None
                        yield LogEvent(when, "m365", message_id, sender, recipient, original,
                                       _M365_EVENTS[event], source, detail=_event_detail(fields), subject=subject)
                continue
            recipient = clean_address(fields.get("recipient"))
            if not recipient:
                raise ValueError("no recipient")
            status_word = fields.get("status", "")
            status = _M365_STATUS.get(status_word.strip().lower().replace(" ", ""), "other")
            yield LogEvent(when, "m365", message_id, sender, recipient, None, status, source,
                           detail=status_word or None, subject=subject)
        except Exception as exc:  # noqa: BLE001 - a row that cannot be read is quarantined, never a crash
            detail = str(exc) if isinstance(exc, (ValueError, IndexError)) else f"{type(exc).__name__}: {exc}"
            yield BadLine(source, "bad_log_row", detail[:200], ",".join(row).encode("utf-8", "replace"))


def _event_detail(fields: dict[str, str]) -> str:
    """An event row's detail: the event, and the reason when the export gives one."""
    reason = " ".join((fields.get("detail") or "").split())
    return f"{fields['event'].strip().upper()} {reason}".strip()[:300]


def _gws_status(status: str, target: str) -> str:
    word = status.strip().upper()
    if any(k in word for k in ("BOUNCE", "FAIL")):
        return "bounced"
    if any(k in word for k in ("DROP", "REJECT", "BLOCK")):
        return "rejected"
    if any(k in word for k in ("DEFER", "RETRY", "PENDING")):
        return "deferred"
    if any(k in word for k in ("SPAM", "QUARANTIN")):
        return "other"
    if any(k in word for k in ("DELIVER", "INSERT", "INBOX", "SENT", "ACCEPT")):
        return "sent"
    if target.strip().upper() == "LIST_SERVER":
        return "expanded"
    return "other"


def read_gws(path: InputPath, label: str, timezone: str = "UTC") -> Iterator[LogEvent | BadLine]:
    """Delivery events of a Google Workspace email log search export: one per row."""
    return numbered(_read_gws(path, label, timezone))


def _read_gws(path: InputPath, label: str, timezone: str) -> Iterator[LogEvent | BadLine]:
    zone = ZoneInfo(timezone)
    for item in _rows(path, label, GWS_ALIASES):
        if isinstance(item, BadLine):
            yield item
            continue
        source, fields, row = item
        try:
            when = parse_time(fields.get("time", ""), zone)
            recipient = clean_address(fields.get("recipient"))
            if not recipient:
                raise ValueError("no recipient")
            status_word, target = fields.get("status", ""), fields.get("target", "")
            detail = " ".join(part for part in (status_word, target, fields.get("description", "")) if part)
            yield LogEvent(when, "gws", clean_message_id(fields.get("message_id")), clean_address(fields.get("sender")),
                           recipient, None, _gws_status(status_word, target), source,
                           detail=detail[:200] or None, subject=fields.get("subject") or None)
        except Exception as exc:  # noqa: BLE001 - a row that cannot be read is quarantined, never a crash
            detail = str(exc) if isinstance(exc, (ValueError, IndexError)) else f"{type(exc).__name__}: {exc}"
            yield BadLine(source, "bad_log_row", detail[:200], ",".join(row).encode("utf-8", "replace"))
