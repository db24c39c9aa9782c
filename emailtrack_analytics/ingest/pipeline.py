"""``emailtrack ingest``: read files, store every message once, quarantine what cannot be stored.

Message files are read as map and reduce. Map (``shards.map_shard``, in worker processes, or
in this one for a small run): a shard (a byte range of an mbox cut where a message starts, or a
group of message files) is read, keyed, parsed and compressed into a columnar batch. Reduce
(``store.batches.append_batch``, here, in shard order): the batch is appended in bulk, its new
copies found by a join inside DuckDB; this process does no work per message. Log files (mail
logs, the distribution log) are read here while the workers parse. Files the ledger holds
unchanged are skipped; a file's ledger entry is written in the same transaction as its last
rows, so an interrupted run is simply resumed.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import stat as stat_module
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from .. import settings
from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import EmailtrackError, UsageError
from ..store.batches import Ledger, append_batch, unstored_keys
from ..store.db import connect, transaction, unregister, writer_lock
from ..store.erasure import erase_forgotten
from ..store.writer import DETAILS_SCHEMA, MESSAGE_SCHEMA, BatchWriter, arrow_table
from .parsing.message import PARSER_VERSION
from .parsing.worker import Item, Parsed, ParseResult, Rejected, decompress, parse_many, record_row
from .parsing.worker import parse_item as _parse
from .pool import WorkerPool
from .shards import Batch, Shard, build_batch, items, keys_table, map_shard, read_shard, shard_keys
from .sources import (
    MESSAGE_KINDS,
    ROLES,
    SUPPORTED_LOGS,
    InputFile,
    check_paths,
    detect_kinds,
    discover,
    read_distribution,
    read_log,
)
from .sources.base import read_problem
from .sources.distribution import BadRow
from .sources.imap import STARTTLS, Credentials, MailboxUrl, Session, is_imap_url, parse_url
from .sources.logs import BadLine
from .sources.mbox import cut_points
from .sources.remote import ObjectPath

if TYPE_CHECKING:
    from .cluster import DaskMapper

CHUNK_BYTES = 64 * 1024 * 1024   # stored copies re-parsed together hold at most this many bytes
ALONE_ATTEMPTS = 2       # a message that kills its worker this many times alone is quarantined
SHARD_BYTES = 8 * 1024 * 1024    # an mbox is cut into shards of about this many bytes ...
SHARD_FILES = 2000       # ... and message files are read this many at a time (or SHARD_BYTES)
LOCAL_BYTES = 1024 * 1024        # a run with less message data than this is read in this process
PARALLEL_THRESHOLD = 200  # fewer stored copies than this are re-parsed in this process
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
    mailboxes_read: int = 0         # IMAP mailboxes (imap://…) read up to their last message
    notes: list[str] = field(default_factory=list)   # lines to show besides the counts

    def line(self) -> str:
        parts = [f"{self.new} new", f"{self.already_stored} already stored",
                 f"{self.quarantined} quarantined"]
        if self.reparsed:
            parts.append(f"{self.reparsed} re-parsed")
        if self.log_rows:
            parts.append(f"{self.log_rows} log rows")
        parts.append(f"{self.files_read} files read")
        if self.mailboxes_read:
            parts.append(f"{self.mailboxes_read} mailboxes read")
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


class _PendingBatch(Protocol):
    def get(self) -> Batch: ...


class _Mapped:
    """A shard mapped on the spot, with the interface of ``_ShardTask``."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch

    def get(self) -> Batch:
        return self.batch


class _ShardTask:
    """A shard handed to a worker process. When a worker dies while it is in flight (killed, out
    of memory, or a message that kills its parser), this process reads the shard again and has
    its messages parsed one per task (``_Parser.recover``): nothing is lost, and a message that
    kills its worker alone is quarantined ``parser_crashed``."""

    def __init__(self, parser: _Parser, shard: Shard, task: Future[Batch] | None, pool: WorkerPool) -> None:
        self.parser, self.shard, self.task, self.pool = parser, shard, task, pool

    def get(self) -> Batch:
        try:
            if self.task is None:
                raise BrokenProcessPool("the pool was broken when the shard was submitted")
            return self.task.result()
        except BrokenProcessPool:
            return recover_shard(self.parser, self.shard, self.pool)


