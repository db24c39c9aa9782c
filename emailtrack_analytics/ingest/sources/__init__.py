"""Input discovery: which files to read, and of which kind, decided by content.

File names and extensions mean little in mail exports (``.txt`` mboxes, extension-less
messages), so ``auto`` looks at the bytes: an mbox ``From `` line, a header block, the
distribution log's CSV header, mail log lines. Objects of a store (``s3://bucket/prefix/``,
``remote.py``) are listed once, and their first bytes fetched many at a time (``detect_kinds``);
a small object's bytes, fetched whole for that, are kept for its reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...errors import UsageError
from .base import InputPath, RawMessage, head, head_of, is_regular, read_problem
from .csvlogs import looks_like_gws, looks_like_m365
from .distribution import looks_like_distribution, read_distribution
from .eml import read_eml
from .logs import BadLine, LogEvent
from .maildir import is_maildir, maildir_files
from .mbox import contains_separator, looks_like_mbox, read_mbox
from .remote import FETCH_WHOLE, ObjectPath, clean_url, fetch, is_object_url, list_objects, unread_maildir_files

MESSAGE_KINDS = ("mbox", "eml", "maildir")
LOG_KINDS = ("postfix", "m365", "gws", "distribution")
KINDS = ("auto",) + MESSAGE_KINDS + LOG_KINDS
ROLES = ("auto", "tracking", "mailbox")
SUPPORTED_LOGS = ("distribution", "postfix", "m365", "gws")

_POSTFIX = re.compile(rb"postfix(?:-[\w]+)?/[\w/.-]+\[\d+\]:")
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]{1,76}[ \t]*:")


HEAD_BYTES = 8192  # bytes read to tell a file's kind
OBJECT_HEAD = 64 * 1024     # bytes fetched of a larger object to tell its kind (gzipped: more than HEAD_BYTES)
DETECT_OBJECTS = 500        # objects whose first bytes are fetched together ...
DETECT_BYTES = 16 * 1024 * 1024   # ... holding at most about this many bytes


@dataclass(frozen=True)
class InputFile:
    """One physical file to read, with its kind and the label its messages are known by."""

    path: InputPath           # a local file, or an object of a store (``remote.ObjectPath``)
    kind: str                 # mbox | eml | maildir | distribution | postfix | m365 | gws | unknown
    #                           (auto: an object whose kind ``detect_kinds`` has yet to tell)
    label: str                # workspace-relative path, or the object's URL (the contract's source prefix)
    position: int | None = None  # for a Maildir message file: its number in the folder


@dataclass(frozen=True)
class Listing:
    """The objects one URL names, listed once (``remote.list_objects``)."""

    url: str                  # as given, less any password
    objects: tuple[ObjectPath, ...]


def detect(path: InputPath, start: bytes | None = None) -> str:
    """The kind of one file, from its first bytes; ``start``: those bytes (as stored: a gzipped
    file's are gunzipped here) when they were fetched already."""
    if start is None and not is_regular(path):
        return "eml"  # a FIFO or a device is never opened: the reader reports it as unreadable
    try:
        start = head(path, HEAD_BYTES) if start is None else head_of(start, HEAD_BYTES)
    except OSError:
        return "eml"  # the reader reports it as unreadable
    except Exception:  # e.g. a corrupt gzip stream
        return "eml"
    if not start.strip():
        return "eml"
    if looks_like_mbox(start):
        return "mbox"
    lines = start.lstrip(b" \t\r\n").split(b"\n", 1)
    whole = len(start) < HEAD_BYTES  # the file is shorter than its head: all of it is in ``start``
    if whole and b"\nFrom " not in start and _starts_a_message(lines[0]):
        return "eml"  # a whole single message: the CSV log headers need not be parsed (60 µs a file)
    if looks_like_distribution(start):
        return "distribution"
    if looks_like_m365(start):
        return "m365"
    if looks_like_gws(start):
        return "gws"
    if _POSTFIX.search(start):
        return "postfix"
    if lines and _HEADER_LINE.match(lines[0]) and (not whole or b"\nFrom " in start) \
            and contains_separator(path):
        return "mbox"  # an mbox whose first message has no "From " line
    return "eml"


def _starts_a_message(line: bytes) -> bool:
    """Whether a first line is a message's header field (``Received: from …``), which no log
    export starts with: their first lines are CSV column names (separated by commas or
    semicolons, maybe quoted), ``#`` comments, or dated log lines."""
    if not _HEADER_LINE.match(line) or line.startswith(b"#"):
        return False
    name = line.split(b":", 1)[0]
    # a field name starts with a letter; "2026-03-12T18:04:11+01:00 mx postfix/…" (an RFC 3339
    # stamped log) would otherwise read as the field "2026-03-12T18"
    return name[:1].isalpha() and not any(mark in name for mark in (b",", b";", b'"'))


def _walk(folder: Path) -> Iterator[str]:
    """The files under ``folder`` (as strings: a walk over 100,000 files is cheaper without
    Path objects); a folder that cannot be listed is yielded itself (its reader reports it
    ``unreadable``) rather than passed over in silence with every file in it."""
    unlistable: list[str] = []
    for root, dirs, files in os.walk(folder, onerror=lambda exc: unlistable.append(exc.filename)):
        yield from unlistable
        unlistable.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)
    yield from unlistable


