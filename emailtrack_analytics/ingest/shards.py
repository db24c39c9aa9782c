"""The map step of an ingest: a shard of input becomes a columnar batch, in whichever process runs it.

A shard is a byte range of an mbox (cut where a message starts: ``sources.mbox.cut_points``) or
a group of message files (or objects of a store, read where they are: ``sources.remote``; the
small ones of a group are fetched in one concurrent batch). ``map_shard`` reads it, keys each message, parses and compresses it,
and returns a ``Batch``: columns of plain values, one row per copy read and one per item to
quarantine, as Arrow tables in IPC stream bytes (what crosses a pipe or a network cheaply, and
what DuckDB reads without a copy). It runs in a parser process of this machine
(``pool.WorkerPool``) or a Dask worker (``ingest.cluster``), so it never imports DuckDB or the
pipeline; Arrow imports pandas when it converts values, so a worker holds both (111 MB, 0.46 s to
its first batch). The reduce step, which appends batches to the database, is ``store.batches``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..store.schema import FOUND_COLUMNS, arrow_schema
from .parsing.message import message_key
from .parsing.worker import Item, Parsed, ParseResult, parse_item, quarantined_bytes, record_row
from .sources import InputFile, RawMessage, prefetched, read_messages
from .sources.mbox import read_mbox_range


@dataclass(frozen=True)
class Shard:
    """What one map task reads: ``files`` whole, or bytes ``start`` to ``end`` of one mbox."""

    files: tuple[InputFile, ...]
    start: int = 0
    end: int | None = None            # None: to the end of the file
    max_message_bytes: int | None = None

    @property
    def is_range(self) -> bool:
        """Part of an mbox: its sources are numbered by the reduce (``label:N`` counts the
        messages of the shards before it)."""
        return bool(self.start or self.end is not None)


@dataclass
class Batch:
    """A shard's copies and quarantine items, in reading order, as Arrow IPC streams.

    ``copies`` holds every copy parsed: ``seq`` (its place in the shard), ``file`` (the index of
    its file in ``Shard.files``), ``number`` (its place among that file's messages in the
    shard), ``source``, ``raw_zlib``, ``from_line``, and the stored_messages columns its record
    gives; ``details`` the lead_details rows of those that have some (``seq`` joins them);
    ``quarantine`` the items not stored (``file``, ``number``, ``source``, ``reason``,
    ``detail``, ``size``, ``raw_zlib``). ``read``: messages read per file; ``unopened``: per
    file, whether it could not be read to its end (a folder that cannot be listed, an I/O error
    part way): no ledger entry then.
    """

    copies: bytes = b""
    details: bytes = b""
    quarantine: bytes = b""
    seen: bytes = b""                 # copies stored already, not parsed (``map_shard``'s ``only``)
    read: list[int] = field(default_factory=list)
    unopened: list[bool] = field(default_factory=list)

    def tables(self) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
        """The copies, details, quarantine and seen tables (read without copying the bytes)."""
        return (_from_ipc(self.copies, copy_schema()), _from_ipc(self.details, detail_schema()),
                _from_ipc(self.quarantine, quarantine_schema()), _from_ipc(self.seen, seen_schema()))


@functools.cache
def copy_schema() -> pa.Schema:
    """A batch's copies: where each was read, and the stored_messages columns of its record."""
    stored = arrow_schema("stored_messages")
    return pa.schema([pa.field("seq", pa.int64()), pa.field("file", pa.int32()), pa.field("number", pa.int64()),
                      pa.field("source", pa.string()), pa.field("raw_zlib", pa.binary()),
                      pa.field("from_line", pa.string()),
                      *(stored.field(name) for name in stored.names if name not in FOUND_COLUMNS)])


@functools.cache
def detail_schema() -> pa.Schema:
    return pa.schema([pa.field("seq", pa.int64()), *arrow_schema("lead_details")])


@functools.cache
def seen_schema() -> pa.Schema:
    return pa.schema([pa.field("seq", pa.int64()), pa.field("file", pa.int32()), pa.field("number", pa.int64()),
                      pa.field("source", pa.string()), pa.field("message_key", pa.string())])


@functools.cache
def keys_schema() -> pa.Schema:
    return pa.schema([pa.field("message_key", pa.string())])


def keys_table(data: bytes) -> pa.Table:
    return _from_ipc(data, keys_schema())


@functools.cache
def quarantine_schema() -> pa.Schema:
    return pa.schema([pa.field("file", pa.int32()), pa.field("number", pa.int64()), pa.field("source", pa.string()),
                      pa.field("reason", pa.string()), pa.field("detail", pa.string()), pa.field("size", pa.int64()),
                      pa.field("raw_zlib", pa.binary())])


