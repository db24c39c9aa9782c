"""Named SQL statements: the files the package runs them from, and how they are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from emailtrack_analytics.store.db import VIEW_FOLDERS
from emailtrack_analytics.store.queries import parse_statements
from tests.conftest import ROOT

PACKAGE = ROOT / "emailtrack_analytics"


def statement_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.sql") if "-- name:" in p.read_text(encoding="utf-8")]


def test_named_statements_are_never_run_as_views():
    """store/db.py runs every .sql file at the top of a view folder on each write connection:
    a file of named statements there would run them all, in no sensible order."""
    files = statement_files()
    assert {p.relative_to(PACKAGE).as_posix() for p in files} >= {
        "attribution/sql/refresh/lead_keys.sql", "ops/sql/privacy.sql", "store/sql/erasure.sql"}
    view_folders = {PACKAGE.joinpath(*parts) for parts in VIEW_FOLDERS}
    assert [p for p in files if p.parent in view_folders] == []


def test_every_statement_file_of_the_package_reads():
    for path in statement_files():
        assert parse_statements(path.read_text(encoding="utf-8"), path.name), path


def test_a_file_reads_as_its_statements_with_their_comments():
    text = "-- what the file holds\n\n-- name: first\n-- why\nSELECT 1\n\n-- name: second\nSELECT 2;\n"
    assert parse_statements(text) == {"first": "-- why\nSELECT 1", "second": "SELECT 2;"}


@pytest.mark.parametrize("text, refusal", [
    ("SELECT 0\n-- name: first\nSELECT 1\n", "SQL before the first"),
    ("-- name: first\nSELECT 1\n-- name: first\nSELECT 2\n", "two statements named 'first'"),
    ("-- name: first\n-- a comment only\n-- name: second\nSELECT 2\n", "'first' holds no SQL"),
])
def test_sql_that_would_never_run_or_would_be_hidden_is_refused(text, refusal):
    with pytest.raises(ValueError, match=refusal):
        parse_statements(text)
