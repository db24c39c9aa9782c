"""The reduce step of an ingest: a shard's batch appended to the database in bulk.

A batch (``ingest.shards.Batch``) holds every copy its shard read, parsed, as columns. Which
copies are new is found inside DuckDB (the keys of the batch already stored, then the first
copy of each key left), never by a Python loop over messages; the new copies, their bytes and
details, a sighting per copy and the quarantine items are inserted in one transaction, with
the ledger entries of the files this batch finishes (an interrupted ingest is resumed from
the files without one: their copies are keyed, so none is stored twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from .db import transaction, unregister, utcnow
from .schema import FOUND_COLUMNS, arrow_schema, columns

_MESSAGE_COLUMNS = columns("stored_messages")
_DETAIL_COLUMNS = columns("lead_details")


@dataclass
class Ledger:
    """The ledger entry of a file read in full (``ingested_files``), or of an IMAP mailbox read
    up to its last message (kind ``imap``, no modification time)."""
    path: str
    kind: str
    role: str
    size: int
    mtime_ns: int | None
    items: int
    new_items: int
    quarantined: int


@dataclass
class Appended:
    """What a batch added, per file of its shard."""
    new: list[int]
    quarantined: list[int]


def unstored_keys(con: duckdb.DuckDBPyConnection, keys: pa.Table) -> frozenset[str]:
    """The keys of ``keys`` (a ``message_key`` column) no stored copy has."""
    con.register("_b_keys", keys)
    try:
        rows = con.execute("""
            SELECT DISTINCT message_key FROM _b_keys
            WHERE message_key NOT IN (SELECT message_key FROM stored_messages
                                      WHERE message_key IN (SELECT message_key FROM _b_keys))""").fetchall()
    finally:
        unregister(con, "_b_keys")
    return frozenset(key for (key,) in rows)


def append_batch(con: duckdb.DuckDBPyConnection, copies: pa.Table, details: pa.Table,
                 quarantine: pa.Table, seen: pa.Table, *, paths: Sequence[str], role: str,
                 numbered: tuple[str, int] | None = None, reset: Sequence[str] = (),
                 ledger: Sequence[tuple[int, Ledger]] = (),
                 after: Sequence[tuple[str, list[Any]]] = ()) -> Appended:
    """Append one batch (``seen``: copies known to be stored already, only sighted). ``paths``:
    the real path of each file of the shard (``file`` indexes it). ``numbered``: for a shard of an mbox, (its label, the messages of the shards before):
    sources are ``label:N`` counted over the whole file. ``reset``: files read again from their
    start, whose quarantine entries go first. ``ledger``: the entries of the files this batch
    completes (by their index in ``paths``), counting what the shards before found: this
    batch's new copies and quarantine items are added to them. ``after``: statements (SQL,
    parameters) run in the same transaction, last (an IMAP mailbox's last UID stored)."""
    source = "source" if numbered is None else "concat($label, ':', number + $offset)"
    parameters = {} if numbered is None else {"label": numbered[0], "offset": numbered[1]}
    path_table = pa.table({"file": pa.array(range(len(paths)), pa.int32()), "path": pa.array(paths, pa.string())})
    now = utcnow()
    registered = {"_b_copies": copies, "_b_quarantine": quarantine, "_b_details": details, "_b_seen": seen,
                  "_b_paths": path_table}
    for name, table in registered.items():
        con.register(name, table)
    try:
        with transaction(con):
            if reset:
                con.execute("DELETE FROM quarantine_items WHERE file_path IN (SELECT unnest(?::VARCHAR[]))",
                            [list(reset)])
            # the first copy of each key not stored yet: found by joins, not per message (the
            # keys of the batch already stored are looked up first: a probe of the batch's keys,
            # not a hash of every stored key)
            con.execute("""
                CREATE OR REPLACE TEMP TABLE _b_new AS
                SELECT seq, file FROM _b_copies
                WHERE message_key NOT IN (SELECT message_key FROM stored_messages
                                          WHERE message_key IN (SELECT message_key FROM _b_copies))
                QUALIFY row_number() OVER (PARTITION BY message_key ORDER BY seq) = 1""")
            new_copies = "FROM _b_copies WHERE seq IN (SELECT seq FROM _b_new)"
            record = ", ".join(f'"{name}"' for name in _MESSAGE_COLUMNS if name not in FOUND_COLUMNS)
            con.execute(f"""INSERT INTO stored_messages BY NAME
                SELECT {record}, $role AS role_hint, from_line, {source} AS first_source, $now AS first_seen_at
                {new_copies}""", {**parameters, "role": role, "now": now})
            con.execute(f"INSERT INTO raw_messages BY NAME SELECT message_key, raw_zlib {new_copies}")
            detail = ", ".join(f'"{name}"' for name in _DETAIL_COLUMNS)
            con.execute(f"INSERT INTO lead_details BY NAME SELECT {detail} FROM _b_details "
                        "WHERE seq IN (SELECT seq FROM _b_new)")
            con.execute(f"""INSERT OR IGNORE INTO sightings BY NAME
                SELECT {source} AS source, message_key, $now AS seen_at
                FROM (SELECT source, number, message_key FROM _b_copies
                      UNION ALL SELECT source, number, message_key FROM _b_seen)""", {**parameters, "now": now})
            con.execute(f"""INSERT INTO quarantine_items BY NAME
                SELECT {source} AS source, p.path AS file_path, reason, detail, size, raw_zlib,
                       $now AS quarantined_at
                FROM _b_quarantine JOIN _b_paths p USING (file)""", {**parameters, "now": now})
            new = [0] * len(paths)
            for file, count in con.execute("SELECT file, count(*) FROM _b_new GROUP BY file").fetchall():
                new[file] = count
            bad = [0] * len(paths)
            for file, count in con.execute("SELECT file, count(*) FROM _b_quarantine GROUP BY file").fetchall():
                bad[file] = count
            for file, entry in ledger:
                entry.new_items += new[file]
                entry.quarantined += bad[file]
            if ledger:
                _write_ledger(con, [entry for _, entry in ledger], now)
            for statement, values in after:
                con.execute(statement, values)
            con.execute("DROP TABLE _b_new")
    finally:
        for name in registered:
            unregister(con, name)
    return Appended(new, bad)


def _write_ledger(con: duckdb.DuckDBPyConnection, entries: Sequence[Ledger], now: Any) -> None:
    rows = pa.Table.from_pylist([{**entry.__dict__, "ingested_at": now} for entry in entries],
                                schema=arrow_schema("ingested_files"))
    con.register("_b_ledger", rows)
    try:
        con.execute("DELETE FROM ingested_files WHERE path IN (SELECT path FROM _b_ledger)")
        # a file and a symbolic link to it, read together, have one entry
        con.execute("INSERT OR IGNORE INTO ingested_files BY NAME SELECT * FROM _b_ledger")
    finally:
        unregister(con, "_b_ledger")
