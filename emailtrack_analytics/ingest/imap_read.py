"""``emailtrack ingest imap://…``: a mailbox read incrementally, in batches, resumed where it stopped.

The workspace keeps, per mailbox URL (``imap_mailboxes``), the folder's UIDVALIDITY and the
highest UID whose copy is stored; a run fetches the UIDs above it, a batch at a time (at most
BATCH_MESSAGES messages or BATCH_BYTES bytes). Each batch goes through the same map and reduce
as a file's shard (``shards.build_batch``, ``store.batches.append_batch``), and its last UID is
written in the transaction that stores its copies: a crash or a dropped connection loses
nothing, and what is fetched again is keyed, so nothing is counted twice. A dropped connection is
made again and the read resumed after the last batch stored, RETRY_WAITS giving the pauses
between attempts that make no progress. A changed UIDVALIDITY (the folder was recreated, or the
server renumbered it) means the UIDs kept say nothing any more: the whole folder is read again,
and the content keys keep every copy already stored from being stored or counted again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..store.batches import Ledger, append_batch, unstored_keys
from ..store.db import utcnow
from .parsing.message import message_key
from .parsing.worker import Item, ParseResult
from .shards import Read, Shard, build_batch, copy_schema, detail_schema, quarantine_schema, seen_schema
from .sources import InputFile, RawMessage
from .sources.base import message_limit, size_text
from .sources.imap import ConnectionLost, MailboxUrl, Session

BATCH_MESSAGES = 200             # messages fetched and stored together ...
BATCH_BYTES = 16 * 1024 * 1024   # ... or fewer, once they hold this many bytes
RETRY_WAITS = (1.0, 3.0, 10.0)   # seconds before each new attempt after a connection lost without progress

_SAVE_STATE = """INSERT INTO imap_mailboxes (mailbox, uidvalidity, last_uid, read_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
                                        read_at = excluded.read_at"""


@dataclass
class MailboxRead:
    """What one run read of one mailbox."""
    url: MailboxUrl
    read: int = 0                # messages fetched (or found too large to fetch)
    new: int = 0
    already_stored: int = 0
    quarantined: int = 0
    reconnections: int = 0
    note: str | None = None      # said to the user: the folder read again, and why


def read_mailbox(con: duckdb.DuckDBPyConnection, url: MailboxUrl, *, role: str,
                 open_session: Callable[[MailboxUrl], Session],
                 parse: Callable[[list[Item]], list[ParseResult]],
                 max_message_bytes: int | None = None) -> MailboxRead:
    """Store the messages of ``url`` not read yet. ``open_session`` logs in and examines the
    folder; ``parse`` parses a list of keyed messages (in worker processes or here). Raises
    ``ImapRefused`` at once, and ``ConnectionLost`` once RETRY_WAITS are spent without a batch
    stored, saying what was stored and where the next run resumes."""
    result = MailboxRead(url)
    key = str(url)
    rows = con.execute("SELECT uidvalidity, last_uid FROM imap_mailboxes WHERE mailbox = ?", [key]).fetchall()
    kept_validity, last_uid = (int(rows[0][0]), int(rows[0][1])) if rows else (None, 0)
    ledger = _ledger(con, key, role)
    limit = message_limit(None, max_message_bytes)
    failures = 0
    while True:
        session = None
        try:
            session = open_session(url)
            validity = session.uidvalidity
            restart = kept_validity is not None and validity != kept_validity
            if restart:
                if result.note is None:
                    result.note = (f"{key}: UIDVALIDITY changed ({kept_validity} -> {validity}): the whole "
                                   "folder is read again; copies already stored are not stored or counted again")
                last_uid = 0
            listing = session.uids_after(last_uid)
            if not listing and kept_validity != validity:
                _save_empty(con, key, validity, ledger)
            for number, batch in enumerate(_batches(listing, limit)):
                stored = _store(con, session, url, validity, batch, limit, role, parse, ledger,
                                reset=restart and number == 0, result=result)
                kept_validity, last_uid = validity, stored
                failures = 0
            return result
        except ConnectionLost as lost:
            failures += 1
            if failures > len(RETRY_WAITS):
                raise ConnectionLost(f"{lost}; gave up after {failures} attempts; {result.new} new copies "
                                     f"stored this run, the next run resumes after UID {last_uid}") from None
            result.reconnections += 1
            time.sleep(RETRY_WAITS[failures - 1])
        finally:
            if session is not None:
                session.close()


def _batches(listing: list[tuple[int, int]], limit: int) -> Iterator[list[tuple[int, int]]]:
    """The (UID, size) listing cut into batches of BATCH_MESSAGES or BATCH_BYTES (a message
    over ``limit`` is not fetched, so it weighs nothing)."""
    batch: list[tuple[int, int]] = []
    held = 0
    for uid, size in listing:
        if batch and (len(batch) >= BATCH_MESSAGES or held + size > BATCH_BYTES):
            yield batch
            batch, held = [], 0
        batch.append((uid, size))
        held += size if size <= limit else 0
    if batch:
        yield batch


def _store(con: duckdb.DuckDBPyConnection, session: Session, url: MailboxUrl, validity: int,
           batch: list[tuple[int, int]], limit: int, role: str,
           parse: Callable[[list[Item]], list[ParseResult]], ledger: Ledger, *, reset: bool,
           result: MailboxRead) -> int:
    """Fetch, parse and store one batch with the mailbox's new last UID; returns that UID."""
    key = str(url)
    wanted = [uid for uid, size in batch if size <= limit]
    fetched = {uid: (data, delivery) for uid, data, delivery in session.fetch(wanted)}
    reads: list[Read] = []
    for uid, size in batch:
        source = url.message(validity, uid)
        if size > limit:
            reads.append((0, uid, RawMessage(Path(key), source, b"", None, "too_large",
                                             f"message of {size} bytes, larger than the maximum message size "
                                             f"({size_text(limit)}): not fetched")))
        elif uid in fetched:  # else expunged since it was listed: gone, nothing to keep
            reads.append((0, uid, RawMessage(Path(key), source, *fetched[uid])))
    keyed = {seq: message_key(raw.data) for seq, (_, _, raw) in enumerate(reads) if not raw.problem}
    fresh = unstored_keys(con, pa.table({"message_key": pa.array(list(keyed.values()), pa.string())}))
    known = {seq: k for seq, k in keyed.items() if k not in fresh}
    # a copy already stored (the folder read again, or a batch whose commit was lost) is only
    # sighted, not parsed again
    results = parse([(reads[seq][2].data, reads[seq][2].from_line, k) for seq, k in keyed.items() if seq not in known])
    shard = Shard((InputFile(Path(key), "imap", key),))
    copies, details, quarantine, seen = build_batch(shard, reads, results, known).tables()
    last_uid = batch[-1][0]
    ledger.items += len(reads)
    ledger.size += sum(len(raw.data) for _, _, raw in reads)
    appended = append_batch(con, copies, details, quarantine, seen, paths=[key], role=role,
                            reset=[key] if reset else (), ledger=[(0, ledger)],
                            after=[(_SAVE_STATE, [key, validity, last_uid, utcnow()])])
    result.read += len(reads)
    result.new += appended.new[0]
    result.quarantined += appended.quarantined[0]
    result.already_stored += copies.num_rows - appended.new[0] + seen.num_rows
    return last_uid


def _ledger(con: duckdb.DuckDBPyConnection, key: str, role: str) -> Ledger:
    """The mailbox's entry in ``ingested_files`` (kind ``imap``: counted by ``status`` as a
    source), with what earlier runs read; each batch adds to it."""
    rows = con.execute("SELECT size, items, new_items, quarantined FROM ingested_files WHERE path = ?",
                       [key]).fetchall()
    size, items, new, quarantined = (int(value or 0) for value in rows[0]) if rows else (0, 0, 0, 0)
    return Ledger(key, "imap", role, size, None, items, new, quarantined)


def _save_empty(con: duckdb.DuckDBPyConnection, key: str, validity: int, ledger: Ledger) -> None:
    """An empty folder (or nothing in a renumbered one) still has its UIDVALIDITY kept, and the
    mailbox is counted as a source."""
    append_batch(con, copy_schema().empty_table(), detail_schema().empty_table(),
                 quarantine_schema().empty_table(), seen_schema().empty_table(), paths=[key],
                 role=ledger.role, ledger=[(0, ledger)], after=[(_SAVE_STATE, [key, validity, 0, utcnow()])])
