"""store/schema.py is the one description of the stored tables: the migrated database, the Arrow
schemas the writers insert with, the parser's record and the migration files must all agree with it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import types
import typing
from importlib import resources

import duckdb
import pyarrow as pa
import pytest

from emailtrack_analytics.attribution import refresh
from emailtrack_analytics.ingest.parsing.details import LeadDetails
from emailtrack_analytics.ingest.parsing.message import MessageRecord
from emailtrack_analytics.store import writer
from emailtrack_analytics.store.db import connect
from emailtrack_analytics.store.migrations import MIGRATIONS
from emailtrack_analytics.store.schema import TABLES, arrow_schema, columns, create_sql, table

# Every migration that has shipped, with the start of the SHA-256 of its file: workspaces recorded
# these names in schema_migrations and never run them again, so neither name nor text may change.
SHIPPED = {
    "0001_initial": "f2a52bd8b0d18f43",
    "0002_privacy": "8462faa05e5f1c0b",
    "0003_lead_rows": "6136677b9670a55f",
    "0004_signals": "5a458f55a3a64210",
    "0005_identity": "3908f05e71afd558",
    "0006_views_state": "cc1b623a877a8274",
    "0007_imap_mailboxes": "7d7dc2ad99a7f8c5",
    "0008_delivery_reports": "a21887075e032525",
}

# stored_messages columns that are not facts of the bytes: the writer adds them from how the copy
# was found (store/batches.py append_batch), and a re-parse keeps them (ingest/pipeline.py)
NOT_FROM_THE_PARSER = {"role_hint", "from_line", "first_source", "first_seen_at"}
# MessageRecord fields not in stored_messages: ``details`` is personal data, stored apart in
# lead_details (checked against LeadDetails below)
NOT_IN_STORED_MESSAGES = {"details"}

_PYTHON_TYPES = {str: "VARCHAR", bool: "BOOLEAN", int: "INTEGER", dt.datetime: "TIMESTAMP", list[str]: "VARCHAR[]"}


def shape(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every base table of the database: (column, type, nullable, key) in column order."""
    names = [row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
    return {name: [row[:4] for row in con.execute(f'DESCRIBE "{name}"').fetchall()] for name in names}


def spec_shape() -> dict[str, list[tuple]]:
    return {spec.name: [(c.name, c.type, "NO" if c.not_null or c.name in spec.primary_key else "YES",
                         "PRI" if c.name in spec.primary_key else None) for c in spec.columns]
            for spec in sorted(TABLES, key=lambda t: t.name)}


@pytest.fixture
def migrated(tmp_path):
    con = connect(tmp_path / "emailtrack.duckdb")
    yield con
    con.close()


def test_a_new_database_has_exactly_the_tables_and_columns_of_the_spec(migrated):
    assert shape(migrated) == spec_shape()


def test_create_sql_makes_the_same_tables_as_the_migrations(migrated):
    con = duckdb.connect()
    try:
        for spec in TABLES:
            con.execute(create_sql(spec.name))
        assert shape(con) == shape(migrated)
    finally:
        con.close()


def test_an_old_workspace_migrated_to_0003_is_brought_to_the_spec(tmp_path):
    path = tmp_path / "emailtrack.duckdb"
    con = duckdb.connect(str(path))
    # what store/db.py created before the first migration, when 0003 was the last one
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    for name, sql in MIGRATIONS[:3]:
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, now()::TIMESTAMP)", [name])
    con.execute("INSERT INTO stored_messages (message_key, received_at, subject) "
                "VALUES ('k1', TIMESTAMP '2026-01-02 03:04:05', 'Demande')")
    con.close()

    con = connect(path)
    try:
        assert shape(con) == spec_shape()
        assert con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall() == [
            (name,) for name in SHIPPED]
        # the copy stored before 0004 is kept, without the facts later parsers read
        assert con.execute("SELECT message_key, subject, date_zone, link_hosts FROM stored_messages").fetchall() == [
            ("k1", "Demande", None, None)]
    finally:
        con.close()