def recover_shard(parser: _Parser, shard: Shard, broken: WorkerPool | None = None) -> Batch:
    """Map a shard whose worker died: read here, parsed one message per task."""
    reads = list(read_shard(shard))
    return build_batch(shard, reads, parser.recover(items(reads), broken))


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

    def submit_shard(self, shard: Shard, local: bool, only: frozenset[str] | None = None) -> _PendingBatch:
        """Map a shard (parsing ``only`` those keys, if given): here (``local``, or one
        worker), else in a worker process."""
        if local or self.workers == 1:
            return _Mapped(map_shard(shard, self.parse, only))
        pool = self.pool()
        try:
            task: Future[Batch] | None = pool.submit(map_shard, shard, self.parse, only)
        except BrokenProcessPool:
            task = None
        return _ShardTask(self, shard, task, pool)

    def shard_keys(self, shard: Shard, local: bool) -> bytes:
        """The keys of a shard's messages, read by a worker (here when there is none)."""
        if not (local or self.workers == 1):
            try:
                return self.pool().submit(shard_keys, shard).result()
            except BrokenProcessPool:
                pass  # read here: keying never fails a worker, whatever killed it
        return shard_keys(shard)

    def recover(self, items: list[Item], broken: WorkerPool | None) -> list[ParseResult]:
        """Parse ``items`` again after ``broken`` lost a worker, one message per task, so that
        a message that kills its worker is found (and quarantined) and the others are parsed.
        A message is tried alone twice: a worker killed from outside while it parsed a good
        message (the out-of-memory killer picking the largest process) does not condemn it."""
        if broken is not None and self._pool is broken:
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
           max_message_bytes: int | None = None, scheduler: str | None = None,
           starttls: str = "auto", storage_options: Mapping[str, Any] | None = None) -> IngestSummary:
    """Ingest ``paths`` (files and folders, recursively, objects of a store given by an fsspec
    URL, ``s3://BUCKET/PREFIX``, and IMAP mailboxes given by their URL,
    ``imap://USER@HOST[:PORT]/FOLDER``) into the workspace database.

    ``progress`` shows a progress bar on stderr when it is a terminal. ``max_message_bytes`` is
    the maximum message size (default: EMAILTRACK_MAX_MESSAGE_MB, else 64 MB): a larger message
    is quarantined as ``too_large`` with its position, without being held in memory.
    ``scheduler`` (``tcp://HOST:8786``): the map step runs as tasks on that Dask cluster, whose
    workers must see the files at the same paths (``ingest/cluster.py``); ``workers`` is then
    the local processes that find a message killing its Dask workers, if one does.
    Mailboxes are read after the files (``imap_read.py``; ``starttls``: auto, require or never,
    for ``imap://``); one that cannot be read does not stop the others: its error is raised once
    everything else is stored. A URL is listed before any work (``sources/remote.py``; its
    filesystem opened with ``storage_options``, e.g. ``endpoint_url``): its objects are read like
    files, where they are, and the ledger holds each by its URL with its ETag for a modification
    time, so an unchanged object is skipped without being read.
    """
    if role not in ROLES:
        raise UsageError(f"unknown --role {role!r} (one of {', '.join(ROLES)})")
    if starttls not in STARTTLS:
        raise UsageError(f"unknown --starttls {starttls!r} (one of {', '.join(STARTTLS)})")
    mailboxes = [parse_url(str(path)) for path in paths if is_imap_url(str(path))]
    paths = [path for path in paths if not is_imap_url(str(path))]
    open_session = _session_opener(mailboxes, starttls)  # no credentials: UsageError, before any work
    inputs = check_paths(paths, kind, storage_options)  # a bad path or URL: UsageError, before any work
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
    mapper = None
    try:
        if scheduler:
            from .cluster import DaskMapper
            mapper = DaskMapper(scheduler, parser.parse, functools.partial(recover_shard, parser))
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

        files = list(discover(inputs, kind, workspace.relative, unchanged if ledger else None, detect_later=True))
        _forget_listed_folders(con, writer, [path for path in inputs if isinstance(path, Path)],
                               {str(item.path) for item in files})
        bar = _progress_bar(len(files)) if progress else None
        run = _Run(con, writer, summary, role, max_message_bytes, bar)
        located = _locate(run, files, real_path, ledger)
        # objects of kind "auto" are told apart as they come (detect_kinds): nearly all hold messages
        message_bytes = sum(entry.size for entry in located if entry.item.kind in (*MESSAGE_KINDS, "auto"))
        shards = _Shards(run, parser, local=message_bytes < LOCAL_BYTES and mapper is None, cluster=mapper)
        for entry, item in zip(located, detect_kinds(entry.item for entry in located), strict=True):
            if item.kind in MESSAGE_KINDS:
                # a changed file, or one an interrupted run read part of, is read again from the
                # start: its earlier quarantine entries go (the rest is keyed: not stored twice)
                shards.add(_FileRead(item, entry.path, entry.size, entry.mtime_ns, again=entry.path in ledger))
            else:
                _read_log_file(run, workspace, item, entry)
        shards.finish()
        failed = _read_mailboxes(run, parser, mailboxes, open_session)
        writer.flush()
        erase_forgotten(con)  # people erased with `emailtrack forget` stay erased
        refresh_attribution(con, workspace)
        if failed:
            raise failed[0] if len(failed) == 1 else _Failures(failed)
    finally:
        if bar:
            bar.close()
        if mapper is not None:
            mapper.close()
        parser.close()
        con.close()
        held.close()
    return summary


