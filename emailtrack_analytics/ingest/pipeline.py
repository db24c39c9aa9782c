"""``emailtrack ingest``: read files, store every message once, quarantine what cannot be stored.

Flow per file: skip it when the ledger says it is unchanged; otherwise stream its messages in
chunks, compute each copy's content key, parse only the copies not stored yet (in worker
processes when there are many), and hand rows to one batched writer. A file's ledger entry is
written in the same transaction as its last rows, so an interrupted run is simply resumed.
"""

from __future__ import annotations

import collections
import contextlib
import os
import stat as stat_module
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import duckdb

from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import UsageError
from ..store.db import connect, transaction, writer_lock
from ..store.erasure import erase_forgotten
from ..store.writer import DETAILS_SCHEMA, MESSAGE_SCHEMA, BatchWriter, arrow_table, message_row
from .parsing.message import PARSER_VERSION, message_key
from .parsing.worker import Item, Parsed, ParseResult, Rejected, decompress, parse_many
from .parsing.worker import parse_item as _parse
from .pool import WorkerPool
from .sources import (
    MESSAGE_KINDS,
    ROLES,
    SUPPORTED_LOGS,
    InputFile,
    RawMessage,
    check_paths,
    discover,
    read_distribution,
    read_log,
    read_messages,
)
from .sources.base import read_problem
from .sources.distribution import BadRow
from .sources.logs import BadLine

CHUNK = 500               # messages keyed, checked and parsed together
CHUNK_BYTES = 64 * 1024 * 1024   # ... or fewer, when they hold this many bytes
ALONE_ATTEMPTS = 2       # a message that kills its worker this many times alone is quarantined
IN_FLIGHT = 3            # chunks handed to the workers and not stored yet
GROUP_FILES = 2000       # message files read together (a folder of .eml files) ...
GROUP_BYTES = 16 * 1024 * 1024   # ... or fewer, when they hold this many bytes
PARALLEL_THRESHOLD = 200  # fewer new messages than this in a chunk are parsed in-process
LOG_BATCH = 5000          # log rows handed to the writer together


@dataclass
class IngestSummary:
    files_read: int = 0
    files_skipped: int = 0          # unchanged since they were last ingested
    files_unsupported: dict[str, int] = field(default_factory=dict)
    new: int = 0
    already_stored: int = 0
    quarantined: int = 0
    log_rows: int = 0
    reparsed: int = 0               # stored copies read again by a newer parser

    def line(self) -> str:
        parts = [f"{self.new} new", f"{self.already_stored} already stored",
                 f"{self.quarantined} quarantined"]
        if self.reparsed:
            parts.append(f"{self.reparsed} re-parsed")
        if self.log_rows:
            parts.append(f"{self.log_rows} log rows")
        parts.append(f"{self.files_read} files read")
        parts.append(f"{self.files_skipped} files skipped (unchanged)")
        for kind, count in sorted(self.files_unsupported.items()):
            parts.append(f"{count} {kind} files not read (not supported yet)")
        return ", ".join(parts)


class _ProgressBar(Protocol):
    """What this module uses of a ``tqdm`` bar."""
    def update(self, n: int) -> object: ...
    def set_postfix(self, **counts: int) -> None: ...
    def close(self) -> None: ...


class _Pending(Protocol):
    def get(self) -> list[ParseResult]: ...


class _Done:
    """The results of work done on the spot, with the interface of ``_Submitted``."""

    def __init__(self, results: list[ParseResult]) -> None:
        self.results = results

    def get(self) -> list[ParseResult]:
        return self.results


class _Submitted:
    """Messages handed to the worker processes, as tasks of a few messages each."""

    def __init__(self, parser: _Parser, items: list[Item], tasks: list[Future[list[ParseResult]]],
                 pool: WorkerPool) -> None:
        self.parser, self.items, self.tasks, self.pool = parser, items, tasks, pool

    def get(self) -> list[ParseResult]:
        try:
            if not self.tasks:
                raise BrokenProcessPool("the pool was broken when the chunk was submitted")
            return [result for task in self.tasks for result in task.result()]
        except BrokenProcessPool:
            # a worker died (killed, out of memory) while this chunk was in flight
            return self.parser.recover(self.items, self.pool)


