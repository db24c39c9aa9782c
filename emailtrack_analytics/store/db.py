"""The workspace's DuckDB file: connect, migrate, create the SQL views."""

from __future__ import annotations

import datetime as dt
import os
from importlib import resources
from pathlib import Path

import duckdb

from ..errors import Busy, EmailtrackError
from .migrations import MIGRATIONS


class DatabaseBusy(Busy):
    """Another process holds the database for writing (exit 2)."""


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database, creating it, migrating it and (re)creating its views as needed."""
    path = Path(path)
    if read_only and not path.exists():
        raise EmailtrackError(f"no database yet at {path}: run 'emailtrack ingest' first")
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    try:
        # a bounded buffer pool: memory must not grow with the size of what is stored
        con = duckdb.connect(str(path), read_only=read_only,
                             config={"memory_limit": os.environ.get("EMAILTRACK_DB_MEMORY", "256MB")})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(f"the database {path} is in use by another emailtrack process; "
                               "try again when it has finished") from None
        raise EmailtrackError(f"cannot open the database {path}: {exc}") from None
    if new:
        os.chmod(path, 0o600)  # it holds prospects' personal data
    if not read_only:
        migrate(con)
        ensure_views(con)
    return con


def applied_migrations(con) -> list[str]:
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    return [row[0] for row in con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]


def migrate(con) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; returns their names."""
    done = set(applied_migrations(con))
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [name, utcnow()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def sql_files() -> list[tuple[str, str]]:
    """The view definitions shipped in ``emailtrack_analytics/sql``, in file-name order."""
    folder = resources.files("emailtrack_analytics") / "sql"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


def ensure_views(con) -> None:
    """Create or replace every view; idempotent and cheap, so done on every write connection."""
    for _, sql in sql_files():
        con.execute(sql)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def arrow_batches(con, query: str, rows: int):
    """Stream a query's result as Arrow record batches (method names differ across DuckDB versions)."""
    relation = con.sql(query)
    for name in ("to_arrow_reader", "fetch_arrow_reader", "record_batch"):
        method = getattr(relation, name, None)
        if method is not None:
            return method(rows)
    raise RuntimeError("this DuckDB version cannot stream Arrow batches")
