
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