class _Parser:
    """Parses chunks of messages, in worker processes once there is enough work for them.

    ``submit`` returns at once when workers are used, so that the caller reads the next chunk
    and writes the previous one while this one is parsed. A worker that dies (killed, or out
    of memory on one message) loses nothing: the chunks in flight are parsed again one message
    per task, and a message that kills its worker alone, twice, is quarantined ``parser_crashed``.
    ``parse`` is the function applied to each (bytes, from line) item; it must be importable
    by the worker processes.
    """

    def __init__(self, workers: int, parse: Callable[[Item], ParseResult] | None = None) -> None:
        self.workers = max(1, workers)
        self.parse = parse or _parse
        self._pool: WorkerPool | None = None
        self.crashes = 0          # workers found dead

    def pool(self) -> WorkerPool:
        """The worker pool, started when first needed and again after a worker died."""
        if self._pool is not None and self._pool.lost_a_worker():
            # died between chunks (killed, out of memory): nothing was in flight, start afresh
            self.crashes += 1
            self._discard()
        if self._pool is None:
            self._pool = WorkerPool(self.workers)
        return self._pool

    def submit(self, items: list[Item]) -> _Pending:
        if self.workers == 1 or len(items) < PARALLEL_THRESHOLD:
            return _Done([self.parse(item) for item in items])
        pool = self.pool()
        size = max(1, len(items) // (self.workers * 4))
        try:
            tasks = [pool.submit(parse_many, self.parse, items[start:start + size])
                     for start in range(0, len(items), size)]
        except BrokenProcessPool:
            tasks = []
        return _Submitted(self, items, tasks, pool)

    def map(self, items: list[Item]) -> list[ParseResult]:
        return self.submit(items).get()

    def recover(self, items: list[Item], broken: WorkerPool) -> list[ParseResult]:
        """Parse ``items`` again after ``broken`` lost a worker, one message per task, so that
        a message that kills its worker is found (and quarantined) and the others are parsed.
        A message is tried alone twice: a worker killed from outside while it parsed a good
        message (the out-of-memory killer picking the largest process) does not condemn it."""
        if self._pool is broken:
            self.crashes += 1
            self._discard()
        results = []
        for item in items:
            for _ in range(ALONE_ATTEMPTS):
                try:
                    results.append(self.pool().submit(self.parse, item).result())
                    break
                except BrokenProcessPool:
                    self.crashes += 1
                    self._discard()
            else:
                results.append(Rejected("parser_crashed", f"the parser process died {ALONE_ATTEMPTS} times "
                                        "while parsing this message alone (killed, or out of memory)"))
        return results

    def _discard(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def close(self) -> None:
        self._discard()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def ingest(workspace: Workspace, paths: list[str | os.PathLike[str]], *, kind: str = "auto", role: str = "auto",
           workers: int | None = None, progress: bool = False,
           max_message_bytes: int | None = None) -> IngestSummary:
    """Ingest ``paths`` (files and folders, recursively) into the workspace database.

    ``progress`` shows a progress bar on stderr when it is a terminal. ``max_message_bytes`` is
    the maximum message size (default: EMAILTRACK_MAX_MESSAGE_MB, else 64 MB): a larger message
    is quarantined as ``too_large`` with its position, without being held in memory.
    """
    if role not in ROLES:
        raise UsageError(f"unknown --role {role!r} (one of {', '.join(ROLES)})")
    check_paths(paths, kind)  # a bad path: UsageError, before any work
    summary = IngestSummary()
    held = contextlib.ExitStack()
    held.enter_context(writer_lock(workspace.database, "emailtrack ingest"))  # a second ingest exits 2
    try:
        con = connect(workspace.database)
    except BaseException:
        held.close()
        raise
    parser = _Parser(default_workers() if workers is None else workers)
    writer = BatchWriter(con)
    bar = None
    try:
        summary.reparsed = reparse_stale(con, parser)
        ledger = {row[0]: (row[1], row[2]) for row in
                  con.execute("SELECT path, size, mtime_ns FROM ingested_files").fetchall()}

        real_path = _RealPaths()

        def unchanged(file: str) -> bool:
            """Whether the ledger holds ``file`` as it is; such a file is counted as skipped and
            not even opened."""
            try:
                real, info = real_path(file)
            except OSError:
                return False
            if ledger.get(real) != (info.st_size, info.st_mtime_ns):
                return False
            summary.files_skipped += 1
            return True

        files = list(discover(paths, kind, workspace.relative, unchanged if ledger else None))
        _forget_listed_folders(con, writer, paths, {str(item.path) for item in files})
        bar = _progress_bar(len(files)) if progress else None
        run = _Run(con, writer, parser, summary, role, max_message_bytes, bar)
        queue = _MessageFiles(run)
        for item in files:
            try:
                path, stat = real_path(str(item.path))
            except OSError as exc:
                path = str(item.path.resolve())
                writer.add_quarantine(item.label, path, "unreadable", exc.strerror or str(exc), b"")
                summary.quarantined += 1
                continue
            if ledger.get(path) == (stat.st_size, stat.st_mtime_ns):
                summary.files_skipped += 1
                if bar:
                    bar.update(1)
                continue
            # a changed file, or one an interrupted run read part of, is read again from the start:
            # its earlier quarantine entries go (the rest is keyed, so it is not stored twice)
            writer.reset_file(path)
            if item.kind in MESSAGE_KINDS:
                # message files are read in groups: a folder of .eml files is keyed, checked and
                # parsed a few hundred messages at a time, as an mbox is
                queue.add(_Queued(item, path, stat.st_size, stat.st_mtime_ns))
                if queue.full:
                    queue.read()
                continue
            queue.read()  # in order found
            if item.kind == "distribution":
                counts = _ingest_rows(run, path, _guarded(read_distribution, item, item.path, item.label),
                                      writer.add_distribution_rows)
            elif item.kind in SUPPORTED_LOGS:
                counts = _ingest_rows(run, path, _guarded(read_log, item, item.kind, item.path, item.label,
                                                          workspace.timezone), writer.add_log_events)
            else:
                summary.files_unsupported[item.kind] = summary.files_unsupported.get(item.kind, 0) + 1
                continue
            summary.files_read += 1
            writer.add_file(path, item.kind, role, stat.st_size, stat.st_mtime_ns, *counts)
            _files_done(run, 1)
        queue.read()
        writer.flush()
        erase_forgotten(con)  # people erased with `emailtrack forget` stay erased
        refresh_attribution(con, workspace)
    finally:
        if bar:
            bar.close()
        parser.close()
        con.close()
        held.close()
    return summary


def _forget_listed_folders(con: duckdb.DuckDBPyConnection, writer: BatchWriter,
                           paths: list[str | os.PathLike[str]], found: set[str]) -> None:
    """Drop the ``unreadable`` entries of folders under ``paths`` that could not be listed
    before and were listed now (their files are among those found: they are read)."""
    roots = [os.path.realpath(path) for path in paths]
    for (folder,) in con.execute("SELECT DISTINCT file_path FROM quarantine_items "
                                 "WHERE reason = 'unreadable'").fetchall():
        inside = any(folder == root or folder.startswith(root.rstrip(os.sep) + os.sep) for root in roots)
        if inside and folder not in found and os.path.isdir(folder):
            writer.reset_file(folder)


class _RealPaths:
    """A file's real path (symbolic links resolved) and its status. ``os.path.realpath`` costs a
    system call per path component: each folder is resolved once, not once per file in it."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}

    def __call__(self, file: str) -> tuple[str, os.stat_result]:
        info = os.lstat(file)
        if stat_module.S_ISLNK(info.st_mode):
            return os.path.realpath(file), os.stat(file)
        folder, name = os.path.split(file)
        if folder not in self.folders:
            self.folders[folder] = os.path.realpath(folder)
        return os.path.join(self.folders[folder], name), info


def reparse_stale(con: duckdb.DuckDBPyConnection, parser: _Parser, chunk: int = 1000) -> int:
    """Parse again, from their stored bytes, the copies a previous parser version stored.

    The bytes are the same, so the key is the same: the row is replaced in place, keeping
    where and when the copy was first seen. Returns how many were re-parsed.
    """
    stale = con.execute("SELECT message_key, size FROM stored_messages WHERE parser_version < ? "
                        "ORDER BY message_key", [PARSER_VERSION]).fetchall()
    done = 0
    for keys in _key_chunks(stale, chunk, CHUNK_BYTES):
        rows = con.execute(
            "SELECT m.message_key, r.raw_zlib, m.from_line, m.role_hint, m.first_source, m.first_seen_at "
            "FROM stored_messages m JOIN raw_messages r USING (message_key) "
            "WHERE m.message_key IN (SELECT unnest(?::VARCHAR[]))", [keys]).fetchall()
        raws = [decompress(blob) for _, blob, *_ in rows]
        results = parser.map([(raw, from_line) for raw, (_, _, from_line, *_) in zip(raws, rows, strict=True)])
        replaced, details = [], []
        for (key, _, from_line, role_hint, first_source, first_seen_at), parsed in zip(rows, results, strict=True):
            if not isinstance(parsed, Parsed) or parsed.record.message_key != key:
                # kept as it was stored: marked current so it is not retried on every run
                con.execute("UPDATE stored_messages SET parser_version = ?, defects = list_append(defects, ?) "
                            "WHERE message_key = ?", [PARSER_VERSION, "ReparseFailed", key])
                continue
            result = parsed.record
            row = message_row(result)
            row.update(role_hint=role_hint, from_line=from_line, first_source=first_source,
                       first_seen_at=first_seen_at)
            replaced.append(row)
            if result.details:
                details.append({"message_key": key, **result.details})
        if replaced:
            con.register("_reparsed", arrow_table(replaced, MESSAGE_SCHEMA))
            try:
                with transaction(con):
                    for table in ("stored_messages", "lead_details", "attribution", "attribution_targets"):
                        con.execute(f"DELETE FROM {table} WHERE message_key IN (SELECT message_key FROM _reparsed)")
                    con.execute("INSERT INTO stored_messages BY NAME SELECT * FROM _reparsed")
                    if details:
                        con.register("_details", arrow_table(details, DETAILS_SCHEMA))
                        con.execute("INSERT INTO lead_details BY NAME SELECT * FROM _details")
                        con.unregister("_details")
            finally:
                con.unregister("_reparsed")
        done += len(replaced)
    return done


def _key_chunks(keyed: list[tuple[str, int]], size: int, budget: int) -> Iterator[list[str]]:
    """Keys in lists of at most ``size``, cut early once their messages hold ``budget`` bytes."""
    keys: list[str] = []
    held = 0
    for key, length in keyed:
        keys.append(key)
        held += length or 0
        if len(keys) >= size or held >= budget:
            yield keys
            keys, held = [], 0
    if keys:
        yield keys


def _chunks(pairs: Iterable[_Read], size: int, budget: int = CHUNK_BYTES) -> Iterator[list[_Read]]:
    """Lists of at most ``size`` (file, message) pairs, cut early once they hold ``budget`` bytes."""
    chunk: list[_Read] = []
    held = 0
    for pair in pairs:
        chunk.append(pair)
        held += len(pair[1].data)
        if len(chunk) >= size or held >= budget:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


@dataclass
class _Queued:
    """A message file to read, and what was read of it."""
    item: InputFile
    path: str
    size: int
    mtime_ns: int
    items: int = 0
    new: int = 0
    quarantined: int = 0
    unopened: bool = False    # nothing could be read (a folder that cannot be listed, a FIFO)


_Read: TypeAlias = "tuple[_Queued, RawMessage]"            # a message and the file it was read from
_Waiting: TypeAlias = "tuple[_Queued, RawMessage, str]"    # ... and its content key, being parsed


@dataclass
class _Run:
    """What the steps of one ingest share."""
    con: duckdb.DuckDBPyConnection
    writer: BatchWriter
    parser: _Parser
    summary: IngestSummary
    role: str                         # the --role every message of this run is stored with
    max_message_bytes: int | None
    bar: _ProgressBar | None
    # the keys met in this run and not flushed yet: None for a copy stored, a list for one in
    # flight, of the later copies with the same key (see _prepare)
    seen: dict[str, list[_Read] | None] = field(default_factory=dict)


class _MessageFiles:
    """Message files waiting to be read together (up to GROUP_FILES, or GROUP_BYTES of them).

    Read one at a time, 100,000 single-message files took 100,000 database look-ups and were
    all parsed in the main process. Each file's ledger entry is handed to the writer once all
    the messages of its group are."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.files: list[_Queued] = []
        self.bytes = 0

    def add(self, queued: _Queued) -> None:
        self.files.append(queued)
        self.bytes += queued.size

    @property
    def full(self) -> bool:
        return len(self.files) >= GROUP_FILES or self.bytes >= GROUP_BYTES

    def read(self) -> None:
        """Read the files waiting, then hand the writer their ledger entries."""
        if not self.files:
            return
        run = self.run
        _ingest_messages(run, self.files)
        for queued in self.files:
            run.summary.files_read += 1
            if queued.unopened:
                continue  # no ledger entry: read again next time (its permissions may be mended)
            run.writer.add_file(queued.path, queued.item.kind, run.role, queued.size, queued.mtime_ns,
                                queued.items, queued.new, queued.quarantined)
        _files_done(run, len(self.files))
        self.files, self.bytes = [], 0


def _files_done(run: _Run, count: int) -> None:
    """After ``count`` whole files: write the batch if it is full (nothing is in flight between
    files, so every key met is then in the database) and move the progress bar."""
    if run.writer.full:
        run.writer.flush()
        run.seen.clear()
    if run.bar:
        run.bar.update(count)
        run.bar.set_postfix(new=run.summary.new, quarantined=run.summary.quarantined)


def _messages(files: list[_Queued], max_message_bytes: int | None) -> Iterator[_Read]:
    for queued in files:
        for raw in read_messages(queued.item, max_message_bytes):
            queued.unopened = queued.items == 0 and raw.problem == "unreadable"
            queued.items += 1
            yield queued, raw


def _ingest_messages(run: _Run, files: list[_Queued]) -> None:
    """Read, key and parse the messages of some files, chunk by chunk: while the workers parse
    chunks, this process reads the next one and stores the oldest. A few chunks are in flight,
    so that the workers still have work while this process writes a batch."""
    in_flight: collections.deque[tuple[list[_Waiting], _Pending, int]] = collections.deque()
    held = 0
    for chunk in _chunks(_messages(files, run.max_message_bytes), CHUNK):
        waiting, to_parse = _prepare(run, chunk)
        size = sum(len(data) for data, *_ in to_parse)
        in_flight.append((waiting, run.parser.submit(to_parse), size))
        held += size
        while len(in_flight) > IN_FLIGHT or (len(in_flight) > 1 and held > CHUNK_BYTES):
            waiting, submitted, size = in_flight.popleft()
            held -= size
            _store(run, waiting, submitted)
            if run.writer.full:
                run.writer.flush()
                # what is flushed is found in the database now: keep only the keys in flight
                for key in [key for key, copies in run.seen.items() if copies is None]:
                    del run.seen[key]
    while in_flight:
        waiting, submitted, _ = in_flight.popleft()
        _store(run, waiting, submitted)
    run.summary.new += sum(queued.new for queued in files)
    run.summary.quarantined += sum(queued.quarantined for queued in files)


def _prepare(run: _Run, chunk: list[_Read]) -> tuple[list[_Waiting], list[Item]]:
    """Key the chunk's messages; those already stored are only sighted. Returns the rest, and
    what the parser is handed for them.

    ``run.seen`` holds the keys met in this run and not flushed yet: None for a copy stored, a
    list for one in flight, of the later copies with the same key. Those are sighted, or
    quarantined with the same reason, once the first copy is parsed (two identical broken
    messages were one quarantined and one "already stored" with nothing stored)."""
    writer, seen = run.writer, run.seen
    readable = []
    for queued, raw in chunk:
        if raw.problem:
            writer.add_quarantine(raw.source, queued.path, raw.problem, raw.detail or "", raw.data)
            queued.quarantined += 1
        else:
            readable.append((queued, raw, message_key(raw.data)))
    stored = _stored_keys(run.con, list({key for _, _, key in readable if key not in seen}))
    to_parse: list[Item] = []
    waiting: list[_Waiting] = []
    for queued, raw, key in readable:
        copies = seen.get(key, [])
        if key in stored or copies is None:
            writer.add_sighting(raw.source, key)
            run.summary.already_stored += 1
        elif key in seen:
            copies.append((queued, raw))
        else:
            seen[key] = []
            to_parse.append((raw.data, raw.from_line, key))
            waiting.append((queued, raw, key))
    return waiting, to_parse


def _store(run: _Run, waiting: list[_Waiting], pending: _Pending) -> None:
    """Store the messages parsed, sight their later copies; quarantine the others and their copies."""
    writer, seen = run.writer, run.seen
    # one result per message handed to the parser, in order
    for (queued, raw, key), parsed in zip(waiting, pending.get(), strict=True):
        copies = seen.get(key) or []
        if isinstance(parsed, Parsed):
            writer.add_message(parsed.record, parsed.compressed, raw.source, run.role, raw.from_line)
            writer.add_sighting(raw.source, parsed.record.message_key)
            queued.new += 1
            seen[key] = None
            for _, copy in copies:
                writer.add_sighting(copy.source, key)
            run.summary.already_stored += len(copies)
        else:
            seen.pop(key, None)
            for where, copy in [(queued, raw), *copies]:
                writer.add_quarantine(copy.source, where.path, parsed.reason, parsed.detail, copy.data)
                where.quarantined += 1


def _stored_keys(con: duckdb.DuckDBPyConnection, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    rows = con.execute("SELECT message_key FROM stored_messages WHERE message_key IN "
                       "(SELECT unnest(?::VARCHAR[]))", [keys]).fetchall()
    return {row[0] for row in rows}


def _ingest_rows(run: _Run, path: str, entries: Iterable[object],
                 store: Callable[[list[Any]], None]) -> tuple[int, int, int]:
    """Rows of a log file (distribution rows, delivery events), handed to ``store`` in batches;
    rows and lines that cannot be read are quarantined with their position. Returns the ledger's
    counts: entries read, rows stored, entries quarantined. ``store`` takes the rows of the
    reader it is paired with (distribution rows, log events): the caller makes the pair."""
    writer = run.writer
    rows: list[Any] = []
    stored, bad = 0, 0
    for entry in entries:
        if isinstance(entry, (BadRow, BadLine)):
            writer.add_quarantine(entry.source, path, entry.reason, entry.detail, entry.data)
            bad += 1
        else:
            rows.append(entry)
        if len(rows) >= LOG_BATCH or writer.full:
            store(rows)
            stored, rows = stored + len(rows), []
            if writer.full:
                writer.flush()
    store(rows)
    stored += len(rows)
    run.summary.log_rows += stored
    run.summary.quarantined += bad
    return stored + bad, stored, bad


def _guarded(reader: Callable[..., Iterable[object]], item: InputFile, *args: object) -> Iterator[object]:
    """The entries of a log reader; an error it lets through (a file that cannot be opened, a
    FIFO, a fault in the reader) becomes one quarantine entry instead of stopping the run."""
    count = 0
    try:
        for entry in reader(*args):
            count += 1
            yield entry
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the others
        reason, detail = read_problem(exc)
        if count:
            detail = f"{detail} (after {count} rows)"
        yield BadLine(item.label, reason, detail, b"")


def _progress_bar(files: int) -> _ProgressBar | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type information
    bar: _ProgressBar = tqdm(total=files, unit="file", desc="ingest", leave=False, file=sys.stderr)
    return bar
