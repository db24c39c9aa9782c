"""Every environment variable emailtrack reads, read and validated here, and nowhere else.

Each is read when it is needed (a test or a scheduler may change it between two calls); a value
that makes no sense is refused with the variable's name (exit 2), never replaced silently by a
default. Secrets (the SMTP URL may hold a password) are returned, never shown.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from .errors import UsageError

# name -> what it does (docs/configuration.md, "Environment")
VARIABLES = {
    "EMAILTRACK_WORKSPACE": "the workspace folder when --workspace is not given (default: the current folder)",
    "EMAILTRACK_LOCK_WAIT": "seconds a command or query waits for another process holding the database (default 600)",
    "EMAILTRACK_DB_MEMORY": "DuckDB's memory limit, e.g. 256MB or 1GB (default 256MB)",
    "EMAILTRACK_MAX_MESSAGE_MB": "largest message stored, in megabytes (default 64)",
    "EMAILTRACK_NOTEBOOKS": "a folder of report notebooks looked in after the workspace's own notebooks/",
    "EMAILTRACK_SMTP_URL": "where report emails go: smtp://user:pass@host:port, smtps://…, ?starttls=true",
    "EMAILTRACK_MAIL_FROM": "the From address of report emails",
    "EMAILTRACK_IMAP_PASSWORD": "the password of the mailboxes read by `ingest imap://…` (never shown)",
    "EMAILTRACK_IMAP_TOKEN_COMMAND": "a command printing an OAuth2 access token for `ingest imap://…` (XOAUTH2: "
                                     "Gmail, Microsoft 365); split as a shell would, run without a shell",
    "EMAILTRACK_IMAP_CA_FILE": "a PEM file of certificates trusted besides the system's for IMAP over TLS (a self-signed server)",
}
DEFAULT_LOCK_WAIT = 600.0
DEFAULT_DB_MEMORY = "256MB"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _value(name: str, environ: Mapping[str, str] | None = None) -> str:
    return (os.environ if environ is None else environ).get(name, "").strip()


def _number(name: str, default: float, *, positive: bool = False) -> float:
    text = _value(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or (positive and value == 0):  # NaN fails every comparison
        raise UsageError(f"{name} must be a {'positive ' if positive else ''}number, not {text!r}")
    return value


def workspace_dir() -> str | None:
    return _value("EMAILTRACK_WORKSPACE") or None


def lock_wait() -> float:
    """Seconds to wait for another process holding the database or the reports folder."""
    return _number("EMAILTRACK_LOCK_WAIT", DEFAULT_LOCK_WAIT)


def db_memory() -> str:
    text = _value("EMAILTRACK_DB_MEMORY")
    if not text:
        return DEFAULT_DB_MEMORY
    if not _MEMORY.match(text):
        raise UsageError(f"EMAILTRACK_DB_MEMORY must be a size such as 256MB or 1GB, not {text!r}")
    return text


def max_message_mb() -> float | None:
    """The largest message stored, in megabytes, when the environment says; else None."""
    if not _value("EMAILTRACK_MAX_MESSAGE_MB"):
        return None
    return _number("EMAILTRACK_MAX_MESSAGE_MB", 0.0, positive=True)


def validate() -> None:
    """Refuse (exit 2, naming the variable) any value set that makes no sense, before a command
    starts rather than half-way through it."""
    lock_wait()
    db_memory()
    max_message_mb()


def notebooks_dir() -> Path | None:
    text = _value("EMAILTRACK_NOTEBOOKS")
    return Path(text) if text else None


def smtp(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(``EMAILTRACK_SMTP_URL``, ``EMAILTRACK_MAIL_FROM``), as given (mailer.py parses them)."""
    return _value("EMAILTRACK_SMTP_URL", environ), _value("EMAILTRACK_MAIL_FROM", environ)


def imap_password() -> str | None:
    """``EMAILTRACK_IMAP_PASSWORD``, as given (not stripped: a password may end with a space)."""
    return os.environ.get("EMAILTRACK_IMAP_PASSWORD") or None


def imap_token_command() -> list[str] | None:
    """``EMAILTRACK_IMAP_TOKEN_COMMAND`` split as a shell would split it (it is run without one)."""
    text = _value("EMAILTRACK_IMAP_TOKEN_COMMAND")
    if not text:
        return None
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unclosed quote; the command itself holds no secret, the token it prints does
        raise UsageError(f"EMAILTRACK_IMAP_TOKEN_COMMAND cannot be split into words: {exc}") from None
    return words or None


def imap_ca_file() -> Path | None:
    """``EMAILTRACK_IMAP_CA_FILE``: certificates trusted besides the system's, or None."""
    text = _value("EMAILTRACK_IMAP_CA_FILE")
    if not text:
        return None
    path = Path(text)
    if not path.is_file():
        raise UsageError(f"EMAILTRACK_IMAP_CA_FILE is not a file: {text}")
    return path
