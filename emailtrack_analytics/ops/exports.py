"""``emailtrack export``: the contract's tables as CSV, JSON or Parquet."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import duckdb

from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import UsageError
from ..store.db import connect

FORMATS = ("csv", "json", "parquet")


@dataclass(frozen=True)
class Table:
    view: str
    columns: tuple[str, ...]
    order: str
    month: str   # SQL expression of the row's month (YYYY-MM, workspace time zone); {tz} is the zone
    # the view read by default when the table holds prospects' details: the same rows with
    # pseudonyms (docs/privacy.md); ``view`` itself only with personal_data=True
    pseudonymous: str | None = None


TABLES: dict[str, Table] = {
    "messages": Table(
        "messages",
        ("message_key", "message_id", "received_at", "month", "sender", "subject", "point_of_sale",
         "portal", "channel", "category", "lead_key", "role", "source"),
        "received_at, message_key", "month", "messages_pseudonymous"),
    "leads": Table(
        "leads",
        ("lead_key", "received_at", "month", "portal", "point_of_sale", "channel", "copies"),
        "received_at, lead_key, point_of_sale", "month"),
    "quarantine": Table(
        "quarantine",
        ("source", "reason", "detail"),
        # by file, then position in it (:9 before :10); never by the absolute path, which
        # differs between machines
        "regexp_replace(source, ':[0-9]+$', ''), "
        "try_cast(regexp_extract(source, ':([0-9]+)$', 1) AS BIGINT) NULLS FIRST, source, reason",
        "strftime(timezone({tz}, timezone('UTC', quarantined_at)), '%Y-%m')"),
}
TABLES["forward-events"] = Table(
    "forward_events",
    ("event_time", "log_kind", "message_id", "sender", "recipient", "original_recipient", "status",
     "point_of_sale"),
    # every column in the order: lines of the same second come out the same on every run
    "event_time, recipient, log_kind, status, message_id, sender, original_recipient",
    "strftime(timezone({tz}, timezone('UTC', event_time)), '%Y-%m')", "forward_events_pseudonymous")
TABLES["coverage"] = Table(
    "coverage",
    ("month", "point_of_sale", "expected", "tracked", "missing", "coverage"),
    "month, point_of_sale", "month")
# the prospects' details of each lead copy: pseudonyms unless personal_data=True
TABLES["contacts"] = Table(
    "lead_contacts",
    ("lead_key", "message_key", "month", "point_of_sale", "portal", "name", "email", "email_is_relay",
     "phone", "listing_reference", "message_length"),
    "month, lead_key, message_key", "month", "lead_contacts_pseudonymous")
# the headline figures per month, each defined once in analytics/views/045_figures.sql (network leads,
# point-of-sale leads, tracking copies, mailbox copies): what the reports and the API show
TABLES["figures"] = Table(
    "lead_figures",
    ("month", "network_leads", "point_of_sale_leads", "tracking_copies", "tracking_lead_copies",
     "mailbox_copies", "mailbox_lead_copies"),
    "month", "month")
LATER: dict[str, str] = {}
TABLE_NAMES = tuple(TABLES) + tuple(LATER)


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # naive UTC in the store


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def export(workspace: Workspace, table: str, *, month: str | None = None, fmt: str = "csv",
           out: str | None = None, stream: TextIO | None = None, partition: str | None = None,
           personal_data: bool = False) -> int:
    """Write ``table`` to ``out`` (or ``stream``, stdout by default); returns the row count.

    With ``partition="month"`` (Parquet only), ``out`` is a folder that receives one hive-style
    sub-folder per month (``month=YYYY-MM/``); the months written replace the same months of an
    earlier export and the other months are kept, so a monthly ``--month last`` run keeps a
    complete partitioned copy up to date.

    Prospects' contact details come out as pseudonyms unless ``personal_data`` is true.
    """
    if table in LATER:
        raise UsageError(f"export {table}: needs {LATER[table]}, which this version does not read yet")
    if table not in TABLES:
        raise UsageError(f"unknown table {table!r} (one of {', '.join(TABLE_NAMES)})")
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r} (one of {', '.join(FORMATS)})")
    if partition not in (None, "month"):
        raise UsageError(f"unknown --partition {partition!r} (only 'month')")
    if partition and fmt != "parquet":
        raise UsageError("--partition month writes hive-partitioned Parquet: add --format parquet")
    if fmt == "parquet" and not out:
        raise UsageError("--format parquet writes a binary file: give it with -o FILE"
                         + (" (a folder with --partition)" if partition else ""))
    spec = TABLES[table]
    month_expr = spec.month.format(tz=_sql_string(workspace.timezone))
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)
        columns = list(spec.columns)
        if partition and "month" not in columns:
            columns.append(f"{month_expr} AS month")
        where = f"WHERE {month_expr} = ?" if month else ""
        params = [month] if month else []
        view = spec.view if personal_data or not spec.pseudonymous else spec.pseudonymous
        query = f"SELECT {', '.join(columns)} FROM {view} {where} ORDER BY {spec.order}"
        if fmt == "parquet":
            assert out is not None, "refused above: Parquet needs -o"
            if partition:
                return _partitioned_parquet(con, query, params, spec, Path(out))
            return _parquet(con, query, params, spec, Path(out))
        cursor = con.execute(query, params)
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        handle: TextIO = open(out, "w", encoding="utf-8", newline="") if out else (stream or sys.stdout)
        try:
            return (_csv if fmt == "csv" else _json)(cursor, spec.columns, handle)
        finally:
            if out:
                handle.close()
    finally:
        con.close()


def _csv(cursor: duckdb.DuckDBPyConnection, columns: Sequence[str], handle: TextIO) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    while rows := cursor.fetchmany(10_000):
        writer.writerows([_cell(v) for v in row] for row in rows)
        count += len(rows)
    return count


def _json(cursor: duckdb.DuckDBPyConnection, columns: Sequence[str], handle: TextIO) -> int:
    handle.write("[")
    count = 0
    while rows := cursor.fetchmany(10_000):
        for row in rows:
            handle.write(",\n" if count else "\n")
            record = {c: _iso(v) if isinstance(v, dt.datetime) else v for c, v in zip(columns, row, strict=True)}
            handle.write(json.dumps(record, ensure_ascii=False, default=str))
            count += 1
    handle.write("\n]\n")
    return count


def _utc_columns(spec: Table, columns: Sequence[str]) -> str:
    # times are naive UTC in the store: written as UTC-adjusted Parquet timestamps
    return ", ".join(f"timezone('UTC', {c}) AS {c}" if c in ("received_at", "event_time") else c
                     for c in columns)


def _parquet(con: duckdb.DuckDBPyConnection, query: str, params: list[Any], spec: Table, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute("SET TimeZone = 'UTC'")
    relation = f"SELECT {_utc_columns(spec, spec.columns)} FROM ({query})"
    count = _count(con, relation, params)
    con.execute(f"COPY ({relation}) TO {_sql_string(str(out))} (FORMAT parquet)", params)
    return count


def _partitioned_parquet(con: duckdb.DuckDBPyConnection, query: str, params: list[Any], spec: Table,
                         out: Path) -> int:
    """Hive-partitioned by month; each month's folder is swapped in whole, never half written."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--partition month writes a folder, but {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    con.execute("SET TimeZone = 'UTC'")
    columns = list(spec.columns) + ([] if "month" in spec.columns else ["month"])
    relation = f"SELECT {_utc_columns(spec, columns)} FROM ({query})"
    count = _count(con, relation, params)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        con.execute(f"COPY ({relation}) TO {_sql_string(str(staging))} "
                    "(FORMAT parquet, PARTITION_BY (month), FILENAME_PATTERN 'part-{i}')", params)
        for folder in sorted(staging.iterdir()):
            target = out / folder.name
            retired = out / f".{folder.name}.old"
            if target.exists():
                os.replace(target, retired)
            os.replace(folder, target)
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _count(con: duckdb.DuckDBPyConnection, relation: str, params: list[Any]) -> int:
    row = con.execute(f"SELECT count(*) FROM ({relation})", params).fetchone()
    assert row is not None, "count(*) returns one row"
    return int(row[0])
