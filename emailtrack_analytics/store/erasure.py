"""Erasing the personal data of marked records, keeping the counts (SQL: sql/erasure.sql).

The primitives under ``emailtrack forget`` and ``purge`` (``ops/privacy.py`` marks what to erase,
then calls ``erase_marked``) and under every ingest and merge (``erase_forgotten``: people
already forgotten stay erased whatever a new source brings back). See docs/privacy.md.
"""

from __future__ import annotations

import re

from duckdb import DuckDBPyConnection

from .queries import load_statements

_SQL = load_statements("store", "sql", "erasure.sql")


def create_marks(con: DuckDBPyConnection) -> None:
    """The temporary tables that mark what to erase: ``_erase_messages`` (message keys),
    ``_erase_quarantine`` (quarantine row ids), ``_erase_logs``, ``_erase_distribution`` (row keys)."""
    con.execute(_SQL["create_marks"])


def count_marked(con: DuckDBPyConnection) -> dict[str, int]:
    """How many records of each kind the marks would erase ("messages", "raw copies", ...)."""
    cursor = con.execute(_SQL["count_marked"])
    row = cursor.fetchone()
    assert row is not None, "a row of counts"
    return {column[0].replace("_", " "): int(n) for column, n in zip(cursor.description, row, strict=True)}


def erase_marked(con: DuckDBPyConnection, email: str | None = None, *, scrub_logs: bool = True) -> dict[str, int]:
    """Erase the marked rows; returns the rows erased per kind. ``email``: the address of the
    person forgotten, erased wherever a marked subject still quotes it. ``scrub_logs``: also erase
    the marked log lines and distribution rows."""
    counts = count_marked(con)
    public = [r[0] for r in con.execute("SELECT address FROM addresses").fetchall()]
    con.execute(_SQL["prepare"])
    con.execute(_SQL["erase_messages"], {"public": public})
    if email is not None:
        con.execute(_SQL["erase_quoted_email"], {"p": re.escape(email)})
    con.execute(_SQL["erase_stored"])
    con.execute(_SQL["mark_log_lines_of_messages"])
    counts["log lines"] = _count(con, "SELECT count(*) FROM _erase_logs")
    if scrub_logs:
        con.execute(_SQL["erase_log_lines"], {"public": public})
        con.execute(_SQL["erase_distribution_rows"], {"public": public})
    con.execute(_SQL["finish"])
    return counts


def erase_forgotten(con: DuckDBPyConnection) -> int:
    """Erase again what a later ingest brought back of people already forgotten (matched by
    pseudonym on the extracted details and the sender; stored bytes are not scanned here).
    Returns how many copies were found."""
    if _count(con, "SELECT count(*) FROM forgotten") == 0:
        return 0
    create_marks(con)
    con.execute(_SQL["mark_forgotten"])
    found = _count(con, "SELECT count(*) FROM _erase_messages")
    if found:
        erase_marked(con, scrub_logs=False)
    con.execute(_SQL["drop_marks"])
    return found


def _count(con: DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None, "an aggregate returns one row"
    return int(row[0])
