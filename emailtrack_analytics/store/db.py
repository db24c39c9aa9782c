"""The workspace's DuckDB file: connect, migrate, create the SQL views."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from .. import settings
from ..errors import Busy, EmailtrackError
from .migrations import MIGRATIONS
from .schema import create_sql


class DatabaseBusy(Busy):
    """Another process holds the database for writing (exit 2)."""


# How long a connection waits for another process to let go of the database file. Readers
# (notebooks, reports) hold it for the length of one query, so a writer rarely waits long; a
# reader that finds an ingest writing waits for it up to this many seconds.
DEFAULT_WAIT = 600.0
_HOLDER = re.compile(r"\(PID (\d+)\)")


def lock_wait() -> float:
    return settings.lock_wait()


def connect(path: Path, *, read_only: bool = False, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database, creating it, migrating it and (re)creating its views as needed.

    DuckDB lets one process write, or several read, at a time. When another process holds the
    file, retry with backoff for up to ``wait`` seconds (``EMAILTRACK_LOCK_WAIT``, default 600),
    then raise ``DatabaseBusy`` naming the process that holds it.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise EmailtrackError(f"no database yet at {path}: run 'emailtrack ingest' first")
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)  # the WAL and spill files live beside it
    new = not path.exists()
    deadline = time.monotonic() + (lock_wait() if wait is None else wait)
    delay = 0.02
    while True:
        try:
            # a bounded buffer pool: memory must not grow with the size of what is stored
            con = duckdb.connect(str(path), read_only=read_only,
                                 config={"memory_limit": settings.db_memory()})
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise EmailtrackError(f"cannot open the database {path}: {exc}") from None
            if time.monotonic() >= deadline:
                holder = _HOLDER.search(str(exc))
                who = f" (process {holder.group(1)})" if holder else ""
                raise DatabaseBusy(f"the database {path} is in use by another process{who}; "
                                   "try again when it has finished") from None
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
            delay = min(delay * 2, 1.0)
    if new:
        os.chmod(path, 0o600)  # it holds prospects' personal data
    if not read_only:
        migrate(con)
        ensure_privacy_key(con)
        ensure_views(con)
    return con


def ensure_privacy_key(con: duckdb.DuckDBPyConnection) -> None:
    """The workspace's random pseudonym key (analytics/views/005_privacy.sql), made once."""
    if _count(con, "SELECT count(*) FROM privacy_key") == 0:
        con.execute("INSERT INTO privacy_key VALUES (?)", [secrets.token_hex(32)])


@contextlib.contextmanager
def writer_lock(database: Path, what: str) -> Iterator[None]:
    """One writing command (ingest, forget, purge) per workspace at a time.

    A second one exits 2 at once with the holder's pid and start time, rather than waiting
    behind an ingest that may run for an hour.
    """
    lock_path = Path(database).with_name(".emailtrack-write.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "r+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip() or "another emailtrack command"
            raise DatabaseBusy(f"{holder} is writing to this workspace; try again when it has "
                               "finished") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what} (pid {os.getpid()}, started {utcnow():%Y-%m-%d %H:%M:%S} UTC)")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block does, or roll it back when it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        # a failed COMMIT (out of memory while it writes) leaves the transaction aborted: rolled
        # back here too, and the error that stopped it is the one raised, not the rollback's
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a registered Arrow view, from a ``finally`` block: when the statement that used it
    failed (out of memory) the transaction is aborted and unregistering raises too; that error
    would hide the first one, which is what the user must see."""
    with contextlib.suppress(duckdb.TransactionException):
        con.unregister(name)


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(create_sql("schema_migrations", if_not_exists=True))
    return [row[0] for row in con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; returns their names."""
    done = set(applied_migrations(con))
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [name, utcnow()])
        applied.append(name)
    return applied


# The folders of SQL views and macros, each owned by its stage: the attribution's (copies and
# leads) and the analytics' (figures, coverage, checks, pseudonymous views). Files run in the
# order of their names across folders (NNN_ prefixes), so a view follows what it reads.
VIEW_FOLDERS = (("attribution", "sql"), ("analytics", "views"))


def sql_files() -> list[tuple[str, str]]:
    """Every view definition shipped in the package, in file-name order."""
    files = [f for parts in VIEW_FOLDERS
             for f in resources.files("emailtrack_analytics").joinpath(*parts).iterdir()
             if f.name.endswith(".sql")]
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two view files share a name: {sorted(names)}")
    return [(f.name, f.read_text(encoding="utf-8")) for f in sorted(files, key=lambda f: f.name)]


def views_digest() -> str:
    return hashlib.sha256("".join(sql for _, sql in sql_files()).encode("utf-8")).hexdigest()[:16]


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace every view; idempotent and cheap, so done on every write connection.
    Records which definitions they are (``views_state``) for read-only readers."""
    for _, sql in sql_files():
        con.execute(sql)
    digest = views_digest()
    if _count(con, "SELECT count(*) FROM views_state WHERE digest = ?", [digest]) != 1:
        con.execute("DELETE FROM views_state")
        con.execute("INSERT INTO views_state VALUES (?)", [digest])


def needs_writer(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a database opened read-only lacks a migration or the views of this version:
    only a write connection (``connect``) brings it up to date."""
    try:
        applied = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
        if applied != {name for name, _ in MIGRATIONS}:
            return True
        return _count(con, "SELECT count(*) FROM views_state WHERE digest = ?", [views_digest()]) != 1
    except duckdb.CatalogException:  # a database from before the table existed
        return True


def _count(con: duckdb.DuckDBPyConnection, query: str, parameters: list[object] | None = None) -> int:
    """The single number a ``SELECT count(*)`` returns."""
    row = con.execute(query, parameters).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {query}")
    return int(row[0])


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def arrow_batches(con: duckdb.DuckDBPyConnection, query: str, rows: int) -> pa.RecordBatchReader:
    """Stream a query's result as Arrow record batches (method names differ across DuckDB versions)."""
    relation = con.sql(query)
    for name in ("to_arrow_reader", "fetch_arrow_reader", "record_batch"):
        method = getattr(relation, name, None)
        if method is not None:
            return method(rows)
    raise RuntimeError("this DuckDB version cannot stream Arrow batches")
