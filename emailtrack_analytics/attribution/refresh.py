"""Keeps the ``attribution`` tables in step with the stored messages and the current config.

Attribution is materialised (reports must be fast) but never stale: it records the
fingerprint of everything it depends on (config, catalogue, distribution log, code version),
and any command that reads results first calls ``refresh_attribution``, which re-attributes
only what is missing, or everything when the fingerprint changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..config.workspace import Workspace
from ..store.db import arrow_batches, transaction, utcnow
from ..store.writer import arrow_table
from .engine import Attributor, attribution_fingerprint, sender_matches
from .identity import lead_time

_COLUMNS = ["message_key", "message_id", "received_at", "sender", "sender_name", "subject", "copy_sender", "copy_subject",
            "to_addrs", "cc_addrs", "original_to", "original_cc", "envelope_to", "forwarded_to",
            "resent_to", "original_message_id", "in_reply_to", "reference_ids", "list_unsubscribe",
            "precedence", "auto_submitted", "autoreply", "spam_flag", "forward_kind", "role_hint", "has_contact",
            "reply_to_domains", "return_path_domain", "sender_header_domain", "dkim_domains", "list_id",
            "link_hosts", "date_source", "date_zone"]
# the body is read for its wording (a lead's template, a notice's), its beginning is enough:
# 20,000 attributed copies at a time must stay a few megabytes
_BODY = "left({}body_text, 3000) AS body_text"

_ATTRIBUTION_SCHEMA = pa.schema([
    ("message_key", pa.string()), ("point_of_sale", pa.string()), ("portal", pa.string()),
    ("channel", pa.string()), ("category", pa.string()), ("role", pa.string()),
    ("lead_key", pa.string()), ("month", pa.string()), ("local_date", pa.date32()),
    ("local_hour", pa.int32()), ("weekday", pa.int32()), ("flags", pa.list_(pa.string()))])
_TARGET_SCHEMA = pa.schema([("message_key", pa.string()), ("point_of_sale", pa.string())])


@dataclass
class RefreshResult:
    attributed: int
    full: bool
    fingerprint: str


def distribution_targets(con, workspace: Workspace) -> dict[str, list[str]]:
    """Message-ID -> points of sale the distribution log says it was dispatched to."""
    owners: dict[str, str] = {}
    for pos in workspace.points_of_sale:
        for address in pos.mailboxes + pos.tracked_addresses:
            owners[address] = pos.id
    for entry in workspace.tracked_addresses:
        if entry.point_of_sale:
            owners[entry.address] = entry.point_of_sale
    targets: dict[str, list[str]] = {}
    rows = con.execute("SELECT message_id, delivered_to FROM distribution_log "
                       "WHERE message_id IS NOT NULL ORDER BY received_at, delivered_to").fetchall()
    for message_id, delivered_to in rows:
        pos = owners.get(delivered_to)
        if pos and pos not in targets.setdefault(message_id, []):
            targets[message_id].append(pos)
    return targets


# Raise when a change to what turns attributed copies into stored results (this module, the lead
# SQL of attribution/sql/020_leads.sql) can change them: every workspace recomputes them once
# (tests/attribution/test_versions.py asks the question whenever these files change).
LEADS_VERSION = 7
REFRESH_CODE = f"leads-{LEADS_VERSION}"


def refresh_fingerprint(con, workspace: Workspace) -> str:
    """Everything stored results depend on besides the copies themselves: configuration,
    catalogue, code, and the distribution log (by a digest of its row keys)."""
    digest = con.execute("SELECT count(*), coalesce(bit_xor(hash(row_key)), 0) FROM distribution_log").fetchone()
    return attribution_fingerprint(workspace, tuple(digest)) + REFRESH_CODE[:8]


def _state(con, workspace: Workspace) -> tuple[str, bool, bool, int, int]:
    """(fingerprint, whether everything must be re-attributed, whether anything must be done,
    stored copies, log rows): read-only queries, cheap."""
    fingerprint = refresh_fingerprint(con, workspace)
    state = con.execute("SELECT fingerprint, log_rows FROM attribution_state").fetchone()
    stored = con.execute("SELECT count(*) FROM stored_messages").fetchone()[0]
    attributed = con.execute("SELECT count(*) FROM attribution").fetchone()[0]
    log_rows = con.execute("SELECT count(*) FROM log_events").fetchone()[0]
    full = state is None or state[0] != fingerprint
    return fingerprint, full, full or attributed != stored or state[1] != log_rows, stored, log_rows


def is_stale(con, workspace: Workspace) -> bool:
    """Whether stored results lag behind the copies, the logs or the configuration (a
    read-only connection can ask)."""
    return _state(con, workspace)[2]


def refresh_attribution(con, workspace: Workspace, *, force: bool = False, batch: int = 20_000) -> RefreshResult:
    # cheap checks first: every command calls this, and usually nothing has changed
    fingerprint, full, stale, stored, log_rows = _state(con, workspace)
    full = full or force
    if not full and not stale:
        return RefreshResult(0, False, fingerprint)
    attributor = Attributor(workspace, distribution_targets(con, workspace))

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
    if full:
        query = f"SELECT {', '.join(_COLUMNS)}, {_BODY.format('')} FROM stored_messages"
    else:
        query = (f"SELECT {', '.join('m.' + c for c in _COLUMNS)}, {_BODY.format('m.')} FROM stored_messages m "
                 "ANTI JOIN attribution a USING (message_key)")
    # read through a second cursor so that each batch is written as soon as it is attributed
    reader = arrow_batches(con.cursor(), query, batch)
    count = 0
    for record_batch in reader:
        rows, targets = [], []
        for row in record_batch.to_pylist():
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
        count += len(rows)
    with transaction(con):
        mark_follow_ups(con)
    with transaction(con):
        _assign_lead_keys(con, workspace.timezone)
    with transaction(con):
        sync_config_tables(con, workspace)
        store_leads(con)
    classify_log_deliveries(con, attributor)  # in steps of its own
    with transaction(con):
        con.execute("INSERT INTO attribution_state VALUES (?, ?, ?, ?)", [fingerprint, utcnow(), stored, log_rows])
    return RefreshResult(count, full, fingerprint)


# Lead copies grouped in one statement: the grouping holds them in DuckDB's bounded buffer pool,
# so a large workspace is grouped a few months at a time (a lead spans months; each batch
# groups every copy of the leads it holds and keeps the leads whose month is in the batch).
LEAD_BATCH_COPIES = 200_000


def store_leads(con, batch_copies: int = LEAD_BATCH_COPIES) -> int:
    """Materialise the ``leads`` view (``lead_rows``) from the copies as they now stand."""
    con.execute("DELETE FROM lead_rows")
    for months in lead_month_batches(con, batch_copies):
        con.execute("INSERT INTO lead_rows BY NAME SELECT * FROM leads_grouped_in(?::VARCHAR[])", [months])
    return con.execute("SELECT count(*) FROM lead_rows").fetchone()[0]


def lead_month_batches(con, batch_copies: int) -> list[list[str]]:
    """Consecutive months in lists holding about ``batch_copies`` lead copies each."""
    batches, current, held = [], [], 0
    for month, copies in con.execute(
            "SELECT month, count(*) FROM attribution WHERE category = 'lead' AND role = 'tracking' "
            "AND lead_key IS NOT NULL AND month IS NOT NULL GROUP BY month ORDER BY month").fetchall():
        if current and held + copies > batch_copies:
            batches.append(current)
            current, held = [], 0
        current.append(month)
        held += copies
    if current:
        batches.append(current)
    return batches


def mark_follow_ups(con) -> int:
    """Replies that reference a stored lead (In-Reply-To / References) are follow-ups, not
    'other', whatever their subject says. Returns how many were changed.

    The references of the few 'other' copies that have any are collected first; only the
    lead copies carrying one of them are looked for (no table of every lead's Message-ID)."""
    changed = con.execute("""
        WITH refs AS (
            SELECT DISTINCT m.message_key, r.id
            FROM stored_messages m
            JOIN attribution a USING (message_key)
            CROSS JOIN LATERAL (SELECT unnest(list_append(coalesce(m.reference_ids, []), m.in_reply_to)) AS id) r
            WHERE a.category = 'other' AND (m.in_reply_to IS NOT NULL OR len(m.reference_ids) > 0)
              AND r.id IS NOT NULL
        ),
        lead_ids AS (
            SELECT DISTINCT coalesce(m.original_message_id, m.message_id) AS id
            FROM stored_messages m JOIN attribution a USING (message_key)
            WHERE a.category = 'lead' AND coalesce(m.original_message_id, m.message_id) IN (SELECT id FROM refs)
        )
        UPDATE attribution SET category = 'follow_up'
        WHERE message_key IN (SELECT message_key FROM refs WHERE id IN (SELECT id FROM lead_ids))
    """).fetchone()
    return changed[0] if changed else 0


_LOG_LEAD_SCHEMA = pa.schema([
    ("row_key", pa.string()), ("point_of_sale", pa.string()), ("month", pa.string()),
    ("event_time", pa.timestamp("us")), ("message_id", pa.string()), ("lead_key", pa.string()),
    ("portal", pa.string()), ("is_lead", pa.bool_()), ("assumed", pa.bool_())])


MATCH_SECONDS = 180  # a forward's header gives the lead's time to the minute


def classify_log_deliveries(con, attributor: Attributor, batch: int = 20_000) -> int:
    """Which deliveries to a point of sale's own mailbox (in mail logs) were leads, and which lead.

    A delivery is matched to a stored copy by Message-ID; failing that (a mail client's forward
    has a new Message-ID), to a tracking copy for the same point of sale from the same portal
    (or sender) within three minutes, each the other's nearest. A matched delivery takes the
    copy's category and lead key. Otherwise the sender (and the subject, when the log has one)
    goes through the portal rules: without a subject (Postfix), a portal sender counts as a lead
    unless it is a marketing or alert sender, or the portal's leads are known to come from other
    senders (``lead_senders``); a portal subject matching no template counts as a lead
    (``assumed``), as format drift does. The matching runs in the database (bounded memory).
    """
    senders = [row[0] for row in con.execute(
        "SELECT DISTINCT e.sender FROM log_events e JOIN addresses a ON a.address = e.recipient "
        "WHERE a.kind = 'mailbox' AND e.status = 'sent' AND e.sender IS NOT NULL").fetchall()]
    portals = {sender: attributor.portal_for(sender, "") for sender in senders}
    con.register("_sender_portals", arrow_table(
        [{"sender": k, "portal": v.portal.id if v else None} for k, v in portals.items()],
        pa.schema([("sender", pa.string()), ("portal", pa.string())])))
    # a scratch table in the database file (committed, so DuckDB can page it out), then pages
    # of it judged and written, each page committed: called with no transaction open
    try:
        with transaction(con):
            con.execute(f"""
                CREATE OR REPLACE TABLE _deliveries AS
                WITH deliveries AS (
                    SELECT e.row_key, a.point_of_sale, e.event_time, e.message_id, e.sender, e.subject, sp.portal
                    FROM log_events e
                    JOIN addresses a ON a.address = e.recipient
                    LEFT JOIN _sender_portals sp ON sp.sender = e.sender
                    WHERE a.kind = 'mailbox' AND e.status = 'sent'
                ),
                known AS (
                    SELECT coalesce(m.original_message_id, m.message_id) AS message_id,
                           bool_or(a.category = 'lead') AS is_lead,
                           any_value(a.lead_key) FILTER (WHERE a.category = 'lead') AS lead_key,
                           coalesce(any_value(a.portal) FILTER (WHERE a.category = 'lead'),
                                    any_value(a.portal)) AS portal
                    FROM stored_messages m JOIN attribution a USING (message_key)
                    WHERE coalesce(m.original_message_id, m.message_id) IN (SELECT message_id FROM deliveries)
                    GROUP BY 1
                ),
                by_id AS (
                    SELECT d.*, k.is_lead AS known_lead, k.lead_key AS known_key, k.portal AS known_portal
                    FROM deliveries d LEFT JOIN known k USING (message_id)
                ),
                copies AS (
                    SELECT coalesce(t.point_of_sale, a.point_of_sale) AS point_of_sale, m.message_key, m.received_at,
                           a.portal, m.sender, a.lead_key, a.category
                    FROM attribution a JOIN stored_messages m USING (message_key)
                    LEFT JOIN attribution_targets t USING (message_key)
                    WHERE a.role = 'tracking' AND coalesce(t.point_of_sale, a.point_of_sale) IS NOT NULL
                ),
                pairs AS (
                    SELECT d.row_key, c.message_key, c.lead_key, c.category, c.portal AS copy_portal,
                           abs(epoch(c.received_at) - epoch(d.event_time)) AS gap
                    FROM by_id d JOIN copies c
                      ON c.point_of_sale = d.point_of_sale
                     AND c.received_at BETWEEN d.event_time - INTERVAL {MATCH_SECONDS} SECOND
                                           AND d.event_time + INTERVAL {MATCH_SECONDS} SECOND
                     AND (c.portal = d.portal OR c.sender = d.sender)
                    WHERE d.known_lead IS NULL
                ),
                nearest AS (
                    SELECT *, row_number() OVER (PARTITION BY row_key ORDER BY gap, message_key) AS for_delivery,
                              row_number() OVER (PARTITION BY message_key ORDER BY gap, row_key) AS for_copy
                    FROM pairs
                )
                SELECT d.row_key, d.point_of_sale, d.event_time, d.message_id, d.sender, d.subject,
                       coalesce(d.known_portal, n.copy_portal, d.portal) AS portal,
                       CASE WHEN d.known_lead IS NOT NULL THEN d.known_lead WHEN n.row_key IS NOT NULL
                            THEN n.category = 'lead' END AS is_lead,
                       coalesce(d.known_key, CASE WHEN n.category = 'lead' THEN n.lead_key END) AS lead_key
                FROM by_id d
                LEFT JOIN (SELECT * FROM nearest WHERE for_delivery = 1 AND for_copy = 1) n USING (row_key)
            """)
    finally:
        con.unregister("_sender_portals")
    # what nothing matched is judged by the portal rules, page by page (by key: the same
    # connection writes between them)
    with transaction(con):
        con.execute("DELETE FROM log_leads")
    rows, last = 0, ""
    while True:
        page = con.execute("SELECT * FROM _deliveries WHERE row_key > ? ORDER BY row_key LIMIT ?", [last, batch])
        columns = [d[0] for d in page.description]
        deliveries = [dict(zip(columns, values)) for values in page.fetchall()]
        if not deliveries:
            break
        last = deliveries[-1]["row_key"]
        with transaction(con):
            _insert(con, "log_leads", [_log_lead(attributor, row) for row in deliveries], _LOG_LEAD_SCHEMA)
        rows += len(deliveries)
    con.execute("DROP TABLE _deliveries")
    return rows


def _log_lead(attributor: Attributor, row: dict) -> dict:
    is_lead, assumed = row["is_lead"], False
    if is_lead is None:
        compiled = attributor.portal_for(row["sender"], row["subject"] or "")
        assumed = compiled is not None
        is_lead = assumed and _looks_like_lead(attributor, compiled, row["sender"], row["subject"])
    return {"row_key": row["row_key"], "point_of_sale": row["point_of_sale"],
            "month": attributor.local_time(row["event_time"])[0], "event_time": row["event_time"],
            "message_id": row["message_id"], "lead_key": row["lead_key"], "portal": row["portal"],
            "is_lead": bool(is_lead), "assumed": assumed}


def _looks_like_lead(attributor: Attributor, compiled, sender: str | None, subject: str | None) -> bool:
    marketing = compiled.newsletters + compiled.alerts
    if any(sender_matches(sender or "", rule) for rule in marketing):
        return False
    if subject is None:
        lead_senders = compiled.portal.lead_senders
        return not lead_senders or any(sender_matches(sender or "", rule) for rule in lead_senders)
    flags: list[str] = []
    category = attributor.category_for({"sender": sender, "subject": subject}, compiled, flags)
    return category == "lead" or (category == "other" and "unrecognised_template" in flags)


# The references a lead copy is grouped by, one row per (copy, content reference): the
# ``lead_references(tz)`` macro of attribution/sql/020_leads.sql, read in the workspace's time zone.
_LEAD_REFS = "SELECT * FROM lead_references(?)"


def _assign_lead_keys(con, timezone: str = "UTC") -> None:
    """Lead keys computed in the database (``identity.lead_keys`` is the same in Python, for
    reading; a test holds them to the same keys).

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
    copies whose key changes are written.
    """
    # the content references of copies with a Message-ID, and the groups of those without
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _anchored AS
        SELECT DISTINCT hash(fp_ref) AS fp_ref, hash(id_ref) AS id_ref
        FROM ({_LEAD_REFS}) WHERE starts_with(id_ref, 'id:')
    """, [timezone])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _lead_pairs AS
        SELECT DISTINCT hash(id_ref) AS id_ref, hash(fp_ref) AS fp_ref, least(hash(id_ref), hash(fp_ref)) AS label
        FROM ({_LEAD_REFS}) WHERE NOT starts_with(id_ref, 'id:')
    """, [timezone])
    while True:
        changed = con.execute("""
            WITH by_id AS (SELECT id_ref, min(label) AS label FROM _lead_pairs GROUP BY id_ref),
                 by_fp AS (SELECT fp_ref, min(label) AS label FROM _lead_pairs GROUP BY fp_ref),
                 spread AS (
                     SELECT p.id_ref, p.fp_ref, least(i.label, f.label) AS label
                     FROM _lead_pairs AS p
                     JOIN by_id AS i USING (id_ref)
                     JOIN by_fp AS f USING (fp_ref)
                 )
            UPDATE _lead_pairs SET label = spread.label FROM spread
            WHERE _lead_pairs.id_ref = spread.id_ref AND _lead_pairs.fp_ref = spread.fp_ref
              AND spread.label < _lead_pairs.label
        """).fetchone()[0]
        if not changed:
            break
    # each group of copies without a Message-ID: the Message-IDs sharing references with it,
    # unless they name another prospect (an email, phone or name of the prospect on both sides,
    # none in common: a common preamble or footer matched, not the lead)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _joined AS
        SELECT g.label, a.id_ref, count(*) AS shared
        FROM (SELECT DISTINCT label, fp_ref FROM _lead_pairs) AS g
        JOIN _anchored AS a USING (fp_ref)
        GROUP BY ALL
    """)
    con.execute("""
        DELETE FROM _joined WHERE (label, id_ref) IN (
            WITH lead_marks AS (
                SELECT m.message_key, coalesce('id:' || m.original_message_id, 'mk:' || m.message_key) AS reference,
                       unnest(m.identity_marks) AS mark
                FROM stored_messages AS m JOIN attribution AS a USING (message_key)
                WHERE a.category = 'lead' AND len(m.identity_marks) > 0
            ),
            who AS (SELECT * FROM lead_marks WHERE split_part(mark, ':', 1) IN ('email', 'phone', 'name')),
            free_who AS (
                SELECT p.label, split_part(w.mark, ':', 1) AS kind, list(DISTINCT w.mark) AS marks
                FROM who AS w JOIN (SELECT DISTINCT id_ref, label FROM _lead_pairs) AS p ON p.id_ref = hash(w.reference)
                WHERE p.label IN (SELECT label FROM _joined)
                GROUP BY ALL
            ),
            anchored_who AS (
                SELECT hash(reference) AS id_ref, split_part(mark, ':', 1) AS kind, list(DISTINCT mark) AS marks
                FROM who WHERE starts_with(reference, 'id:') AND hash(reference) IN (SELECT id_ref FROM _joined)
                GROUP BY ALL
            )
            SELECT j.label, j.id_ref
            FROM _joined AS j
            JOIN free_who AS f USING (label)
            JOIN anchored_who AS w ON w.id_ref = j.id_ref AND w.kind = f.kind
            WHERE NOT list_has_any(f.marks, w.marks)
        )
    """)
    con.execute("UPDATE attribution SET lead_key = NULL WHERE lead_key IS NOT NULL AND category <> 'lead'")
    con.execute(f"""
        UPDATE attribution SET lead_key = keyed.lead_key
        FROM (
            WITH refs AS (SELECT message_key, id_ref, fp_ref FROM ({_LEAD_REFS})),
            free AS (
                SELECT r.message_key, r.id_ref, r.fp_ref, p.label
                FROM refs AS r
                JOIN _lead_pairs AS p ON p.id_ref = hash(r.id_ref) AND p.fp_ref = hash(r.fp_ref)
                WHERE NOT starts_with(r.id_ref, 'id:')
            ),
            names AS (  -- the Message-ID references voted for, by hash
                SELECT DISTINCT hash(id_ref) AS hashed, id_ref FROM refs
                WHERE starts_with(id_ref, 'id:') AND hash(id_ref) IN (SELECT id_ref FROM _joined)
            ),
            best AS (
                SELECT j.label, n.id_ref
                FROM _joined AS j JOIN names AS n ON n.hashed = j.id_ref
                QUALIFY row_number() OVER (PARTITION BY j.label ORDER BY j.shared DESC, n.id_ref) = 1
            ),
            groups AS (
                SELECT f.label, coalesce(any_value(b.id_ref), least(min(f.id_ref), min(f.fp_ref))) AS reference
                FROM free AS f LEFT JOIN best AS b USING (label)
                GROUP BY f.label
            )
            SELECT DISTINCT message_key, substr(sha256(id_ref), 1, 16) AS lead_key
            FROM refs WHERE starts_with(id_ref, 'id:')
            UNION ALL
            SELECT DISTINCT f.message_key, substr(sha256(g.reference), 1, 16) AS lead_key
            FROM free AS f JOIN groups AS g USING (label)
        ) AS keyed
        WHERE attribution.message_key = keyed.message_key
          AND attribution.lead_key IS DISTINCT FROM keyed.lead_key
    """, [timezone])
    for table in ("_lead_pairs", "_anchored", "_joined"):
        con.execute(f"DROP TABLE {table}")


def _insert(con, table: str, rows: list[dict], schema: pa.Schema) -> None:
    if not rows:
        return
    con.register("_rows", arrow_table(rows, schema))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
    finally:
        con.unregister("_rows")


def sync_config_tables(con, workspace: Workspace) -> None:
    """Copy the points of sale and portals of the config into tables, for SQL and reports."""
    from .catalogue import merged_portals
    con.execute("DELETE FROM points_of_sale")
    con.execute("DELETE FROM portals")
    rows = [(p.id, p.name, p.group, i) for i, p in enumerate(workspace.points_of_sale)]
    if rows:
        con.executemany("INSERT INTO points_of_sale VALUES (?, ?, ?, ?)", rows)
    catalogue = merged_portals(workspace.portals)
    portals = [(p.id, p.name, p.kind, i) for i, p in enumerate(catalogue)]
    con.executemany("INSERT INTO portals VALUES (?, ?, ?, ?)", portals)
    con.execute("DELETE FROM addresses")
    addresses = {}
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
