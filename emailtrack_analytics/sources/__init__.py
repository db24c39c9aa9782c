"""Input discovery: which files to read, and of which kind, decided by content.

File names and extensions mean little in mail exports (``.txt`` mboxes, extension-less
messages), so ``auto`` looks at the bytes: an mbox ``From `` line, a header block, the
distribution log's CSV header, mail log lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .base import RawMessage, head
from .csvlogs import looks_like_gws, looks_like_m365
from .distribution import looks_like_distribution, read_distribution
from .eml import read_eml
from .maildir import is_maildir, maildir_files
from .mbox import contains_separator, looks_like_mbox, read_mbox

MESSAGE_KINDS = ("mbox", "eml", "maildir")
LOG_KINDS = ("postfix", "m365", "gws", "distribution")
KINDS = ("auto",) + MESSAGE_KINDS + LOG_KINDS
ROLES = ("auto", "tracking", "mailbox")
SUPPORTED_LOGS = ("distribution", "postfix", "m365", "gws")

_POSTFIX = re.compile(rb"postfix(?:-[\w]+)?/[\w/.-]+\[\d+\]:")
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]{1,76}[ \t]*:")


@dataclass(frozen=True)
class InputFile:
    """One physical file to read, with its kind and the label its messages are known by."""

    path: Path
    kind: str                 # mbox | eml | maildir | distribution | postfix | m365 | gws | unknown
    label: str                # workspace-relative path (the contract's source prefix)
    position: int | None = None  # for a Maildir message file: its number in the folder


def detect(path: Path) -> str:
    """The kind of one file, from its first bytes."""
    try:
        start = head(path)
    except OSError:
        return "eml"  # the reader reports it as unreadable
    except Exception:  # e.g. a corrupt gzip stream
        return "eml"
    if not start.strip():
        return "eml"
    if looks_like_mbox(start):
        return "mbox"
    if looks_like_distribution(start):
        return "distribution"
    if looks_like_m365(start, path):
        return "m365"
    if looks_like_gws(start, path):
        return "gws"
    if _POSTFIX.search(start):
        return "postfix"
    lines = start.lstrip(b" \t\r\n").split(b"\n", 1)
    if lines and _HEADER_LINE.match(lines[0]) and contains_separator(path):
        return "mbox"  # an mbox whose first message has no "From " line
    return "eml"


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def discover(paths: list[str | os.PathLike], kind: str, relative) -> Iterator[InputFile]:
    """Every file under ``paths`` with its kind; ``relative(path)`` gives the source label.

    Raises UsageError for a path that does not exist or cannot be read (before any work).
    """
    if kind not in KINDS:
        raise UsageError(f"unknown --kind {kind!r} (one of {', '.join(KINDS)})")
    resolved = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"input path not found: {given}")
        if not os.access(path, os.R_OK):
            raise UsageError(f"input path not readable: {given}")
        resolved.append(path)
    for path in resolved:
        yield from _discover_one(path, kind, relative)


def _discover_one(path: Path, kind: str, relative) -> Iterator[InputFile]:
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
                    yield from _discover_one(Path(root) / d, kind, relative)
        for file in _walk(path):
            if any(is_maildir(parent) for parent in file.parents if path in parent.parents or parent == path) \
                    and kind in ("auto", "maildir"):
                continue  # read above, as a Maildir
            yield InputFile(file, detect(file) if kind == "auto" else kind, relative(file))
        return
    yield InputFile(path, detect(path) if kind == "auto" else kind, relative(path))


def read_messages(item: InputFile) -> Iterator[RawMessage]:
    """The raw messages of one message file (mbox, eml or a Maildir message file)."""
    try:
        if item.kind == "mbox":
            yield from read_mbox(item.path, item.label)
        elif item.kind == "maildir":
            yield from read_eml(item.path, f"{item.label}:{item.position}")
        else:
            yield from read_eml(item.path, item.label)
    except OSError as exc:
        yield RawMessage(item.path, item.label, b"", None, "unreadable", f"{exc.strerror or exc}")
    except EOFError as exc:  # truncated gzip
        yield RawMessage(item.path, item.label, b"", None, "truncated", str(exc))


def read_log(kind: str, path: Path, label: str, timezone: str):
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


__all__ = ["read_log", "InputFile", "RawMessage", "detect", "discover", "read_messages", "read_distribution",
           "KINDS", "ROLES", "MESSAGE_KINDS", "LOG_KINDS", "SUPPORTED_LOGS"]
