"""Keeps the ``attribution`` tables in step with the stored messages and the current config.

Attribution is materialised (reports must be fast) but never stale: it records the
fingerprint of everything it depends on (config, catalogue, distribution log, code version),
and any command that reads results first calls ``refresh_attribution``, which re-attributes
only what is missing, or everything when the fingerprint changed.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from .attribution.engine import Attributor, attribution_fingerprint, sender_matches
from .attribution.identity import lead_keys
from .store.db import arrow_batches, utcnow
from .store.writer import arrow_table
from .workspace import Workspace

_COLUMNS = ["message_key", "message_id", "received_at", "sender", "sender_name", "subject", "copy_sender", "copy_subject",
            "to_addrs", "cc_addrs", "original_to", "original_cc", "envelope_to", "forwarded_to",
            "resent_to", "original_message_id", "in_reply_to", "reference_ids", "list_unsubscribe",
            "precedence", "auto_submitted", "autoreply", "spam_flag", "forward_kind", "role_hint", "has_contact"]

_ATTRIBUTION_SCHEMA = pa.schema([
    ("message_key", pa.string()), ("point_of_sale", pa.string()), ("portal", pa.string()),
    ("channel", pa.string()), ("category", pa.string()), ("role", pa.string()),
    ("lead_key", pa.string()), ("month", pa.string()), ("local_date", pa.date32()),
    ("local_hour", pa.int32()), ("weekday", pa.int32()), ("flags", pa.list_(pa.string()))])
_TARGET_SCHEMA = pa.schema([("message_key", pa.string()), ("point_of_sale", pa.string())])
_KEY_SCHEMA = pa.schema([("message_key", pa.string()), ("lead_key", pa.string())])


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


def refresh_attribution(con, workspace: Workspace, *, force: bool = False, batch: int = 20_000) -> RefreshResult:
    # cheap checks first: every command calls this, and usually nothing has changed
    digest = con.execute("SELECT count(*), coalesce(bit_xor(hash(row_key)), 0) FROM distribution_log").fetchone()
    fingerprint = attribution_fingerprint(workspace, tuple(digest))
    state = con.execute("SELECT fingerprint, log_rows FROM attribution_state").fetchone()
    stored = con.execute("SELECT count(*) FROM stored_messages").fetchone()[0]
    attributed = con.execute("SELECT count(*) FROM attribution").fetchone()[0]
    log_rows = con.execute("SELECT count(*) FROM log_events").fetchone()[0]
    full = force or state is None or state[0] != fingerprint
    if not full and attributed == stored and state[1] == log_rows:
        return RefreshResult(0, False, fingerprint)
    attributor = Attributor(workspace, distribution_targets(con, workspace))

    con.execute("BEGIN TRANSACTION")
    try:
        if full:
            con.execute("DELETE FROM attribution")
            con.execute("DELETE FROM attribution_targets")
            query = f"SELECT {', '.join(_COLUMNS)} FROM stored_messages"
        else:
            query = (f"SELECT {', '.join('m.' + c for c in _COLUMNS)} FROM stored_messages m "
                     "ANTI JOIN attribution a USING (message_key)")
        # read through a second cursor so that each batch is written as soon as it is attributed
        reader = arrow_batches(con.cursor(), query, batch)
        count = 0
        for record_batch in reader:
            rows, targets = [], []
            for row in record_batch.to_pylist():
                result = attributor.attribute(row)
                month, day, hour, weekday = attributor.local_time(row["received_at"])
                rows.append({"message_key": row["message_key"], "point_of_sale": result.point_of_sale,
                             "portal": result.portal, "channel": result.channel,
                             "category": result.category, "role": result.role, "lead_key": None,
                             "month": month, "local_date": day, "local_hour": hour,
                             "weekday": weekday, "flags": result.flags})
                targets += [{"message_key": row["message_key"], "point_of_sale": t} for t in result.targets]
            _insert(con, "attribution", rows, _ATTRIBUTION_SCHEMA)
            _insert(con, "attribution_targets", targets, _TARGET_SCHEMA)
            count += len(rows)
        mark_follow_ups(con)
        _assign_lead_keys(con)
        sync_config_tables(con, workspace)
        classify_log_deliveries(con, attributor)
        con.execute("DELETE FROM attribution_state")
        con.execute("INSERT INTO attribution_state VALUES (?, ?, ?, ?)", [fingerprint, utcnow(), stored, log_rows])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return RefreshResult(count, full, fingerprint)


def mark_follow_ups(con) -> int:
    """Replies that reference a stored lead (In-Reply-To / References) are follow-ups, not
    'other', whatever their subject says. Returns how many were changed."""
    changed = con.execute("""
        WITH lead_ids AS (
            SELECT coalesce(m.original_message_id, m.message_id) AS id
            FROM stored_messages m JOIN attribution a USING (message_key)
            WHERE a.category = 'lead' AND coalesce(m.original_message_id, m.message_id) IS NOT NULL
        ),
        replies AS (
            SELECT DISTINCT m.message_key
            FROM stored_messages m
            JOIN attribution a USING (message_key)
            CROSS JOIN LATERAL (SELECT unnest(list_append(coalesce(m.reference_ids, []), m.in_reply_to)) AS id) r
            WHERE a.category = 'other' AND r.id IN (SELECT id FROM lead_ids)
        )
        UPDATE attribution SET category = 'follow_up'
        WHERE message_key IN (SELECT message_key FROM replies)
    """).fetchone()
    return changed[0] if changed else 0


_LOG_LEAD_SCHEMA = pa.schema([
    ("row_key", pa.string()), ("point_of_sale", pa.string()), ("month", pa.string()),
    ("event_time", pa.timestamp("us")), ("message_id", pa.string()), ("lead_key", pa.string()),
    ("portal", pa.string()), ("is_lead", pa.bool_()), ("assumed", pa.bool_())])


MATCH_WINDOW = dt.timedelta(minutes=3)   # a forward's header gives the lead's time to the minute


def classify_log_deliveries(con, attributor: Attributor) -> int:
    """Which deliveries to a point of sale's own mailbox (in mail logs) were leads, and which lead.

    A delivery is matched to a stored tracking copy by Message-ID; failing that (a mail client's
    forward has a new Message-ID), to a copy for the same point of sale from the same portal (or
    sender) within three minutes. A matched delivery takes the copy's category and lead key.
    Otherwise the sender (and the subject, when the log has one) goes through the portal rules:
    without a subject (Postfix), a portal sender counts as a lead unless it is a marketing or
    alert sender, or the portal's leads are known to come from other senders (``lead_senders``);
    a portal subject matching no template counts as a lead (``assumed``), as format drift does.
    """
    known = {}
    for message_id, lead_key, category, portal in con.execute(
            "SELECT coalesce(m.original_message_id, m.message_id), a.lead_key, a.category, a.portal "
            "FROM stored_messages m JOIN attribution a USING (message_key) "
            "WHERE coalesce(m.original_message_id, m.message_id) IS NOT NULL "
            "ORDER BY a.category = 'lead'").fetchall():
        known[message_id] = (lead_key, category, portal)  # a lead copy wins (ordered last)
    copies = _copies_by_point_of_sale(con)
    taken: set[int] = set()
    deliveries = con.execute(
        "SELECT e.row_key, a.point_of_sale, e.event_time, e.message_id, e.sender, e.subject "
        "FROM log_events e JOIN addresses a ON a.address = e.recipient "
        "WHERE a.kind = 'mailbox' AND e.status = 'sent' ORDER BY e.event_time").fetchall()
    rows = []
    for row_key, pos, when, message_id, sender, subject in deliveries:
        row = {"row_key": row_key, "point_of_sale": pos, "month": attributor.local_time(when)[0],
               "event_time": when, "message_id": message_id, "lead_key": None, "portal": None,
               "is_lead": False, "assumed": False}
        compiled = attributor.portal_for(sender, subject or "")
        portal = compiled.portal.id if compiled else None
        match = known.get(message_id) if message_id else None
        if match is None:
            match = _nearest_copy(copies.get(pos, []), when, portal, sender, taken)
        if match is not None:
            lead_key, category, portal = match
            row.update(lead_key=lead_key, portal=portal, is_lead=category == "lead")
        elif compiled is not None:
            row.update(portal=portal, assumed=True, is_lead=_looks_like_lead(attributor, compiled, sender, subject))
        rows.append(row)
    con.execute("DELETE FROM log_leads")
    _insert(con, "log_leads", rows, _LOG_LEAD_SCHEMA)
    return len(rows)


def _copies_by_point_of_sale(con) -> dict[str, list]:
    """Tracking copies per point of sale they count for: (time, portal, sender, lead key, category)."""
    found: dict[str, list] = {}
    for pos, when, portal, sender, lead_key, category in con.execute(
            "SELECT coalesce(t.point_of_sale, a.point_of_sale), m.received_at, a.portal, m.sender, a.lead_key, "
            "a.category FROM attribution a JOIN stored_messages m USING (message_key) "
            "LEFT JOIN attribution_targets t USING (message_key) "
            "WHERE a.role = 'tracking' AND coalesce(t.point_of_sale, a.point_of_sale) IS NOT NULL "
            "ORDER BY m.received_at").fetchall():
        found.setdefault(pos, []).append((when, portal, sender, lead_key, category))
    return found


def _nearest_copy(copies: list, when, portal, sender, taken: set[int]):
    """The closest copy in time (within MATCH_WINDOW) from the same portal, else the same
    sender, not matched to another delivery yet."""
    best, best_gap = None, MATCH_WINDOW
    low = bisect.bisect_left(copies, when - MATCH_WINDOW, key=lambda c: c[0])
    for index in range(low, len(copies)):
        copy_time, copy_portal, copy_sender, lead_key, category = copies[index]
        gap = abs(copy_time - when)
        if copy_time > when + MATCH_WINDOW:
            break
        same_source = (portal is not None and copy_portal == portal) or (sender and copy_sender == sender)
        if same_source and gap <= best_gap and id(copies[index]) not in taken:
            best, best_gap = copies[index], gap
    if best is None:
        return None
    taken.add(id(best))
    return best[3], best[4], best[1]


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


def _assign_lead_keys(con) -> None:
    copies = con.execute(
        "SELECT m.message_key, m.original_message_id, m.content_fingerprint "
        "FROM stored_messages m JOIN attribution a USING (message_key) WHERE a.category = 'lead'"
    ).fetchall()
    keys = lead_keys(copies)
    con.execute("UPDATE attribution SET lead_key = NULL WHERE lead_key IS NOT NULL")
    if not keys:
        return
    table = pa.Table.from_pydict({"message_key": list(keys), "lead_key": list(keys.values())},
                                 schema=_KEY_SCHEMA)
    con.register("_lead_keys", table)
    try:
        con.execute("UPDATE attribution SET lead_key = k.lead_key FROM _lead_keys k "
                    "WHERE attribution.message_key = k.message_key")
    finally:
        con.unregister("_lead_keys")


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
    from .attribution.catalogue import merged_portals
    con.execute("DELETE FROM points_of_sale")
    con.execute("DELETE FROM portals")
    rows = [(p.id, p.name, p.group, i) for i, p in enumerate(workspace.points_of_sale)]
    if rows:
        con.executemany("INSERT INTO points_of_sale VALUES (?, ?, ?, ?)", rows)
    portals = [(p.id, p.name, p.kind, i) for i, p in enumerate(merged_portals(workspace.portals))]
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
    if addresses:
        con.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?)",
                        [(a, *meaning) for a, meaning in addresses.items()])
