"""GDPR: erase one person everywhere (``forget``) and enforce retention (``purge``).

Both keep the counts: a lead that was counted stays counted (its attribution, month, portal and
point of sale are not personal data), while everything that identifies the prospect goes: the
stored bytes, the extracted details, the body, the sender's name, the person's addresses and the
text of subjects that quote them. Then the database file is rewritten so that erased values do
not survive in free blocks. See docs/privacy.md.

This module finds what to erase (SQL: sql/privacy.sql); the erasing itself is store/erasure.py,
which ingest and merge also run for people already forgotten.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from duckdb import DuckDBPyConnection

from ..config.months import shift_month
from ..config.workspace import Workspace
from ..errors import UsageError
from ..ingest.parsing.details import normalise_phone
from ..ingest.parsing.worker import decompress
from ..store.db import arrow_batches, connect, utcnow, writer_lock
from ..store.erasure import count_marked, create_marks, erase_marked
from ..store.queries import load_statements

_SQL = load_statements("ops", "sql", "privacy.sql")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEPARATORS = r"[\s.\-()/]*"


@dataclass
class ErasureResult:
    action: str
    scope: str
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    size_before: int = 0
    size_after: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        verb = "would erase" if self.dry_run else "erased"
        parts = ", ".join(f"{n} {table}" for table, n in self.counts.items() if n) or "nothing"
        tail = "" if self.dry_run else f"; database rewritten ({_mb(self.size_before)} -> {_mb(self.size_after)})"
        return f"{self.action} {self.scope}: {verb} {parts}{tail}"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


class Person:
    """What identifies the person to forget: an address or a phone number, as matchers."""

    def __init__(self, email: str | None, phone: str | None):
        if bool(email) == bool(phone):
            raise UsageError("forget needs exactly one of --email ADDRESS or --phone NUMBER")
        if email:
            email = email.strip().lower()
            if not _EMAIL.match(email):
                raise UsageError(f"{email!r} is not an email address")
            self.kind, self.value = "email", email
            self.pattern = re.compile(re.escape(email.encode()), re.I)
        else:
            number = normalise_phone(phone or "")
            if number is None:
                raise UsageError(f"{phone!r} is not a phone number (e.g. +33612345678 or 06 12 34 56 78)")
            self.kind, self.value = "phone", number
            self.pattern = re.compile(_phone_pattern(number).encode())
        self.text_pattern = self.pattern.pattern.decode()

    def found_in(self, raw: bytes) -> bool:
        return bool(self.pattern.search(raw))


def _phone_pattern(e164: str) -> str:
    """The number as people write it: +33 6 12 34 56 78, 0033..., 06.12.34.56.78, (0)6..."""
    digits = e164[1:]

    def spread(ds: str) -> str:
        return _SEPARATORS.join(ds)

    forms = [r"(?:\+|00)" + _SEPARATORS + spread(digits)]
    if digits.startswith("33"):
        national = digits[2:]
        forms.append(r"(?:\+|00)" + _SEPARATORS + "33" + _SEPARATORS + r"\(0\)" + _SEPARATORS + spread(national))
        forms.append("0" + _SEPARATORS + spread(national))
    return r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"


def forget(workspace: Workspace, *, email: str | None = None, phone: str | None = None,
           dry_run: bool = False) -> ErasureResult:
    """Erase one person's data everywhere; returns how many records of each table were erased."""
    person = Person(email, phone)

    def find(con: DuckDBPyConnection) -> tuple[str, Person | None]:
        row = con.execute("SELECT pseudonym(?)", [person.value]).fetchone()
        assert row is not None, "a scalar query returns one row"
        _find_person(con, person)
        return f"{person.kind} {row[0]}", person

    def remember(con: DuckDBPyConnection, scope: str) -> None:
        con.execute("INSERT OR IGNORE INTO forgotten VALUES (?, ?, ?)",
                    [scope.split(" ", 1)[1], person.kind, utcnow()])

    return _erasure(workspace, "forget", find, dry_run, remember)


def purge(workspace: Workspace, *, before: str | None = None, dry_run: bool = False,
          today: dt.date | None = None) -> ErasureResult:
    """Erase the personal data of everything dated before the month ``before`` (default: the
    workspace's ``retention_months`` back from this month)."""
    if before and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", before):
        raise UsageError(f"--before must be YYYY-MM, not {before!r}")
    first_kept = before or _retention_start(workspace, today)

    def find(con: DuckDBPyConnection) -> tuple[str, Person | None]:
        _find_before(con, workspace.timezone, first_kept)
        return f"before {first_kept}", None

    return _erasure(workspace, "purge", find, dry_run)


# marks what to erase in the marks' tables, inside a transaction it begins; returns the scope
# (as the audit names it) and the person, when one person is forgotten
_Finder = Callable[[DuckDBPyConnection], tuple[str, "Person | None"]]


