"""Batched writes: rows are collected in memory and inserted as Arrow tables, never one by one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa

from ..ingest.parsing.message import MessageRecord
from ..ingest.parsing.worker import compress
from .db import transaction, utcnow

_LIST = pa.list_(pa.string())
_TS = pa.timestamp("us")

MESSAGE_SCHEMA = pa.schema([
    ("message_key", pa.string()), ("message_id", pa.string()), ("received_at", _TS),
    ("date_source", pa.string()), ("copy_at", _TS), ("sender", pa.string()),
    ("sender_name", pa.string()), ("subject", pa.string()), ("copy_sender", pa.string()),
    ("copy_subject", pa.string()), ("to_addrs", _LIST), ("cc_addrs", _LIST),
    ("original_to", _LIST), ("original_cc", _LIST), ("envelope_to", _LIST),
    ("forwarded_to", _LIST), ("resent_to", _LIST), ("resent_from", pa.string()),
    ("original_message_id", pa.string()), ("in_reply_to", pa.string()), ("reference_ids", _LIST),
    ("list_unsubscribe", pa.bool_()), ("precedence", pa.string()), ("auto_submitted", pa.string()),
    ("autoreply", pa.bool_()), ("spam_flag", pa.bool_()), ("forward_kind", pa.string()),
    ("forward_depth", pa.int32()), ("body_text", pa.string()), ("body_is_html", pa.bool_()),
    ("body_fingerprint", pa.string()), ("content_fingerprint", pa.string()), ("has_contact", pa.bool_()),
    ("date_zone", pa.string()), ("identity_marks", _LIST), ("size", pa.int32()),
    ("defects", _LIST), ("parser_version", pa.int32()), ("role_hint", pa.string()), ("from_line", pa.string()),
    ("first_source", pa.string()), ("first_seen_at", _TS),
    ("reply_to_domains", _LIST), ("return_path_domain", pa.string()), ("sender_header_domain", pa.string()),
    ("dkim_domains", _LIST), ("list_id", pa.string()), ("link_hosts", _LIST),
])
DETAILS_SCHEMA = pa.schema([
    ("message_key", pa.string()), ("name", pa.string()), ("email", pa.string()),
    ("email_is_relay", pa.bool_()), ("phone", pa.string()), ("listing_reference", pa.string()),
    ("message_length", pa.int32())])
RAW_SCHEMA = pa.schema([("message_key", pa.string()), ("raw_zlib", pa.binary())])
SIGHTING_SCHEMA = pa.schema([("source", pa.string()), ("message_key", pa.string()), ("seen_at", _TS)])
QUARANTINE_SCHEMA = pa.schema([
    ("source", pa.string()), ("file_path", pa.string()), ("reason", pa.string()),
    ("detail", pa.string()), ("size", pa.int64()), ("raw_zlib", pa.binary()),
    ("quarantined_at", _TS)])
DISTRIBUTION_SCHEMA = pa.schema([
    ("row_key", pa.string()), ("received_at", _TS), ("message_id", pa.string()),
    ("sender", pa.string()), ("subject", pa.string()), ("delivered_to", pa.string()),
    ("source", pa.string())])

LOG_EVENT_SCHEMA = pa.schema([
    ("row_key", pa.string()), ("event_time", _TS), ("log_kind", pa.string()), ("message_id", pa.string()),
    ("sender", pa.string()), ("recipient", pa.string()), ("original_recipient", pa.string()),
    ("status", pa.string()), ("relay", pa.string()), ("queue_id", pa.string()), ("detail", pa.string()),
    ("subject", pa.string()), ("source", pa.string())])
FILE_SCHEMA = pa.schema([
    ("path", pa.string()), ("kind", pa.string()), ("role", pa.string()), ("size", pa.int64()),
    ("mtime_ns", pa.int64()), ("items", pa.int32()), ("new_items", pa.int32()),
    ("quarantined", pa.int32()), ("ingested_at", _TS)])

# Quarantined bytes are kept so that nothing read is lost, up to this size per item.
MAX_QUARANTINE_RAW = 16 * 1024 * 1024


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def arrow_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows (dicts) as an Arrow table, built column by column (4x faster than row by row)."""
    return pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in schema.names}, schema=schema)


def message_row(record: MessageRecord) -> dict:
    """A record as a ``stored_messages`` row (times as naive UTC)."""
    row = record.as_row()
    row["received_at"] = _naive_utc(record.received_at)
    row["copy_at"] = _naive_utc(record.copy_at)
    return row


# Bytes (compressed copies, quarantined bytes) a writer holds before it is full: 2,000 large
# messages (or quarantined items) are never held at once.
WRITE_BYTES = 128 * 1024 * 1024