Given = str | os.PathLike[str] | Listing


def discover(paths: Sequence[Given], kind: str, relative: Callable[[Path], str],
             unchanged: Callable[[str], bool] | None = None, *, detect_later: bool = False) -> Iterator[InputFile]:
    """Every file under ``paths`` (and every object a URL names) with its kind; ``relative(path)``
    gives a file's source label (an object's is its URL). A file for which ``unchanged(path)`` is
    true (ingested as it is now) is left out without being opened (re-ingesting a folder of
    100,000 files read the start of each one to detect its kind before the ledger skipped it).
    ``detect_later``: objects come with kind ``auto`` (the caller skips those the ledger holds
    unchanged, then hands the others to ``detect_kinds``).

    Raises UsageError for a path that does not exist or cannot be read (before any work).
    """
    for checked in check_paths(paths, kind):
        if isinstance(checked, Listing):
            items = (InputFile(obj, kind, obj.url) for obj in checked.objects)
            yield from (items if kind != "auto" or detect_later else detect_kinds(items))
        else:
            yield from _discover_one(checked, kind, relative, unchanged)


def check_paths(paths: Sequence[Given], kind: str, storage_options: Mapping[str, Any] | None = None) -> list[Path | Listing]:
    """The input paths, and the objects of each URL (listed with ``storage_options``), or
    UsageError for an unknown kind, a path that does not exist or cannot be read, or a URL that
    names nothing or cannot be listed."""
    if kind not in KINDS:
        raise UsageError(f"unknown --kind {kind!r} (one of {', '.join(KINDS)})")
    resolved: list[Path | Listing] = []
    for given in paths:
        if isinstance(given, Listing):
            resolved.append(given)
            continue
        if is_object_url(str(given)):
            resolved.append(_listing(str(given), kind, storage_options))
            continue
        path = Path(given)
        if not path.exists():
            raise UsageError(f"input path not found: {given}")
        if not os.access(path, os.R_OK):
            raise UsageError(f"input path not readable: {given}")
        resolved.append(path)
    return resolved


def _listing(url: str, kind: str, storage_options: Mapping[str, Any] | None) -> Listing:
    """A URL's objects. A Maildir under a URL is not read as one (a store keeps no empty
    ``new/``, and a message's name changes with its flags): its message files are read one by
    one, each its own source, its ``tmp/`` left out."""
    if kind == "maildir":
        raise UsageError(f"{clean_url(url)}: --kind maildir reads a local folder; under a URL a Maildir's "
                         "message files are read one by one (--kind auto or eml)")
    return Listing(clean_url(url), tuple(unread_maildir_files(list_objects(url, storage_options))))


def detect_kinds(items: Iterable[InputFile]) -> Iterator[InputFile]:
    """``items`` in order, each object of kind ``auto`` given its kind from its first bytes,
    fetched many objects at a time; a small object (up to ``remote.FETCH_WHOLE`` bytes) is
    fetched whole, and keeps its bytes for its reader. An object that cannot be fetched is tried
    once more on its own; if that fails too, its reader reports it unreadable (quarantined, and
    read again by the next run) instead of guessing its kind."""
    waiting: list[InputFile] = []
    held = 0
    for item in items:
        if item.kind != "auto" or not isinstance(item.path, ObjectPath):
            yield from _detected(waiting)
            waiting, held = [], 0
            yield item
            continue
        waiting.append(item)
        held += min(item.path.size, FETCH_WHOLE)
        if len(waiting) >= DETECT_OBJECTS or held >= DETECT_BYTES:
            yield from _detected(waiting)
            waiting, held = [], 0
    yield from _detected(waiting)


def _detected(items: list[InputFile]) -> list[InputFile]:
    objects = [item.path for item in items if isinstance(item.path, ObjectPath)]
    starts = _first_bytes(objects)
    # a store's errors are often passing ones (a reset connection, a throttled request): those
    # that failed are fetched once more, together
    failed = [index for index, start in enumerate(starts) if not isinstance(start, bytes)]
    for index, start in zip(failed, _first_bytes([objects[i] for i in failed]), strict=True):
        starts[index] = start
    done = []
    for item, obj, start in zip(items, objects, starts, strict=True):
        if not isinstance(start, bytes):
            done.append(replace(item, path=obj.unreadable(start), kind="eml"))
            continue
        path = obj.loaded(start) if obj.size <= FETCH_WHOLE else obj
        done.append(replace(item, path=path, kind=detect(path, start)))
    return done


