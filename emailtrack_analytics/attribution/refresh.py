"""Keeps the ``attribution`` tables in step with the stored messages and the current config.

Attribution is materialised (reports must be fast) but never stale: it records the
fingerprint of everything it depends on (config, catalogue, distribution log, code version),
and any command that reads results first calls ``refresh_attribution``, which re-attributes
only what is missing, or everything when the fingerprint changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection

from ..config.workspace import Workspace
from ..store.db import arrow_batches, transaction, unregister, utcnow
from ..store.queries import load_statements
from ..store.schema import arrow_schema
from ..store.writer import arrow_table
from .engine import Attributor, _CompiledPortal, attribution_fingerprint, sender_matches
from .identity import lead_time

# the SQL this module runs, beside the views in sql/refresh/ (named statements, not views)
_COPIES = load_statements("attribution", "sql", "refresh", "copies.sql")
_LEADS = load_statements("attribution", "sql", "refresh", "leads.sql")
_LEAD_KEYS = load_statements("attribution", "sql", "refresh", "lead_keys.sql")
_LOG_LEADS = load_statements("attribution", "sql", "refresh", "log_leads.sql")

# the facts of the bytes attribution reads (a selection of stored_messages' columns, checked
# against the store's spec by tests/store/test_schema.py); emailtrack senders reads the same
READ_COLUMNS = ["message_key", "message_id", "received_at", "sender", "sender_name", "subject", "copy_sender", "copy_subject",
            "to_addrs", "cc_addrs", "original_to", "original_cc", "envelope_to", "forwarded_to",
            "resent_to", "original_message_id", "in_reply_to", "reference_ids", "list_unsubscribe",
            "precedence", "auto_submitted", "autoreply", "spam_flag", "forward_kind", "role_hint", "has_contact",
            "reply_to_domains", "return_path_domain", "sender_header_domain", "dkim_domains", "list_id",
            "link_hosts", "date_source", "date_zone"]
# the body is read for its wording (a lead's template, a notice's), its beginning is enough:
# 20,000 attributed copies at a time must stay a few megabytes
BODY_COLUMN = "left({}body_text, 3000) AS body_text"

# the rows refresh writes have their tables' shape, from the store's one spec of each table
_ATTRIBUTION_SCHEMA = arrow_schema("attribution")
_TARGET_SCHEMA = arrow_schema("attribution_targets")


@dataclass
class RefreshResult:
    attributed: int
    full: bool
    fingerprint: str


def distribution_targets(con: DuckDBPyConnection, workspace: Workspace, *,
                         of_copies: list[str] | None = None) -> dict[str, list[str]]:
    """Message-ID -> points of sale the distribution log says it was dispatched to; with
    ``of_copies`` (message keys), only for those copies' Message-IDs (the copies an incremental
    refresh attributes)."""
    owners: dict[str, str] = {}
    for pos in workspace.points_of_sale:
        for address in pos.mailboxes + pos.tracked_addresses:
            owners[address] = pos.id
    for entry in workspace.tracked_addresses:
        if entry.point_of_sale:
            owners[entry.address] = entry.point_of_sale
    targets: dict[str, list[str]] = {}
    deliveries = (con.execute(_COPIES["distribution_deliveries"]) if of_copies is None
                  else con.execute(_COPIES["distribution_deliveries_of_copies"], [of_copies]))
    for message_id, delivered_to in deliveries.fetchall():
        owner = owners.get(delivered_to)
        if owner and owner not in targets.setdefault(message_id, []):
            targets[message_id].append(owner)
    return targets


def _count(con: DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None, "an aggregate returns one row"
    return int(row[0])


# Raise when a change to what turns attributed copies into stored results (this module, the lead
# SQL of attribution/sql/020_leads.sql) can change them: every workspace recomputes them once
# (tests/attribution/test_versions.py asks the question whenever these files change).
LEADS_VERSION = 7
REFRESH_CODE = f"leads-{LEADS_VERSION}"


def refresh_fingerprint(con: DuckDBPyConnection, workspace: Workspace) -> str:
    """Everything stored results depend on besides the copies themselves: configuration,
    catalogue, code, and the distribution log (by a digest of its row keys)."""
    digest = con.execute("SELECT count(*), coalesce(bit_xor(hash(row_key)), 0) FROM distribution_log").fetchone()
    assert digest is not None, "an aggregate returns one row"
    return attribution_fingerprint(workspace, tuple(digest)) + REFRESH_CODE[:8]


def _state(con: DuckDBPyConnection, workspace: Workspace) -> tuple[str, bool, bool, int, int]:
    """(fingerprint, whether everything must be re-attributed, whether anything must be done,
    stored copies, log rows): read-only queries, cheap."""
    fingerprint = refresh_fingerprint(con, workspace)
    state = con.execute("SELECT fingerprint, log_rows FROM attribution_state").fetchone()
    stored = _count(con, "SELECT count(*) FROM stored_messages")
    attributed = _count(con, "SELECT count(*) FROM attribution")
    log_rows = _count(con, "SELECT count(*) FROM log_events")
    if state is None or state[0] != fingerprint:
        return fingerprint, True, True, stored, log_rows
    return fingerprint, False, attributed != stored or state[1] != log_rows, stored, log_rows


def is_stale(con: DuckDBPyConnection, workspace: Workspace) -> bool:
    """Whether stored results lag behind the copies, the logs or the configuration (a
    read-only connection can ask)."""
    return _state(con, workspace)[2]


# copies attributed per transaction: each batch is held as Python rows (bodies included) while it
# is attributed; 2,000 rather than 20,000 lowered a 20,000-copy refresh's peak RSS from 314 to
# 266 MB in the same time (2.0 s)
ATTRIBUTE_BATCH = 2_000


def refresh_attribution(con: DuckDBPyConnection, workspace: Workspace, *, force: bool = False,
                        batch: int = ATTRIBUTE_BATCH) -> RefreshResult:
    # cheap checks first: every command calls this, and usually nothing has changed
    fingerprint, full, stale, stored, log_rows = _state(con, workspace)
    full = full or force
    if not full and not stale:
        return RefreshResult(0, False, fingerprint)
    new_copies: list[str] | None = None
    if not full:
        # the copies to attribute, found once by key (reading their columns in the same anti-join
        # read every stored body first: a second on a million copies)
        new_copies = [row[0] for row in con.execute(_COPIES["new_copies"]).fetchall()]
    attributor = Attributor(workspace, distribution_targets(con, workspace, of_copies=new_copies))
    last = con.execute("SELECT computed_at FROM attribution_state").fetchone()

    # Step by step, each step its own transaction: on a million copies, one transaction holding
    # a re-attribution, new lead keys and the leads outgrew DuckDB's bounded memory (what a
    # transaction changes is held until it commits). The state row is removed first and
    # written last: a run interrupted in between leaves no state, so the next one starts over
    # in full. No reader sees the steps: DuckDB lets no other process open the file meanwhile.
    with transaction(con):
        con.execute("DELETE FROM attribution_state")
        if full:
            con.execute("DELETE FROM attribution")
            con.execute("DELETE FROM attribution_targets")
    # read through a second cursor so that each batch is written as soon as it is attributed
    cursor = con.cursor()
    if new_copies is None:
        query = f"SELECT {', '.join(READ_COLUMNS)}, {BODY_COLUMN.format('')} FROM stored_messages"
    else:
        # registered on the cursor that reads (a cursor is a connection of its own)
        cursor.register("_new_copies", pa.table({"message_key": pa.array(new_copies, pa.string())}))
        query = (f"SELECT {', '.join(READ_COLUMNS)}, {BODY_COLUMN.format('')}, first_seen_at "
                 "FROM stored_messages WHERE message_key IN (SELECT message_key FROM _new_copies)")
    reader = arrow_batches(cursor, query, batch)
    count = 0
    # the copies attributed, or whose lead key changes, in an incremental refresh: only the
    # deliveries in mail logs they can concern are judged again (classify_log_deliveries)
    incremental = not full
    # a copy stored before the last refresh and attributed again was re-parsed (ingest deletes its
    # attribution, and with it the lead key it had): the lead it left is not known, so the lead
    # keys and the leads are computed in full
    reparsed = False
    if incremental:
        con.execute("CREATE OR REPLACE TEMP TABLE _touched_copies (message_key VARCHAR)")
    for record_batch in reader:
        rows: list[dict[str, Any]] = []
        targets: list[dict[str, Any]] = []
        for row in record_batch.to_pylist():
            if incremental:
                seen = row.pop("first_seen_at")
                reparsed = reparsed or last is None or seen is None or seen <= last[0]
            result = attributor.attribute(row)
            # an Exchange forward's time is the agent's local time read as UTC: its month and hour
            # are those of the time read in the workspace zone (identity.lead_time)
            sent = lead_time(row["received_at"], row["date_source"], row["date_zone"], workspace.timezone)
            month, day, hour, weekday = attributor.local_time(sent)
            rows.append({"message_key": row["message_key"], "point_of_sale": result.point_of_sale,
                         "portal": result.portal, "channel": result.channel,
                         "category": result.category, "role": result.role, "lead_key": None,
                         "month": month, "local_date": day, "local_hour": hour,
                         "weekday": weekday, "flags": result.flags})
            targets += [{"message_key": row["message_key"], "point_of_sale": t} for t in result.targets]
        with transaction(con):
            _insert(con, "attribution", rows, _ATTRIBUTION_SCHEMA)
            _insert(con, "attribution_targets", targets, _TARGET_SCHEMA)
            if incremental:
                # a scratch table of this connection, not a stored one: its schema is here, not in store/
                _insert(con, "_touched_copies", [{"message_key": r["message_key"]} for r in rows],
                        pa.schema([("message_key", pa.string())]))
        count += len(rows)
    with transaction(con):
        mark_follow_ups(con)
    with transaction(con):
        scoped = _assign_lead_keys(con, workspace.timezone, record_changes=incremental,
                                   scoped=incremental and not reparsed)
    with transaction(con):
        sync_config_tables(con, workspace)
        store_leads(con, incremental=scoped)
        con.execute("DROP TABLE IF EXISTS _rekeyed")
    classify_log_deliveries(con, attributor, incremental=incremental)  # in steps of its own
    with transaction(con):
        con.execute("INSERT INTO attribution_state VALUES (?, ?, ?, ?)", [fingerprint, utcnow(), stored, log_rows])
    return RefreshResult(count, full, fingerprint)


# Lead copies grouped in one statement: the grouping holds them in DuckDB's bounded buffer pool,
# so a large workspace is grouped a few months at a time (a lead spans months; each batch
# groups every copy of the leads it holds and keeps the leads whose month is in the batch).
LEAD_BATCH_COPIES = 200_000
# the leads an incremental refresh stores by key at most (each copy is compared with every key:
# past a few thousand, storing every lead again, month by month, is faster)
LEADS_BY_KEY = 2_000


def store_leads(con: DuckDBPyConnection, batch_copies: int = LEAD_BATCH_COPIES, incremental: bool = False) -> int:
    """Materialise the ``leads`` view (``lead_rows``) from the copies as they now stand.

    ``incremental``: only the leads that can have changed are stored again, those of the copies of
    ``_touched_copies`` (new, or whose key changed: ``_rekeyed`` holds their old and new keys),
    under their keys before and after (sql/refresh/leads.sql, ``changed_leads``): a lead's row
    depends on its copies only. More than ``LEADS_BY_KEY`` of them are stored with all the others.
    Returns the rows stored."""
    keys = [row[0] for row in con.execute(_LEADS["changed_leads"]).fetchall()] if incremental else []
    if incremental and len(keys) <= LEADS_BY_KEY:
        con.execute("DELETE FROM lead_rows WHERE lead_key IN (SELECT unnest(?::VARCHAR[]))", [keys])
        if keys:
            con.execute(_LEADS["store_leads_of_keys"], [keys])
        return _count(con, "SELECT count(*) FROM lead_rows")
    con.execute("DELETE FROM lead_rows")
    for months in lead_month_batches(con, batch_copies):
        con.execute(_LEADS["store_leads_of_months"], [months])
    return _count(con, "SELECT count(*) FROM lead_rows")


def lead_month_batches(con: DuckDBPyConnection, batch_copies: int) -> list[list[str]]:
    """Consecutive months in lists holding about ``batch_copies`` lead copies each."""
    batches: list[list[str]] = []
    current: list[str] = []
    held = 0
    for month, copies in con.execute(_LEADS["lead_months"]).fetchall():
        if current and held + copies > batch_copies:
            batches.append(current)
            current, held = [], 0
        current.append(month)
        held += copies
    if current:
        batches.append(current)
    return batches


def mark_follow_ups(con: DuckDBPyConnection) -> int:
    """Replies that reference a stored lead (In-Reply-To / References) are follow-ups, not
    'other', whatever their subject says (sql/refresh/copies.sql). Returns how many were changed.
    (A non-lead stays a non-lead: no judgement of a mail-log delivery depends on it.)"""
    con.execute(_COPIES["replies"])
    changed = con.execute(_COPIES["mark_follow_ups"]).fetchone()
    con.execute(_COPIES["drop_replies"])
    return int(changed[0]) if changed else 0


_LOG_LEAD_SCHEMA = arrow_schema("log_leads")


MATCH_SECONDS = 180  # a forward's header gives the lead's time to the minute


def classify_log_deliveries(con: DuckDBPyConnection, attributor: Attributor, batch: int = 20_000,
                            incremental: bool = False) -> int:
    """Which deliveries to a point of sale's own mailbox (in mail logs) were leads, and which lead.

    A full refresh judges every delivery; an ``incremental`` one only the new deliveries and those
    whose judgement the copies of the scratch table ``_touched_copies`` (attributed, or whose lead
    key changed, since the last refresh) can change (sql/refresh/log_leads.sql,
    ``affected_deliveries``): the result is the same as judging them all
    (tests/attribution/test_incremental.py). Returns how many deliveries were judged.

    A delivery is matched to a stored copy by Message-ID; failing that (a mail client's forward
    has a new Message-ID), to a tracking copy for the same point of sale from the same portal
    (or sender) within three minutes, each the other's nearest. A matched delivery takes the
    copy's category and lead key. Otherwise the sender (and the subject, when the log has one)
    goes through the portal rules: without a subject (Postfix), a portal sender counts as a lead
    unless it is a marketing or alert sender, or the portal's leads are known to come from other
    senders (``lead_senders``); a portal subject matching no template counts as a lead
    (``assumed``), as format drift does. The matching runs in the database (bounded memory):
    sql/refresh/log_leads.sql.
    """
    params = {"match_seconds": MATCH_SECONDS}
    with transaction(con):
        con.execute(_LOG_LEADS["unpaired"])
        if incremental:
            con.execute(_LOG_LEADS["affected_deliveries"], params)
            con.execute(_LOG_LEADS["scope_deliveries"], params)
            con.execute("DROP TABLE _touched_copies")
        else:
            con.execute(_LOG_LEADS["all_deliveries"])
    senders = [row[0] for row in con.execute(_LOG_LEADS["mailbox_senders"]).fetchall()]
    portals = {sender: attributor.portal_for(sender, "") for sender in senders}
    con.register("_sender_portals", arrow_table(
        [{"sender": k, "portal": v.portal.id if v else None} for k, v in portals.items()],
        pa.schema([("sender", pa.string()), ("portal", pa.string())])))
    # a scratch table in the database file (committed, so DuckDB can page it out), then pages
    # of it judged and written, each page committed: called with no transaction open
    first, last = con.execute(_LOG_LEADS["scope_times"]).fetchone() or (None, None)
    try:
        with transaction(con):
            con.execute(_LOG_LEADS["deliveries"], {**params, "first": first, "last": last})
    finally:
        unregister(con, "_sender_portals")
    # what nothing matched is judged by the portal rules, page by page (by key: the same
    # connection writes between them)
    with transaction(con):
        con.execute(_LOG_LEADS["forget_affected"])
    rows, last = 0, ""
    while True:
        page = con.execute(_LOG_LEADS["deliveries_page"], [last, batch])
        columns = [d[0] for d in page.description]
        deliveries = [dict(zip(columns, values, strict=True)) for values in page.fetchall()]
        if not deliveries:
            break
        last = deliveries[-1]["row_key"]
        with transaction(con):
            _insert(con, "log_leads", [_log_lead(attributor, row) for row in deliveries], _LOG_LEAD_SCHEMA)
        rows += len(deliveries)
    con.execute(_LOG_LEADS["drop_scratch"])
    return rows


def _log_lead(attributor: Attributor, row: dict[str, Any]) -> dict[str, Any]:
    is_lead, assumed = row["is_lead"], False
    if is_lead is None:
        compiled = attributor.portal_for(row["sender"], row["subject"] or "")
        assumed = compiled is not None
        is_lead = compiled is not None and _looks_like_lead(attributor, compiled, row["sender"], row["subject"])
    return {"row_key": row["row_key"], "point_of_sale": row["point_of_sale"],
            "month": attributor.local_time(row["event_time"])[0], "event_time": row["event_time"],
            "message_id": row["message_id"], "lead_key": row["lead_key"], "portal": row["portal"],
            "is_lead": bool(is_lead), "assumed": assumed}


def _looks_like_lead(attributor: Attributor, compiled: _CompiledPortal, sender: str | None,
                     subject: str | None) -> bool:
    marketing = compiled.newsletters + compiled.alerts
    if any(sender_matches(sender or "", rule) for rule in marketing):
        return False
    if subject is None:
        lead_senders = compiled.portal.lead_senders
        return not lead_senders or any(sender_matches(sender or "", rule) for rule in lead_senders)
    flags: list[str] = []
    category = attributor.category_for({"sender": sender, "subject": subject}, compiled, flags)
    return category == "lead" or (category == "other" and "unrecognised_template" in flags)


def _assign_lead_keys(con: DuckDBPyConnection, timezone: str = "UTC", record_changes: bool = False,
                     scoped: bool = False) -> bool:
    """Lead keys computed in the database, by the statements of sql/refresh/lead_keys.sql
    (``identity.lead_keys`` is the same in Python, for reading; a test holds them to the same keys).

    Copies sharing the original's Message-ID are one lead; two different Message-IDs are never
    one lead. Copies without one (inline forwards) are grouped by their content references (an
    identity mark at the minute the lead was sent, a guessed forward time read in ``timezone``
    and at whole-hour offsets), and each group joins the Message-ID sharing the most references
    with it (the smallest on a tie), if any. Keys: a hash of the Message-ID reference, else of
    the group's smallest reference.

    The groups are found on 64-bit hashes of the references, one row per distinct pair, a label
    spread until nothing changes: a few bytes per copy, where the reference strings of a
    million copies filled DuckDB's bounded memory. (Two references with the same 64-bit hash
    would join two groups: about one chance in ten million at a million copies.) Only the
    copies whose key changes are written; with ``record_changes``, their message keys are added
    to the scratch table ``_touched_copies`` (an incremental refresh), and their old and new keys
    are in the scratch table ``_rekeyed``.

    ``scoped``: only the lead copies linked to the new lead copies of ``_touched_copies`` are keyed
    (sql/refresh/lead_keys.sql, ``scope_start`` says why that gives a full run's keys), unless
    their candidates are too many (``SCOPE_SHARE``). Returns whether only those were keyed.
    """
    copies = "lead_reference_copies"
    if scoped:
        scoped = _lead_scope(con, timezone)
        copies = "_scope_copies" if scoped else copies
    con.execute(_LEAD_KEYS["anchored"], [timezone, copies])
    con.execute(_LEAD_KEYS["lead_pairs"], [timezone, copies])
    while _count(con, _LEAD_KEYS["spread_labels"]):
        pass
    con.execute(_LEAD_KEYS["joined"])
    con.execute(_LEAD_KEYS["unjoin_other_prospects"], [copies])
    if not scoped:  # (a copy is a lead or not until a full refresh)
        con.execute(_LEAD_KEYS["clear_keys_of_non_leads"])  # non-leads: no delivery takes their key
    con.execute(_LEAD_KEYS["keyed"], [timezone, copies])
    if record_changes:
        con.execute(_LEAD_KEYS["rekeyed"])
    con.execute(_LEAD_KEYS["write_keys"])
    con.execute(_LEAD_KEYS["drop_scratch"])
    con.execute("DROP TABLE IF EXISTS _scope_copies")
    con.execute("DROP TABLE IF EXISTS _lead_scope")
    return scoped


# an incremental refresh keys everything again when the candidates of its scope are more than this
# share of the lead copies (and more than SCOPE_COPIES): keying a scope costs about what keying as
# many copies in full does, and more when it must grow several times
SCOPE_SHARE = 0.5
SCOPE_COPIES = 20_000


def _lead_scope(con: DuckDBPyConnection, timezone: str) -> bool:
    """Fills the scratch table ``_scope_copies`` with the lead copies whose key the new copies can
    change (sql/refresh/lead_keys.sql, ``scope_start``). Returns False, leaving the full run to
    key everything, when the candidates are more than ``SCOPE_SHARE`` of the lead copies."""
    con.execute(_LEAD_KEYS["scope_start"])
    limit = max(SCOPE_COPIES, SCOPE_SHARE * _count(con, "SELECT count(*) FROM attribution WHERE category = 'lead'"))
    # each round covers what the scope reaches, and the scope grows to what links to it there
    while sum(_count(con, _LEAD_KEYS[name]) for name in ("scope_days", "scope_ids", "scope_prints")):
        con.execute(_LEAD_KEYS["scope_candidates"],
                    con.execute("SELECT min(day), max(day) + 1 FROM _scope_days").fetchone())
        if _count(con, "SELECT count(*) FROM _scope_copies") > limit:
            con.execute(_LEAD_KEYS["scope_keep"])
            return False
        con.execute(_LEAD_KEYS["scope_links"], [timezone])
        con.execute(_LEAD_KEYS["scope_pairs"])
        while _count(con, _LEAD_KEYS["spread_labels"]):
            pass
        con.execute(_LEAD_KEYS["scope_grow"])
    con.execute(_LEAD_KEYS["scope_keep"])
    return True


def _insert(con: DuckDBPyConnection, table: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    if not rows:
        return
    con.register("_rows", arrow_table(rows, schema))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
    finally:
        unregister(con, "_rows")


def sync_config_tables(con: DuckDBPyConnection, workspace: Workspace) -> None:
    """Copy the points of sale and portals of the config into tables, for SQL and reports."""
    from ..config.catalogue import merged_portals
    con.execute("DELETE FROM points_of_sale")
    con.execute("DELETE FROM portals")
    rows = [(p.id, p.name, p.group, i) for i, p in enumerate(workspace.points_of_sale)]
    if rows:
        con.executemany("INSERT INTO points_of_sale VALUES (?, ?, ?, ?)", rows)
    catalogue = merged_portals(workspace.portals)
    portals = [(p.id, p.name, p.kind, i) for i, p in enumerate(catalogue)]
    con.executemany("INSERT INTO portals VALUES (?, ?, ?, ?)", portals)
    con.execute("DELETE FROM addresses")
    # address -> (point of sale, kind, portal)
    addresses: dict[str, tuple[str | None, str, str | None]] = {}
    for pos in workspace.points_of_sale:
        for address in pos.mailboxes:
            addresses[address] = (pos.id, "mailbox", None)
        for address in pos.tracked_addresses:
            addresses[address] = (pos.id, "tracked", None)
    for entry in workspace.tracked_addresses:
        addresses[entry.address] = (entry.point_of_sale, "distribution" if entry.distribution else "tracked",
                                    entry.portal)
    # the portals' own sending addresses the catalogue names exactly: a portal's, not a person's
    # (readable in exports and reports, never erased as personal data)
    for portal in catalogue:
        for rule in portal.senders + portal.lead_senders + portal.newsletters + portal.alerts:
            if not rule.startswith("@"):
                addresses.setdefault(rule, (None, "portal", portal.id))
    if addresses:
        con.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?)",
                        [(a, *meaning) for a, meaning in addresses.items()])