class BatchWriter:
    """Collects rows for each table and writes them in one INSERT per table per flush."""

    def __init__(self, con, batch_size: int = 2000, write_bytes: int = WRITE_BYTES):
        self.con = con
        self.batch_size = batch_size
        self.write_bytes = write_bytes
        self.held = 0   # bytes of the copies and quarantined items collected
        self._messages: list[dict] = []
        self._details: list[dict] = []
        self._raw: list[dict] = []
        self._sightings: list[dict] = []
        self._quarantine: list[dict] = []
        self._distribution: list[dict] = []
        self._files: list[dict] = []
        self._resets: list[str] = []
        self._events: list[dict] = []

    def add_file(self, path: str, kind: str, role: str, size: int, mtime_ns: int,
                 items: int, new_items: int, quarantined: int) -> None:
        """The ledger entry of a file read in full: written with (or after) its last rows."""
        self._files.append({"path": path, "kind": kind, "role": role, "size": size,
                            "mtime_ns": mtime_ns, "items": items, "new_items": new_items,
                            "quarantined": quarantined, "ingested_at": utcnow()})

    def reset_file(self, path: str) -> None:
        """Forget the quarantine entries of a file about to be read again."""
        self._resets.append(path)

    def add_message(self, record: MessageRecord, compressed: bytes, source: str, role_hint: str,
                    from_line: str | None = None) -> None:
        """A parsed copy; ``compressed`` is its raw bytes through ``compress``."""
        row = message_row(record)
        row.update(role_hint=role_hint, from_line=from_line, first_source=source, first_seen_at=utcnow())
        self._messages.append(row)
        if record.details:
            self._details.append({"message_key": record.message_key, **record.details})
        self._raw.append({"message_key": record.message_key, "raw_zlib": compressed})
        self.held += len(compressed)

    def add_sighting(self, source: str, key: str) -> None:
        self._sightings.append({"source": source, "message_key": key, "seen_at": utcnow()})

    def add_quarantine(self, source: str, file_path: str, reason: str, detail: str, raw: bytes) -> None:
        kept = compress(raw) if raw and len(raw) <= MAX_QUARANTINE_RAW else None
        self.held += len(raw) if kept is not None else 0
        self._quarantine.append({"source": source, "file_path": file_path, "reason": reason,
                                 "detail": detail, "size": len(raw), "raw_zlib": kept,
                                 "quarantined_at": utcnow()})

    def add_distribution_rows(self, rows: Iterable) -> None:
        for row in rows:
            self._distribution.append({
                "row_key": row.row_key, "received_at": row.received_at, "message_id": row.message_id,
                "sender": row.sender, "subject": row.subject, "delivered_to": row.delivered_to,
                "source": row.source})

    def add_log_events(self, events) -> None:
        for event in events:
            self._events.append({
                "row_key": event.row_key, "event_time": event.event_time, "log_kind": event.log_kind,
                "message_id": event.message_id, "sender": event.sender, "recipient": event.recipient,
                "original_recipient": event.original_recipient, "status": event.status,
                "relay": event.relay, "queue_id": event.queue_id, "detail": event.detail,
                "subject": event.subject, "source": event.source})

    @property
    def pending(self) -> int:
        return (len(self._messages) + len(self._sightings) + len(self._quarantine)
                + len(self._distribution) + len(self._files) + len(self._resets) + len(self._events))

    @property
    def full(self) -> bool:
        """Time to flush: enough rows, or enough bytes."""
        return self.pending >= self.batch_size or self.held >= self.write_bytes

    def flush(self) -> None:
        """Write everything collected, in one transaction."""
        if not self.pending:
            return
        with transaction(self.con):
            if self._resets:
                self.con.execute("DELETE FROM quarantine_items WHERE file_path IN (SELECT unnest(?::VARCHAR[]))",
                                 [self._resets])
            # new copies only (ingest looks their keys up first, and holds the writer lock): a
            # plain INSERT, 40% cheaper than INSERT OR IGNORE on a keyed table
            self._insert("stored_messages", self._messages, MESSAGE_SCHEMA, ignore=False)
            self._insert("lead_details", self._details, DETAILS_SCHEMA, ignore=False)
            self._insert("raw_messages", self._raw, RAW_SCHEMA, ignore=False)
            self._insert("sightings", self._sightings, SIGHTING_SCHEMA)
            self._insert("quarantine_items", self._quarantine, QUARANTINE_SCHEMA, ignore=False)
            self._insert("distribution_log", self._distribution, DISTRIBUTION_SCHEMA)
            self._insert("log_events", self._events, LOG_EVENT_SCHEMA)
            if self._files:
                self.con.execute("DELETE FROM ingested_files WHERE path IN (SELECT unnest(?::VARCHAR[]))",
                                 [[f["path"] for f in self._files]])
                self._insert("ingested_files", self._files, FILE_SCHEMA)
        for rows in (self._messages, self._details, self._raw, self._sightings, self._quarantine, self._distribution,
                     self._files, self._resets, self._events):
            rows.clear()
        self.held = 0

    def _insert(self, table: str, rows: list[dict], schema: pa.Schema, ignore: bool = True) -> None:
        if not rows:
            return
        self.con.register("_batch", arrow_table(rows, schema))
        try:
            verb = "INSERT OR IGNORE" if ignore else "INSERT"
            self.con.execute(f"{verb} INTO {table} BY NAME SELECT * FROM _batch")
        finally:
            self.con.unregister("_batch")