def _session_opener(mailboxes: list[MailboxUrl], starttls: str) -> Callable[[MailboxUrl], Session]:
    """What logs in to a mailbox, with the credentials of the environment; UsageError when there
    are none (before any work)."""
    if not mailboxes:  # the IMAP variables are read only when a mailbox is
        return functools.partial(Session, credentials=Credentials(), starttls=starttls)
    credentials = Credentials(settings.imap_password(), settings.imap_token_command())
    if credentials.password is None and credentials.token_command is None:
        raise UsageError(f"{mailboxes[0]}: no credentials: set EMAILTRACK_IMAP_PASSWORD, or "
                         "EMAILTRACK_IMAP_TOKEN_COMMAND for OAuth2 (XOAUTH2)")
    return functools.partial(Session, credentials=credentials, starttls=starttls, ca_file=settings.imap_ca_file())


class _Failures(EmailtrackError):
    """Several mailboxes could not be read: one line each; the exit code of the first."""

    def __init__(self, errors: list[EmailtrackError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.exit_code = errors[0].exit_code


def _read_mailboxes(run: _Run, parser: _Parser, mailboxes: list[MailboxUrl],
                    open_session: Callable[[MailboxUrl], Session]) -> list[EmailtrackError]:
    """Read each mailbox (``imap_read.py``) into the summary; returns the errors of those that
    could not be read to the end (what they stored before stays stored)."""
    from .imap_read import read_mailbox
    # a mailbox read here is the one tracking receives, unless --role says otherwise
    role = "tracking" if run.role == "auto" else run.role
    failed = []
    for url in mailboxes:
        try:
            read = read_mailbox(run.con, url, role=role, open_session=open_session, parse=parser.map,
                                max_message_bytes=run.max_message_bytes)
        except EmailtrackError as exc:
            failed.append(exc)
            continue
        summary = run.summary
        summary.new += read.new
        summary.already_stored += read.already_stored
        summary.quarantined += read.quarantined
        summary.mailboxes_read += 1
        if read.note:
            summary.notes.append(read.note)
        if read.reconnections:
            summary.notes.append(f"{url}: connection lost {read.reconnections} time(s), resumed")
    return failed


@dataclass(frozen=True)
class _Located:
    """A file (or an object) to read: where the ledger knows it, its size and modification time
    (an object's version, from its ETag)."""
    item: InputFile
    path: str
    size: int
    mtime_ns: int | None


def _locate(run: _Run, files: list[InputFile], real_path: _RealPaths,
            ledger: dict[str, tuple[int, int]]) -> list[_Located]:
    """The files to read, with their real path and status; those the ledger holds as they are
    are skipped, those that cannot be found any more are quarantined ``unreadable``. An object
    is known by its URL; its size and version are its listing's (it is not opened)."""
    located = []
    for item in files:
        if isinstance(item.path, ObjectPath):
            entry = _Located(item, item.path.url, item.path.size, item.path.version)
        else:
            try:
                path, stat = real_path(str(item.path))
            except OSError as exc:
                path = str(item.path.resolve())
                run.writer.add_quarantine(item.label, path, "unreadable", exc.strerror or str(exc), b"")
                run.summary.quarantined += 1
                continue
            entry = _Located(item, path, stat.st_size, stat.st_mtime_ns)
        # an object whose store gives no version is never taken as unchanged (content keys:
        # reading it again stores nothing twice)
        if entry.mtime_ns is not None and ledger.get(entry.path) == (entry.size, entry.mtime_ns):
            run.summary.files_skipped += 1
            if run.bar:
                run.bar.update(1)
            continue
        located.append(entry)
    return located


def _read_log_file(run: _Run, workspace: Workspace, item: InputFile, entry: _Located) -> None:
    """Read a mail log or the distribution log here, while the workers parse messages."""
    writer, summary, path = run.writer, run.summary, entry.path
    writer.reset_file(path)
    if item.kind == "distribution":
        counts = _ingest_rows(run, path, _guarded(read_distribution, item, item.path, item.label),
                              writer.add_distribution_rows)
    elif item.kind in SUPPORTED_LOGS:
        counts = _ingest_rows(run, path, _guarded(read_log, item, item.kind, item.path, item.label,
                                                  workspace.timezone), writer.add_log_events)
    else:
        summary.files_unsupported[item.kind] = summary.files_unsupported.get(item.kind, 0) + 1
        return
    summary.files_read += 1
    read, stored, bad, interrupted = counts
    if not interrupted:
        # a log not read to its end (an I/O error part way) gets no ledger entry: the next run
        # reads it again (its rows are keyed: those stored now are not stored twice)
        writer.add_file(path, item.kind, run.role, entry.size, entry.mtime_ns, read, stored, bad)
    if writer.full:
        writer.flush()
    if run.bar:
        run.bar.update(1)


def _forget_listed_folders(con: duckdb.DuckDBPyConnection, writer: BatchWriter,
                           paths: list[Path], found: set[str]) -> None:
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
            row = record_row(result)
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
                        unregister(con, "_details")
            finally:
                unregister(con, "_reparsed")
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


@dataclass
class _FileRead:
    """A message file to read, and what was read of it so far (over its shards)."""
    item: InputFile
    path: str
    size: int
    mtime_ns: int | None
    items: int = 0
    new: int = 0
    quarantined: int = 0
    unopened: bool = False    # nothing could be read (a folder that cannot be listed, a FIFO)
    again: bool = False       # read before, and changed since: most of its copies are stored


@dataclass
class _Run:
    """What the steps of one ingest share."""
    con: duckdb.DuckDBPyConnection
    writer: BatchWriter
    summary: IngestSummary
    role: str                         # the --role every message of this run is stored with
    max_message_bytes: int | None
    bar: _ProgressBar | None


@dataclass
class _Flight:
    """A shard being mapped: its files, whether it starts them (their old quarantine entries
    go) and ends them (their ledger entries are written with it)."""
    shard: Shard
    files: list[_FileRead]
    first: bool
    last: bool
    pending: _PendingBatch


class _Shards:
    """Message files cut into shards and mapped, a few in flight; their batches reduced in order.

    Order matters: the first copy of a message read is the one stored (its ``first_source``),
    and an mbox's shards are numbered on from the one before. A large mbox is cut into byte
    ranges where messages start (``cut_points``); other message files are grouped, up to
    SHARD_FILES or SHARD_BYTES a shard, so that 100,000 single-message files do not take
    100,000 tasks."""

    def __init__(self, run: _Run, parser: _Parser, local: bool, cluster: DaskMapper | None = None) -> None:
        self.run, self.parser, self.local, self.cluster = run, parser, local, cluster
        # enough shards in flight that no worker waits while one batch is appended
        self.in_flight = 1 if local else cluster.slots + 2 if cluster else parser.workers + 1
        self.flights: collections.deque[_Flight] = collections.deque()
        self.group: list[_FileRead] = []
        self.group_bytes = 0

    def add(self, file: _FileRead) -> None:
        cuts = cut_points(file.item.path, SHARD_BYTES) if file.item.kind == "mbox" and file.size > SHARD_BYTES \
            else []
        if not cuts:
            self.group.append(file)
            self.group_bytes += file.size
            if len(self.group) >= SHARD_FILES or self.group_bytes >= SHARD_BYTES:
                self._send_group()
            return
        self._send_group()
        bounds: list[int | None] = [0, *cuts, None]
        for start, end in zip(bounds, bounds[1:], strict=False):
            assert start is not None
            self._submit(Shard((file.item,), start, end, self.run.max_message_bytes), [file],
                         first=start == 0, last=end is None)

    def finish(self) -> None:
        self._send_group()
        while self.flights:
            self._reduce(self.flights.popleft())

    def _send_group(self) -> None:
        if self.group:
            shard = Shard(tuple(file.item for file in self.group), max_message_bytes=self.run.max_message_bytes)
            self._submit(shard, self.group, first=True, last=True)
            self.group, self.group_bytes = [], 0

    def _submit(self, shard: Shard, files: list[_FileRead], first: bool, last: bool) -> None:
        only = self._unstored(shard) if any(file.again for file in files) else None
        pending = self.cluster.submit(shard, only) if self.cluster else self.parser.submit_shard(shard, self.local, only)
        self.flights.append(_Flight(shard, files, first, last, pending))
        while len(self.flights) > self.in_flight:
            self._reduce(self.flights.popleft())

    def _unstored(self, shard: Shard) -> frozenset[str]:
        """The keys of a shard not stored yet, found before it is parsed: a file read again (an
        mbox a month longer) mostly holds copies stored already, which are then only sighted
        instead of parsed again."""
        if self.cluster:
            keys = self.cluster.keys(shard)
        else:
            keys = self.parser.shard_keys(shard, self.local)
        return unstored_keys(self.run.con, keys_table(keys))

    def _reduce(self, flight: _Flight) -> None:
        run, files = self.run, flight.files
        batch = flight.pending.get()
        numbered = (files[0].item.label, files[0].items) if flight.shard.is_range else None
        for file, read, unopened in zip(files, batch.read, batch.unopened, strict=True):
            file.items += read
            file.unopened = file.unopened or unopened
        # a file nothing could be read from gets no ledger entry: read again next time (its
        # permissions may be mended)
        ledger = [(index, Ledger(file.path, file.item.kind, run.role, file.size, file.mtime_ns, file.items,
                                 file.new, file.quarantined))
                  for index, file in enumerate(files) if flight.last and not file.unopened]
        copies, details, quarantine, seen = batch.tables()
        appended = append_batch(run.con, copies, details, quarantine, seen, paths=[file.path for file in files], role=run.role, numbered=numbered,
                                reset=[file.path for file in files] if flight.first else (), ledger=ledger)
        for file, new, quarantined in zip(files, appended.new, appended.quarantined, strict=True):
            file.new += new
            file.quarantined += quarantined
        new = sum(appended.new)
        run.summary.new += new
        run.summary.already_stored += copies.num_rows - new + seen.num_rows
        run.summary.quarantined += sum(appended.quarantined)
        if flight.last:
            run.summary.files_read += len(files)
            if run.bar:
                run.bar.update(len(files))
                run.bar.set_postfix(new=run.summary.new, quarantined=run.summary.quarantined)


def _ingest_rows(run: _Run, path: str, entries: Iterable[object],
                 store: Callable[[list[Any]], None]) -> tuple[int, int, int, bool]:
    """Rows of a log file (distribution rows, delivery events), handed to ``store`` in batches;
    rows and lines that cannot be read are quarantined with their position. Returns the ledger's
    counts (entries read, rows stored, entries quarantined) and whether the file broke off
    ``unreadable``. ``store`` takes the rows of the reader it is paired with (distribution rows,
    log events): the caller makes the pair."""
    writer = run.writer
    rows: list[Any] = []
    stored, bad, interrupted = 0, 0, False
    for entry in entries:
        if isinstance(entry, (BadRow, BadLine)):
            writer.add_quarantine(entry.source, path, entry.reason, entry.detail, entry.data)
            bad += 1
            interrupted = interrupted or entry.reason == "unreadable"
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
    return stored + bad, stored, bad, interrupted


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
