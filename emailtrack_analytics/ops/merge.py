"""``emailtrack merge``: bring the stores of other workspaces into this one.

Parsing is the expensive step, and files are independent: several machines can each ingest a
share of the files into a workspace of their own (the same ``emailtrack.toml``), and one
workspace then merges their databases. Every copy is keyed by its content and every log line by
its own key, so a merge adds only what this workspace lacks, in any order, any number of times.
Attribution is not copied: it is recomputed here, from this workspace's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import UsageError
from ..store.db import connect, transaction, writer_lock
from ..store.erasure import erase_forgotten

# table -> columns that identify a row (the table's key, or what makes a row the same)
KEYED_TABLES = {
    "stored_messages": ("message_key",),
    "raw_messages": ("message_key",),
    "lead_details": ("message_key",),
    "sightings": ("source", "message_key"),
    "distribution_log": ("row_key",),
    "log_events": ("row_key",),
    "ingested_files": ("path",),
    "quarantine_items": ("source", "file_path", "reason"),
    "forgotten": ("pseudonym",),
}


@dataclass
class MergeResult:
    added: dict[str, int] = field(default_factory=dict)
    sources: int = 0

    def line(self) -> str:
        parts = ", ".join(f"{n} {table}" for table, n in self.added.items() if n) or "nothing new"
        return f"merged {self.sources} database(s): {parts}"


def merge(workspace: Workspace, databases: list[str | Path]) -> MergeResult:
    """Add to ``workspace`` what the other workspaces' databases hold and it lacks."""
    paths = []
    for item in databases:
        path = Path(item)
        if path.is_dir():  # a workspace folder: its database at the default place
            path = path / "data" / "emailtrack.duckdb"
        if not path.is_file():
            raise UsageError(f"no emailtrack database at {item}")
        if path.resolve() == Path(workspace.database).resolve():
            raise UsageError(f"{item} is this workspace's own database")
        paths.append(path)
    result = MergeResult(sources=len(paths))
    with writer_lock(workspace.database, "emailtrack merge"):
        con = connect(workspace.database)
        try:
            for path in paths:
                _merge_one(con, path, result)
            erase_forgotten(con)  # a person forgotten here stays forgotten, whatever a shard held
            refresh_attribution(con, workspace)
        finally:
            con.close()
    return result


def _merge_one(con: duckdb.DuckDBPyConnection, path: Path, result: MergeResult) -> None:
    try:
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS shard (READ_ONLY)")
    except duckdb.Error as exc:
        raise UsageError(f"cannot open {path} as an emailtrack database: {exc}") from None
    try:
        names = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'shard'").fetchall()}
        missing = set(KEYED_TABLES) - names
        if missing:
            raise UsageError(f"{path} is not an emailtrack database of this version "
                             f"(no {', '.join(sorted(missing))}): run any emailtrack command on it first")
        with transaction(con):
            for table, key in KEYED_TABLES.items():
                before = _count(con, table)
                match = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in key)
                con.execute(f"INSERT INTO {table} BY NAME SELECT s.* FROM shard.main.{table} AS s "
                            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {match})")
                added = _count(con, table) - before
                result.added[table] = result.added.get(table, 0) + added
    finally:
        con.execute("DETACH shard")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None, "count(*) returns one row"
    return int(row[0])
