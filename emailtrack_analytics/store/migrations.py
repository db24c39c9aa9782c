"""Named schema migrations, applied in order and recorded in ``schema_migrations``.

Never edit a migration that has shipped: add a new one. Timestamps are stored as naive UTC
``TIMESTAMP`` values so that no session time zone can shift them.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    ("0001_initial", """
CREATE TABLE stored_messages (
    message_key VARCHAR PRIMARY KEY,
    message_id VARCHAR,
    received_at TIMESTAMP NOT NULL,
    date_source VARCHAR,
    copy_at TIMESTAMP,
    sender VARCHAR,
    sender_name VARCHAR,
    subject VARCHAR,
    copy_sender VARCHAR,
    copy_subject VARCHAR,
    to_addrs VARCHAR[],
    cc_addrs VARCHAR[],
    original_to VARCHAR[],
    original_cc VARCHAR[],
    envelope_to VARCHAR[],
    forwarded_to VARCHAR[],
    resent_to VARCHAR[],
    resent_from VARCHAR,
    original_message_id VARCHAR,
    in_reply_to VARCHAR,
    reference_ids VARCHAR[],
    list_unsubscribe BOOLEAN,
    precedence VARCHAR,
    auto_submitted VARCHAR,
    autoreply BOOLEAN,
    spam_flag BOOLEAN,
    forward_kind VARCHAR,
    forward_depth INTEGER,
    body_text VARCHAR,
    body_is_html BOOLEAN,
    body_fingerprint VARCHAR,
    content_fingerprint VARCHAR,
    has_contact BOOLEAN,
    size INTEGER,
    defects VARCHAR[],
    parser_version INTEGER,
    role_hint VARCHAR,
    from_line VARCHAR,
    first_source VARCHAR,
    first_seen_at TIMESTAMP
);
-- personal data of prospects, apart so that it can be purged or pseudonymised
CREATE TABLE lead_details (
    message_key VARCHAR PRIMARY KEY,
    name VARCHAR,
    email VARCHAR,
    email_is_relay BOOLEAN,
    phone VARCHAR,
    listing_reference VARCHAR,
    message_length INTEGER
);
CREATE TABLE raw_messages (
    message_key VARCHAR PRIMARY KEY,
    raw_zlib BLOB
);
CREATE TABLE sightings (
    source VARCHAR,
    message_key VARCHAR,
    seen_at TIMESTAMP,
    PRIMARY KEY (source, message_key)
);
CREATE TABLE ingested_files (
    path VARCHAR PRIMARY KEY,
    kind VARCHAR,
    role VARCHAR,
    size BIGINT,
    mtime_ns BIGINT,
    items INTEGER,
    new_items INTEGER,
    quarantined INTEGER,
    ingested_at TIMESTAMP
);
CREATE TABLE quarantine_items (
    source VARCHAR,
    file_path VARCHAR,
    reason VARCHAR,
    detail VARCHAR,
    size BIGINT,
    raw_zlib BLOB,
    quarantined_at TIMESTAMP
);
CREATE TABLE distribution_log (
    row_key VARCHAR PRIMARY KEY,
    received_at TIMESTAMP,
    message_id VARCHAR,
    sender VARCHAR,
    subject VARCHAR,
    delivered_to VARCHAR,
    source VARCHAR
);
CREATE TABLE attribution (
    message_key VARCHAR PRIMARY KEY,
    point_of_sale VARCHAR,
    portal VARCHAR,
    channel VARCHAR,
    category VARCHAR,
    role VARCHAR,
    lead_key VARCHAR,
    month VARCHAR,
    local_date DATE,
    local_hour INTEGER,
    weekday INTEGER,
    flags VARCHAR[]
);
CREATE TABLE attribution_targets (
    message_key VARCHAR,
    point_of_sale VARCHAR
);
CREATE TABLE points_of_sale (
    id VARCHAR PRIMARY KEY,
    name VARCHAR,
    "group" VARCHAR,
    position INTEGER
);
CREATE TABLE portals (
    id VARCHAR PRIMARY KEY,
    name VARCHAR,
    kind VARCHAR,
    position INTEGER
);
-- delivery events read from mail logs (Postfix, Microsoft 365, Google Workspace)
CREATE TABLE log_events (
    row_key VARCHAR PRIMARY KEY,
    event_time TIMESTAMP,
    log_kind VARCHAR,
    message_id VARCHAR,
    sender VARCHAR,
    recipient VARCHAR,
    original_recipient VARCHAR,
    status VARCHAR,
    relay VARCHAR,
    queue_id VARCHAR,
    detail VARCHAR,
    subject VARCHAR,
    source VARCHAR
);
-- every address of the configuration and what it stands for (synced with emailtrack.toml)
CREATE TABLE addresses (
    address VARCHAR PRIMARY KEY,
    point_of_sale VARCHAR,
    kind VARCHAR,           -- mailbox | tracked | distribution
    portal VARCHAR
);
-- deliveries to a point of sale's own mailbox seen in mail logs, and whether each was a lead
CREATE TABLE log_leads (
    row_key VARCHAR PRIMARY KEY,
    point_of_sale VARCHAR,
    month VARCHAR,
    event_time TIMESTAMP,
    message_id VARCHAR,
    lead_key VARCHAR,
    portal VARCHAR,
    is_lead BOOLEAN,
    assumed BOOLEAN         -- no stored copy and no subject in the log: a lead by its sender only
);
CREATE TABLE attribution_state (
    fingerprint VARCHAR,
    computed_at TIMESTAMP,
    messages BIGINT,
    log_rows BIGINT
);
"""),
    ("0002_privacy", """