def _first_bytes(objects: list[ObjectPath]) -> list[bytes | BaseException]:
    """What telling each object's kind needs, in order: a small object whole (its reader keeps
    it), a larger one's first ``OBJECT_HEAD`` bytes; a failed fetch is its exception."""
    whole = [index for index, obj in enumerate(objects) if obj.size <= FETCH_WHOLE]
    heads = [index for index, obj in enumerate(objects) if obj.size > FETCH_WHOLE]
    got: dict[int, bytes | BaseException] = dict(zip(whole, fetch([objects[i] for i in whole]), strict=True))
    got.update(zip(heads, fetch([objects[i] for i in heads], OBJECT_HEAD), strict=True))
    return [got[index] for index in range(len(objects))]


def prefetched(items: Iterable[InputFile]) -> list[InputFile]:
    """``items``, the small objects among them (up to ``remote.FETCH_WHOLE`` bytes) fetched in
    one concurrent batch and handed on with their bytes: a group of 2,000 message objects is not
    2,000 requests one after the other. One that could not be fetched is handed on as it is: its
    reader opens it and reports why it cannot be read."""
    items = list(items)
    wanted = [index for index, item in enumerate(items) if isinstance(item.path, ObjectPath)
              and item.path.data is None and item.path.size <= FETCH_WHOLE]
    objects = [path for index in wanted if isinstance(path := items[index].path, ObjectPath)]
    for index, obj, data in zip(wanted, objects, fetch(objects), strict=True):
        if isinstance(data, bytes):
            items[index] = replace(items[index], path=obj.loaded(data))
    return items


def _discover_one(path: Path, kind: str, relative: Callable[[Path], str],
                  unchanged: Callable[[str], bool] | None = None) -> Iterator[InputFile]:
    if path.is_dir():
        if kind in ("auto", "maildir") and is_maildir(path):
            label = relative(path)
            for number, file in enumerate(maildir_files(path), start=1):
                yield InputFile(file, "maildir", label, number)
            return
        if kind == "maildir":
            raise UsageError(f"not a Maildir (no cur/ and new/): {path}")
        for root, dirs, _ in os.walk(path):
            dirs.sort()
            for d in list(dirs):
                if is_maildir(Path(root) / d) and kind in ("auto", "maildir"):
                    dirs.remove(d)
                    yield from _discover_one(Path(root) / d, kind, relative, unchanged)
        maildirs: dict[str, bool] = {}

        def in_maildir(folder: str) -> bool:
            if folder not in maildirs:
                maildirs[folder] = is_maildir(Path(folder)) or (
                    Path(folder) != path and in_maildir(os.path.dirname(folder)))
            return maildirs[folder]

        for name in _walk(path):
            if kind in ("auto", "maildir") and in_maildir(os.path.dirname(name)):
                continue  # read above, as a Maildir
            if unchanged is not None and unchanged(name):
                continue
            file = Path(name)
            yield InputFile(file, detect(file) if kind == "auto" else kind, relative(file))
        return
    yield InputFile(path, detect(path) if kind == "auto" else kind, relative(path))


def read_messages(item: InputFile, max_bytes: int | None = None) -> Iterator[RawMessage]:
    """The raw messages of one message file (mbox, eml or a Maildir message file).

    Never raises for what a file holds or how it breaks off: an error while reading becomes a
    quarantine item (``unreadable``, ``truncated``) at the position reached, after the messages
    read before it. ``max_bytes`` is the maximum message size (see ``base.message_limit``).
    """
    count = 0
    label = f"{item.label}:{item.position}" if item.kind == "maildir" else item.label
    try:
        if isinstance(item.path, Path) and item.path.is_dir():  # a folder that could not be listed (see _walk)
            raise OSError(f"a folder that cannot be listed: {item.path.name}")
        if not is_regular(item.path):
            raise OSError(f"not a regular file: {item.path.name}")
        if item.kind == "mbox":
            for message in read_mbox(item.path, item.label, max_bytes):
                count += 1
                yield message
        else:
            for message in read_eml(item.path, label, max_bytes):
                count += 1
                yield message
    except Exception as exc:  # noqa: BLE001 - a damaged file is quarantined, never a crash
        if count and item.kind != "mbox":
            return  # its one message was read already
        reason, detail = read_problem(exc)
        source = f"{item.label}:{count + 1}" if item.kind == "mbox" else label
        yield RawMessage(item.path, source, b"", None, reason, detail)


def read_log(kind: str, path: InputPath, label: str, timezone: str) -> Iterator[LogEvent | BadLine]:
    """Delivery events (``LogEvent``) and unreadable lines (``BadLine``) of one mail log."""
    if kind == "postfix":
        from .postfix import read_postfix
        return read_postfix(path, label, timezone)
    if kind == "m365":
        from .csvlogs import read_m365
        return read_m365(path, label, timezone)
    if kind == "gws":
        from .csvlogs import read_gws
        return read_gws(path, label, timezone)
    raise ValueError(f"no reader for {kind} logs")


__all__ = ["read_log", "InputFile", "Listing", "RawMessage", "detect", "detect_kinds", "discover", "read_messages",
           "read_distribution",
           "KINDS", "ROLES", "MESSAGE_KINDS", "LOG_KINDS", "SUPPORTED_LOGS"]
