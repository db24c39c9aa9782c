-- Erasing what identifies a person, run by store/erasure.py (not views). What to erase is marked
-- first in four temporary tables (by ops/sql/privacy.sql for forget and purge, by
-- mark_forgotten for an ingest); then the marked rows lose their personal data and keep their
-- counts. Values are bound parameters: $public is the list of the workspace's own addresses.
-- pseudonym, is_role_address and without_details are macros of analytics/views/005_privacy.sql.

-- name: create_marks
CREATE OR REPLACE TEMP TABLE _erase_messages (message_key VARCHAR PRIMARY KEY);
CREATE OR REPLACE TEMP TABLE _erase_quarantine (id BIGINT PRIMARY KEY);
CREATE OR REPLACE TEMP TABLE _erase_logs (row_key VARCHAR PRIMARY KEY);
CREATE OR REPLACE TEMP TABLE _erase_distribution (row_key VARCHAR PRIMARY KEY);

-- name: drop_marks
DROP TABLE _erase_messages;
DROP TABLE _erase_quarantine;
DROP TABLE _erase_logs;
DROP TABLE _erase_distribution;

-- name: mark_forgotten
-- the copies an ingest brought back of people already forgotten, matched by pseudonym on the
-- extracted details and the sender (stored bytes are not scanned here)
INSERT INTO _erase_messages
SELECT DISTINCT d.message_key FROM lead_details AS d
WHERE pseudonym(d.email) IN (SELECT pseudonym FROM forgotten)
   OR pseudonym(d.phone) IN (SELECT pseudonym FROM forgotten)
UNION
SELECT m.message_key FROM stored_messages AS m
WHERE m.body_text IS NOT NULL AND pseudonym(m.sender) IN (SELECT pseudonym FROM forgotten)

-- name: count_marked
-- what the marks would erase, per kind of record: copies that still hold something personal
-- (an erased copy is not counted twice), raw copies, lead details, log lines, distribution
-- rows, quarantined items
SELECT
    (SELECT count(*) FROM stored_messages JOIN _erase_messages USING (message_key)
     WHERE body_text IS NOT NULL OR sender_name IS NOT NULL
        OR message_key IN (SELECT message_key FROM raw_messages)
        OR message_key IN (SELECT message_key FROM lead_details)) AS messages,
    (SELECT count(*) FROM raw_messages JOIN _erase_messages USING (message_key)) AS raw_copies,
    (SELECT count(*) FROM lead_details JOIN _erase_messages USING (message_key)) AS lead_details,
    (SELECT count(*) FROM _erase_logs) AS log_lines,
    (SELECT count(*) FROM _erase_distribution) AS distribution_rows,
    (SELECT count(*) FROM _erase_quarantine) AS quarantined_items

-- name: prepare
-- the details of the marked copies (their subjects lose what they quote) and how an address is
-- erased: role addresses (contact@...) and the workspace's own ($public) stay, a person's keeps
-- its domain only. The list is a parameter: DuckDB lambdas cannot hold the subquery of
-- is_public_address.
CREATE OR REPLACE TEMP TABLE _erase_details AS
SELECT d.* FROM lead_details AS d JOIN _erase_messages USING (message_key);
CREATE OR REPLACE TEMP MACRO erased_address(address, public) AS
    CASE WHEN address IS NULL OR is_role_address(lower(address)) OR list_contains(public, lower(address))
         THEN address ELSE 'erased@' || split_part(address, '@', 2) END;

-- name: erase_messages
-- every address column, plain or in lists; the name, body and From line go; subjects keep their
-- template (attribution reads them again when the config changes) but lose the details they quote
UPDATE stored_messages AS m SET
    sender = erased_address(sender, $public),
    copy_sender = erased_address(copy_sender, $public),
    resent_from = erased_address(resent_from, $public),
    to_addrs = list_transform(to_addrs, lambda x: erased_address(x, $public)),
    cc_addrs = list_transform(cc_addrs, lambda x: erased_address(x, $public)),
    original_to = list_transform(original_to, lambda x: erased_address(x, $public)),
    original_cc = list_transform(original_cc, lambda x: erased_address(x, $public)),
    envelope_to = list_transform(envelope_to, lambda x: erased_address(x, $public)),
    forwarded_to = list_transform(forwarded_to, lambda x: erased_address(x, $public)),
    resent_to = list_transform(resent_to, lambda x: erased_address(x, $public)),
    sender_name = NULL, body_text = NULL, from_line = NULL,
    subject = without_details(m.subject, d.name, d.email, d.phone),
    copy_subject = without_details(m.copy_subject, d.name, d.email, d.phone)
FROM _erase_messages AS e LEFT JOIN _erase_details AS d USING (message_key)
WHERE m.message_key = e.message_key

-- name: erase_quoted_email
-- the forgotten address ($p, a regular expression) wherever a marked subject still quotes it
UPDATE stored_messages SET
    subject = regexp_replace(subject, $p, '[erased]', 'gi'),
    copy_subject = regexp_replace(copy_subject, $p, '[erased]', 'gi')
WHERE message_key IN (SELECT message_key FROM _erase_messages)

-- name: erase_stored
-- the stored bytes and the extracted details of the marked copies, the marked quarantined bytes
DELETE FROM raw_messages WHERE message_key IN (SELECT message_key FROM _erase_messages);
DELETE FROM lead_details WHERE message_key IN (SELECT message_key FROM _erase_messages);
UPDATE quarantine_items SET raw_zlib = NULL WHERE rowid IN (SELECT id FROM _erase_quarantine);

-- name: mark_log_lines_of_messages
-- log lines of the erased messages carry the prospect's relay address too
INSERT OR IGNORE INTO _erase_logs
SELECT l.row_key FROM log_events AS l
WHERE l.message_id IN (SELECT m.message_id FROM stored_messages AS m
                       JOIN _erase_messages USING (message_key)
                       WHERE m.message_id IS NOT NULL)

-- name: erase_log_lines
UPDATE log_events SET
    sender = erased_address(sender, $public),
    recipient = erased_address(recipient, $public),
    original_recipient = erased_address(original_recipient, $public),
    subject = NULL, detail = NULL
WHERE row_key IN (SELECT row_key FROM _erase_logs)

-- name: erase_distribution_rows
UPDATE distribution_log SET
    sender = erased_address(sender, $public),
    subject = NULL
WHERE row_key IN (SELECT row_key FROM _erase_distribution)

-- name: finish
DROP TABLE _erase_details;
DROP MACRO erased_address;