-- the key of the workspace's pseudonyms (analytics/views/005_privacy.sql); created with the database
CREATE TABLE privacy_key (
    key VARCHAR NOT NULL
);
-- people erased with `emailtrack forget`, by pseudonym only, so that a copy ingested later is
-- erased too without keeping the address itself
CREATE TABLE forgotten (
    pseudonym VARCHAR PRIMARY KEY,
    kind VARCHAR,           -- email | phone
    forgotten_at TIMESTAMP
);
-- what forget and purge did, without personal data: when, what, how many rows per table
CREATE TABLE erasures (
    erased_at TIMESTAMP,
    action VARCHAR,         -- forget | purge
    scope VARCHAR,          -- a pseudonym, or 'before YYYY-MM'
    counts VARCHAR          -- JSON: table -> rows erased
);
"""),
    ("0003_lead_rows", """
-- the `leads` view, materialised by every refresh (reports read it many times; computing it
-- groups every lead copy): attribution/sql/020_leads.sql computes it as `leads_computed`
CREATE TABLE lead_rows (
    lead_key VARCHAR,
    received_at TIMESTAMP,
    month VARCHAR,
    portal VARCHAR,
    point_of_sale VARCHAR,
    channel VARCHAR,
    copies BIGINT,
    local_date DATE,
    local_hour INTEGER,
    weekday INTEGER,
    "group" VARCHAR
);
"""),
    ("0004_signals", """
-- what says which portal sent a copy besides its From address (parsing/signals.py); filled
-- when a copy is parsed (stored copies are parsed again once, PARSER_VERSION 9)
ALTER TABLE stored_messages ADD COLUMN reply_to_domains VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN return_path_domain VARCHAR;
ALTER TABLE stored_messages ADD COLUMN sender_header_domain VARCHAR;
ALTER TABLE stored_messages ADD COLUMN dkim_domains VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN list_id VARCHAR;
ALTER TABLE stored_messages ADD COLUMN link_hosts VARCHAR[];
"""),
    ("0005_identity", """
-- what links the copies of one lead whatever their path (attribution/identity.py); filled when a
-- copy is parsed (stored copies are parsed again once, PARSER_VERSION 10)
ALTER TABLE stored_messages ADD COLUMN date_zone VARCHAR;
ALTER TABLE stored_messages ADD COLUMN identity_marks VARCHAR[];
"""),
    ("0006_views_state", """
-- a digest of the view definitions last created (store/db.py ensure_views): a reader opening
-- the file read-only can tell that the views are those of its own version
CREATE TABLE views_state (
    digest VARCHAR
);
"""),
]