def _erasure(workspace: Workspace, action: str, find: _Finder, dry_run: bool,
             after: Callable[[DuckDBPyConnection, str], None] | None = None) -> ErasureResult:
    """Mark (``find``), then count or erase, in one transaction; then rewrite the file."""
    with writer_lock(workspace.database, f"emailtrack {action}"):
        con = connect(workspace.database)
        try:
            scope, person = find(con)
            result = ErasureResult(action, scope, dry_run=dry_run)
            if dry_run:
                result.counts = count_marked(con)
                con.execute("ROLLBACK")
                return result
            result.counts = erase_marked(con, person.value if person and person.kind == "email" else None)
            if after:
                after(con, scope)
            _audit(con, result)
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        finally:
            con.close()
        _compact(workspace.database, result)
    return result


# --- finding what to erase ---------------------------------------------------------------

def _find_person(con: DuckDBPyConnection, person: Person) -> None:
    create_marks(con)
    con.execute("BEGIN TRANSACTION")
    if person.kind == "email":
        for name in ("email_messages", "email_log_lines", "email_distribution_rows"):
            con.execute(_SQL[name], {"v": person.value})
    else:
        # DuckDB's regular expressions (RE2) have no look-behind: a digit on either side is
        # excluded by a non-digit or an end instead
        pattern = person.text_pattern.replace("(?<!\\d)", "(^|[^0-9])").replace("(?!\\d)", "([^0-9]|$)")
        con.execute(_SQL["phone_messages"], {"v": person.value, "p": pattern})
        con.execute(_SQL["phone_log_lines"], {"p": pattern})
        con.execute(_SQL["phone_distribution_rows"], {"p": pattern})
    # the stored bytes: headers the parser did not keep (Reply-To...), attachments' text
    _scan(con, person, _SQL["raw_copies"], _SQL["marked_messages"], _SQL["mark_messages"])
    _scan(con, person, _SQL["quarantined_bytes"], _SQL["marked_quarantine"], _SQL["mark_quarantine"])


def _scan(con: DuckDBPyConnection, person: Person, blobs_query: str, marked_query: str, mark: str) -> None:
    """Decompress and search every stored blob of ``blobs_query`` (key, blob) for the person;
    marks (``mark``) the keys found that ``marked_query`` does not already hold."""
    marked = {r[0] for r in con.execute(marked_query).fetchall()}
    found = []
    # a second connection streams the blobs (temp tables belong to the first one)
    for batch in arrow_batches(con.cursor(), blobs_query, 2_000):
        keys, blobs = batch.column(0).to_pylist(), batch.column(1).to_pylist()
        for key, blob in zip(keys, blobs, strict=True):
            if key in marked:
                continue
            try:
                raw = decompress(blob)
            except Exception:  # a damaged blob cannot hide anything readable either
                continue
            if person.found_in(raw):
                found.append(key)
    if found:
        con.execute(mark, [found])


def _find_before(con: DuckDBPyConnection, timezone: str, before: str) -> None:
    create_marks(con)
    con.execute("BEGIN TRANSACTION")
    for name in ("messages_before", "log_lines_before", "distribution_rows_before", "quarantine_before"):
        con.execute(_SQL[name], {"tz": timezone, "m": before})


def _audit(con: DuckDBPyConnection, result: ErasureResult) -> None:
    con.execute("INSERT INTO erasures VALUES (?, ?, ?, ?)",
                [utcnow(), result.action, result.scope, json.dumps(result.counts)])


def _rollback(con: DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _compact(database: Path, result: ErasureResult) -> None:
    """Rewrite the database file: deleted and overwritten values must not linger in free blocks."""
    database = Path(database)
    result.size_before = database.stat().st_size
    fresh = database.with_name(database.name + ".compact")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        # file names cannot be bound parameters of ATTACH: quoted instead
        con.execute(f"ATTACH '{_quote(database)}' AS old (READ_ONLY)")
        con.execute(f"ATTACH '{_quote(fresh)}' AS fresh")
        con.execute("COPY FROM DATABASE old TO fresh")
        con.execute("DETACH fresh")
        con.execute("DETACH old")
    finally:
        con.close()
    os.chmod(fresh, 0o600)
    os.replace(fresh, database)
    Path(str(database) + ".wal").unlink(missing_ok=True)
    result.size_after = database.stat().st_size


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _retention_start(workspace: Workspace, today: dt.date | None) -> str:
    if not workspace.retention_months:
        raise UsageError("purge needs --before YYYY-MM, or retention_months in [workspace] of "
                         f"{workspace.config_path}")
    today = today or dt.datetime.now(workspace.tz).date()
    return shift_month(today.strftime("%Y-%m"), -workspace.retention_months)
