"""The one description of every stored table: DDL, Arrow schemas and column lists derive from it.

``TABLES`` is the shape the database has once every migration (``store/migrations/``) has run;
tests/store/test_schema.py checks that a migrated database matches it column for column, so a
new migration comes with its change here. Order is the database's (``ALTER TABLE ... ADD
COLUMN`` appends), nullability and keys are those of the DDL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# DuckDB type -> the Arrow type that DuckDB reads back as the same type (timestamps are naive
# UTC microseconds: see store/migrations.py)
_ARROW: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "VARCHAR[]": pa.list_(pa.string()),
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
    "BLOB": pa.binary(),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str                   # as DuckDB spells it (DESCRIBE's column_type)
    not_null: bool = False      # besides the primary key's columns, which are never null
    note: str = ""              # the values it takes, when the name does not say


@dataclass(frozen=True)
class Table:
    name: str
    holds: str                  # what a row is
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()


def _c(name: str, type_: str = "VARCHAR", *, not_null: bool = False, note: str = "") -> Column:
    if type_ not in _ARROW:
        raise ValueError(f"column {name}: no Arrow type for {type_}")
    return Column(name, type_, not_null, note)


_V, _L, _B, _I, _BI, _TS = "VARCHAR", "VARCHAR[]", "BOOLEAN", "INTEGER", "BIGINT", "TIMESTAMP"

TABLES: tuple[Table, ...] = (
    Table("stored_messages", "one stored copy: the facts of its bytes, which never change once read (0001, 0004, 0005, 0008)", (
        _c("message_key"), _c("message_id"), _c("received_at", _TS, not_null=True), _c("date_source"),
        _c("copy_at", _TS), _c("sender"), _c("sender_name"), _c("subject"), _c("copy_sender"),
        _c("copy_subject"), _c("to_addrs", _L), _c("cc_addrs", _L), _c("original_to", _L),
        _c("original_cc", _L), _c("envelope_to", _L), _c("forwarded_to", _L), _c("resent_to", _L),
        _c("resent_from"), _c("original_message_id"), _c("in_reply_to"), _c("reference_ids", _L),
        _c("list_unsubscribe", _B), _c("precedence"), _c("auto_submitted"), _c("autoreply", _B),
        _c("spam_flag", _B), _c("forward_kind"), _c("forward_depth", _I), _c("body_text"),
        _c("body_is_html", _B), _c("body_fingerprint"), _c("content_fingerprint"), _c("has_contact", _B),
        _c("size", _I), _c("defects", _L), _c("parser_version", _I), _c("role_hint"), _c("from_line"),
        _c("first_source"), _c("first_seen_at", _TS),
        # 0004: what says which portal sent a copy besides its From address (parsing/signals.py)
        _c("reply_to_domains", _L), _c("return_path_domain"), _c("sender_header_domain"),
        _c("dkim_domains", _L), _c("list_id"), _c("link_hosts", _L),
        # 0005: what links the copies of one lead whatever their path (attribution/identity.py)
        _c("date_zone"), _c("identity_marks", _L),
        # 0008: a delivery failure report's failed recipients, aligned lists (parsing/reports.py)
        _c("report_recipients", _L), _c("report_statuses", _L), _c("report_actions", _L),
        _c("report_diagnostics", _L),
    ), ("message_key",)),
    Table("lead_details", "a prospect's personal data read from a copy, apart so that it can be purged or "
          "pseudonymised", (
              _c("message_key"), _c("name"), _c("email"), _c("email_is_relay", _B), _c("phone"),
              _c("listing_reference"), _c("message_length", _I),
          ), ("message_key",)),
    Table("raw_messages", "the bytes of a stored copy, compressed, to parse again with a better parser", (
        _c("message_key"), _c("raw_zlib", "BLOB"),
    ), ("message_key",)),
    Table("sightings", "each source a stored copy was read from", (
        _c("source"), _c("message_key"), _c("seen_at", _TS),
    ), ("source", "message_key")),
    Table("ingested_files", "the ledger of files read in full, so that a re-run skips them", (
        _c("path"), _c("kind"), _c("role"), _c("size", _BI), _c("mtime_ns", _BI), _c("items", _I),
        _c("new_items", _I), _c("quarantined", _I), _c("ingested_at", _TS),
    ), ("path",)),
    Table("quarantine_items", "what could not be stored, with its bytes when small enough", (
        _c("source"), _c("file_path"), _c("reason"), _c("detail"), _c("size", _BI), _c("raw_zlib", "BLOB"),
        _c("quarantined_at", _TS),
    )),
    Table("distribution_log", "deliveries listed by a distribution list's log", (
        _c("row_key"), _c("received_at", _TS), _c("message_id"), _c("sender"), _c("subject"),
        _c("delivered_to"), _c("source"),
    ), ("row_key",)),
    Table("attribution", "the meaning of a stored copy under the current configuration (attribution/refresh.py)", (
        _c("message_key"), _c("point_of_sale"), _c("portal"), _c("channel"), _c("category"), _c("role"),
        _c("lead_key"), _c("month"), _c("local_date", "DATE"), _c("local_hour", _I), _c("weekday", _I),
        _c("flags", _L),
    ), ("message_key",)),
    Table("attribution_targets", "every point of sale a copy was dispatched to", (
        _c("message_key"), _c("point_of_sale"),
    )),
    Table("points_of_sale", "the configuration's points of sale, in its order", (
        _c("id"), _c("name"), _c("group"), _c("position", _I),
    ), ("id",)),
    Table("portals", "the catalogue's and configuration's portals, in order", (
        _c("id"), _c("name"), _c("kind"), _c("position", _I),
    ), ("id",)),
    Table("log_events", "delivery events read from mail logs (Postfix, Microsoft 365, Google Workspace)", (
        _c("row_key"), _c("event_time", _TS), _c("log_kind"), _c("message_id"), _c("sender"), _c("recipient"),
        _c("original_recipient"), _c("status"), _c("relay"), _c("queue_id"), _c("detail"), _c("subject"),
        _c("source"),
    ), ("row_key",)),
    Table("addresses", "every address of the configuration and what it stands for (synced with emailtrack.toml)", (
        _c("address"), _c("point_of_sale"), _c("kind", note="mailbox | tracked | distribution"), _c("portal"),
    ), ("address",)),
    Table("log_leads", "deliveries to a point of sale's own mailbox seen in mail logs, and whether each was a lead", (
        _c("row_key"), _c("point_of_sale"), _c("month"), _c("event_time", _TS), _c("message_id"), _c("lead_key"),
        _c("portal"), _c("is_lead", _B),
        _c("assumed", _B, note="no stored copy and no subject in the log: a lead by its sender only"),
    ), ("row_key",)),
    Table("attribution_state", "the fingerprint of what the attribution was last computed from", (
        _c("fingerprint"), _c("computed_at", _TS), _c("messages", _BI), _c("log_rows", _BI),
    )),
    Table("privacy_key", "the key of the workspace's pseudonyms (analytics/views/005_privacy.sql), one row", (
        _c("key", not_null=True),
    )),
    Table("forgotten", "people erased with `emailtrack forget`, by pseudonym only, so that a copy ingested "
          "later is erased too without keeping the address itself", (
              _c("pseudonym"), _c("kind", note="email | phone"), _c("forgotten_at", _TS),
          ), ("pseudonym",)),
    Table("erasures", "what forget and purge did, without personal data: when, what, how many rows per table", (
        _c("erased_at", _TS), _c("action", note="forget | purge"),
        _c("scope", note="a pseudonym, or 'before YYYY-MM'"), _c("counts", note="JSON: table -> rows erased"),
    )),
    Table("lead_rows", "the `leads` view materialised by every refresh (attribution/sql/020_leads.sql)", (
        _c("lead_key"), _c("received_at", _TS), _c("month"), _c("portal"), _c("point_of_sale"), _c("channel"),
        _c("copies", _BI), _c("local_date", "DATE"), _c("local_hour", _I), _c("weekday", _I), _c("group"),
    )),
    Table("views_state", "the digest of the view definitions last created (store/db.py ensure_views)", (
        _c("digest"),
    )),
    Table("imap_mailboxes", "what was read of an IMAP mailbox: its folder's UIDVALIDITY and the highest UID "
          "whose copy is stored (0007, ingest/imap_read.py)", (
              _c("mailbox", note="its URL without any secret: imap://user@host:port/FOLDER"),
              _c("uidvalidity", _BI, not_null=True), _c("last_uid", _BI, not_null=True), _c("read_at", _TS),
          ), ("mailbox",)),
    Table("schema_migrations", "the migrations applied, by name (store/db.py creates it before the first)", (
        _c("name"), _c("applied_at", _TS),
    ), ("name",)),
)

_BY_NAME = {table.name: table for table in TABLES}


# stored_messages columns that are not facts of a copy's bytes: how it was found (the ingest's
# reduce step fills them, store/batches.py; a re-parse keeps them)
FOUND_COLUMNS = ("role_hint", "from_line", "first_source", "first_seen_at")


def table(name: str) -> Table:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no stored table named {name!r}") from None


def columns(name: str) -> tuple[str, ...]:
    """The table's column names, in the database's order (``group`` unquoted)."""
    return tuple(column.name for column in table(name).columns)


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of a whole row of the table, for ``INSERT ... BY NAME`` of Arrow batches."""
    return pa.schema([(column.name, _ARROW[column.type]) for column in table(name).columns])


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def create_sql(name: str, *, if_not_exists: bool = False) -> str:
    """``CREATE TABLE`` for the table's current shape (a new database gets it through the migrations)."""
    spec = table(name)
    items = [(f"{_quoted(column.name)} {column.type}" + (" NOT NULL" if column.not_null else ""), column.note)
             for column in spec.columns]
    if spec.primary_key:
        items.append((f"PRIMARY KEY ({', '.join(_quoted(key) for key in spec.primary_key)})", ""))
    body = "".join(f"    {text}{',' if i < len(items) - 1 else ''}{'  -- ' + note if note else ''}\n"
                   for i, (text, note) in enumerate(items))
    head = "CREATE TABLE IF NOT EXISTS" if if_not_exists else "CREATE TABLE"
    return f"-- {spec.holds}\n{head} {_quoted(spec.name)} (\n{body});\n"