def _to_ipc(columns: dict[str, list[Any]], schema: pa.Schema) -> bytes:
    if not columns or not next(iter(columns.values())):
        return b""
    table = pa.Table.from_pydict({name: columns[name] for name in schema.names}, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _from_ipc(data: bytes, schema: pa.Schema) -> pa.Table:
    if not data:
        return schema.empty_table()
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


# (index of the file in the shard, its number among that file's messages in the shard, message)
Read = tuple[int, int, RawMessage]


def read_shard(shard: Shard) -> Iterator[Read]:
    """The messages of a shard, in order."""
    if shard.is_range:
        item = shard.files[0]
        for number, raw in enumerate(read_mbox_range(item.path, item.label, shard.start, shard.end,
                                                     shard.max_message_bytes), start=1):
            yield 0, number, raw
        return
    for index, item in enumerate(prefetched(shard.files)):
        for number, raw in enumerate(read_messages(item, shard.max_message_bytes), start=1):
            yield index, number, raw


def items(reads: list[Read]) -> list[Item]:
    """What the parser is handed for the readable messages of ``reads``, keyed."""
    return [(raw.data, raw.from_line, message_key(raw.data)) for _, _, raw in reads if not raw.problem]


def shard_keys(shard: Shard) -> bytes:
    """The content keys of a shard's readable messages (Arrow IPC): what a file read again is
    checked against before anything in it is parsed."""
    keys = [message_key(raw.data) for _, _, raw in read_shard(shard) if not raw.problem]
    return _to_ipc({"message_key": keys}, keys_schema())


def map_shard(shard: Shard, parse: Callable[[Item], ParseResult] = parse_item,
              only: frozenset[str] | None = None) -> Batch:
    """Read, key, parse and compress a shard: the map step. ``parse`` must be importable by the
    process that runs it (tests hand one that kills its worker). ``only``: the keys to parse
    (those not stored yet, for a file read again); the other copies are only sighted."""
    reads = list(read_shard(shard))
    keyed = [(seq, message_key(raw.data)) for seq, (_, _, raw) in enumerate(reads) if not raw.problem]
    known = {seq: key for seq, key in keyed if only is not None and key not in only}
    results = [parse((reads[seq][2].data, reads[seq][2].from_line, key)) for seq, key in keyed if seq not in known]
    return build_batch(shard, reads, results, known)


def build_batch(shard: Shard, reads: list[Read], results: list[ParseResult], known: dict[int, str] | None = None) -> Batch:
    """The batch of ``reads``, given the parser's results for their readable messages in order
    (``items``), but for those in ``known`` (place in the shard -> key: stored already, only
    sighted). Also used when a shard's worker died: the main process reads the shard and has its
    messages parsed one by one (``pipeline._Parser.recover``)."""
    known = known or {}
    batch = Batch(read=[0] * len(shard.files), unopened=[False] * len(shard.files))
    copies: dict[str, list[Any]] = {}
    details: dict[str, list[Any]] = {}
    seen: dict[str, list[Any]] = {name: [] for name in seen_schema().names}
    quarantine: dict[str, list[Any]] = {name: [] for name in
                                        ("file", "number", "source", "reason", "detail", "size", "raw_zlib")}

    def quarantined(index: int, number: int, raw: RawMessage, reason: str, detail: str) -> None:
        kept = quarantined_bytes(raw.data)
        for name, value in (("file", index), ("number", number), ("source", raw.source), ("reason", reason),
                            ("detail", detail), ("size", len(raw.data)), ("raw_zlib", kept)):
            quarantine[name].append(value)

    parsed = iter(results)
    for seq, (index, number, raw) in enumerate(reads):
        if raw.problem == "unreadable":
            # not read to its end (an I/O error, a store's reset connection): no ledger entry, so
            # the next run reads it again (the messages stored already are only sighted)
            batch.unopened[index] = True
        batch.read[index] += 1
        if raw.problem:
            quarantined(index, number, raw, raw.problem, raw.detail or "")
            continue
        if seq in known:
            for name, value in (("seq", seq), ("file", index), ("number", number), ("source", raw.source),
                                ("message_key", known[seq])):
                seen[name].append(value)
            continue
        result = next(parsed)
        if not isinstance(result, Parsed):
            quarantined(index, number, raw, result.reason, result.detail)
            continue
        row = record_row(result.record)
        row.update(seq=seq, file=index, number=number, source=raw.source, raw_zlib=result.compressed,
                   from_line=raw.from_line)
        _append(copies, row)
        if result.record.details:
            _append(details, {"seq": seq, "message_key": result.record.message_key, **result.record.details})
    batch.copies = _to_ipc(copies, copy_schema())
    batch.details = _to_ipc(details, detail_schema())
    batch.quarantine = _to_ipc(quarantine, quarantine_schema())
    batch.seen = _to_ipc(seen, seen_schema())
    return batch


def _append(columns: dict[str, list[Any]], row: dict[str, Any]) -> None:
    if not columns:
        columns.update({name: [] for name in row})
    for name, value in row.items():
        columns[name].append(value)