def test_migration_files_are_the_shipped_ones_unchanged_and_recorded_by_name(migrated):
    folder = resources.files("emailtrack_analytics.store").joinpath("migrations")
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    assert files == [name + ".sql" for name in SHIPPED]  # a new migration is added to SHIPPED when released
    assert [name for name, _ in MIGRATIONS] == list(SHIPPED)
    for name, sql in MIGRATIONS:
        assert hashlib.sha256(sql.encode("utf-8")).hexdigest()[:16] == SHIPPED[name], f"{name} was edited"
    recorded = [row[0] for row in migrated.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]
    assert recorded == list(SHIPPED)


def _module_schemas(module: types.ModuleType) -> dict[str, pa.Schema]:
    return {name: value for name, value in vars(module).items() if isinstance(value, pa.Schema)}


def test_the_writers_arrow_schemas_are_the_specs(migrated):
    """Every Arrow schema the package inserts with (the writer's, the attribution's) is a whole row
    of a spec table, and DuckDB reads each back with the column types the database has."""
    schemas = _module_schemas(writer) | _module_schemas(refresh)
    assert {"MESSAGE_SCHEMA", "DETAILS_SCHEMA", "LOG_EVENT_SCHEMA"} <= schemas.keys()
    by_columns = {columns(spec.name): spec.name for spec in TABLES}
    for name, schema in schemas.items():
        table_name = by_columns.get(tuple(schema.names))
        assert table_name is not None, f"{name} is not a whole row of a stored table: {schema.names}"
        assert schema.equals(arrow_schema(table_name)), name
        migrated.register("_empty", schema.empty_table())
        try:
            read = [row[:2] for row in migrated.execute("DESCRIBE SELECT * FROM _empty").fetchall()]
        finally:
            migrated.unregister("_empty")
        assert read == [row[:2] for row in migrated.execute(f"DESCRIBE {table_name}").fetchall()], name


def _column_type(hint: object) -> tuple[str, bool]:
    """(DuckDB type, optional) of a dataclass field's annotation."""
    optional = False
    if isinstance(hint, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        (hint,) = args
    return _PYTHON_TYPES[hint], optional


def _fields_agree(record: type, table_name: str, skip_fields: set[str], skip_columns: set[str]) -> None:
    hints = typing.get_type_hints(record)
    fields = [f.name for f in dataclasses.fields(record) if f.name not in skip_fields]
    stored = [c for c in columns(table_name) if c not in skip_columns]
    assert sorted(fields) == sorted(stored)
    spec = {c.name: c for c in table(table_name).columns}
    for name in fields:
        type_, optional = _column_type(hints[name])
        assert spec[name].type == type_, name
        if optional:  # a field that may be None must go to a column that may be NULL
            assert not spec[name].not_null and name not in table(table_name).primary_key, name


def test_every_stored_field_of_a_message_record_is_a_column_and_the_reverse():
    _fields_agree(MessageRecord, "stored_messages", NOT_IN_STORED_MESSAGES, NOT_FROM_THE_PARSER)
    assert set(MessageRecord(**_minimal_record()).as_row()) == set(columns("stored_messages")) - NOT_FROM_THE_PARSER


def test_a_prospects_details_are_the_lead_details_columns():
    # message_key is the copy's, added by the writer
    _fields_agree(LeadDetails, "lead_details", set(), {"message_key"})
    assert set(LeadDetails().as_row()) == set(columns("lead_details")) - {"message_key"}


def test_the_columns_attribution_reads_are_stored():
    assert set(refresh.READ_COLUMNS) <= set(columns("stored_messages"))


def _minimal_record() -> dict[str, object]:
    hints = typing.get_type_hints(MessageRecord)
    values: dict[str, object] = {}
    for f in dataclasses.fields(MessageRecord):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            values[f.name] = {str: "", bool: False, int: 0}.get(hints[f.name], None)
    return values
