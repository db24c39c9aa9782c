-- What `emailtrack forget` and `purge` mark for erasure, run by ops/privacy.py (not views). The
-- marks are the temporary tables of store/sql/erasure.sql (create_marks); store/erasure.py then
-- erases what is marked. Values are bound parameters: $v the person's address (lower case) or
-- E.164 phone number, $p a regular expression of the number as people write it, $tz the
-- workspace's time zone, $m the first month kept (YYYY-MM).

-- name: email_messages
-- the copies whose details, addresses (plain or in lists), subjects or body name the address
INSERT OR IGNORE INTO _erase_messages
SELECT message_key FROM lead_details WHERE lower(email) = $v
UNION SELECT message_key FROM stored_messages
WHERE lower(sender) = $v OR lower(copy_sender) = $v OR lower(resent_from) = $v
   OR list_contains(to_addrs, $v) OR list_contains(cc_addrs, $v) OR list_contains(original_to, $v)
   OR list_contains(original_cc, $v) OR list_contains(envelope_to, $v) OR list_contains(forwarded_to, $v)
   OR list_contains(resent_to, $v)
   OR contains(lower(subject), $v) OR contains(lower(copy_subject), $v)
   OR contains(lower(body_text), $v)

-- name: email_log_lines
INSERT OR IGNORE INTO _erase_logs
SELECT row_key FROM log_events
WHERE lower(sender) = $v OR lower(recipient) = $v OR lower(original_recipient) = $v
   OR contains(lower(subject), $v) OR contains(lower(detail), $v)

-- name: email_distribution_rows
INSERT OR IGNORE INTO _erase_distribution
SELECT row_key FROM distribution_log
WHERE lower(sender) = $v OR contains(lower(subject), $v)

-- name: phone_messages
INSERT OR IGNORE INTO _erase_messages
SELECT message_key FROM lead_details WHERE phone = $v
UNION SELECT message_key FROM stored_messages
WHERE regexp_matches(coalesce(subject, '') || ' ' || coalesce(body_text, ''), $p)

-- name: phone_log_lines
INSERT OR IGNORE INTO _erase_logs
SELECT row_key FROM log_events
WHERE regexp_matches(coalesce(subject, '') || ' ' || coalesce(detail, ''), $p)

-- name: phone_distribution_rows
INSERT OR IGNORE INTO _erase_distribution
SELECT row_key FROM distribution_log
WHERE regexp_matches(coalesce(subject, ''), $p)

-- name: raw_copies
-- the stored bytes (headers the parser did not keep, attachments' text), searched in Python
SELECT message_key, raw_zlib FROM raw_messages

-- name: quarantined_bytes
SELECT rowid, raw_zlib FROM quarantine_items WHERE raw_zlib IS NOT NULL

-- name: marked_messages
SELECT message_key FROM _erase_messages

-- name: marked_quarantine
SELECT id FROM _erase_quarantine

-- name: mark_messages
-- the message keys found in the stored bytes ($1, a list)
INSERT OR IGNORE INTO _erase_messages SELECT unnest(?)

-- name: mark_quarantine
INSERT OR IGNORE INTO _erase_quarantine SELECT unnest(?)

-- name: messages_before
-- everything dated before the month $m, months read in the workspace's time zone
INSERT INTO _erase_messages
SELECT message_key FROM stored_messages
WHERE strftime(timezone($tz, timezone('UTC', received_at)), '%Y-%m') < $m

-- name: log_lines_before
INSERT INTO _erase_logs
SELECT row_key FROM log_events
WHERE strftime(timezone($tz, timezone('UTC', event_time)), '%Y-%m') < $m

-- name: distribution_rows_before
INSERT INTO _erase_distribution
SELECT row_key FROM distribution_log
WHERE strftime(timezone($tz, timezone('UTC', received_at)), '%Y-%m') < $m

-- name: quarantine_before
INSERT INTO _erase_quarantine
SELECT rowid FROM quarantine_items
WHERE raw_zlib IS NOT NULL AND strftime(timezone($tz, timezone('UTC', quarantined_at)), '%Y-%m') < $m
