-- Statements of attribution/refresh.py over the attributed copies (not views: this folder is
-- not run by store/db.py). Values are bound parameters.

-- name: distribution_deliveries
-- every delivery the distribution log records, in the order of the log: a copy's targets are
-- the points of sale of these recipients, first delivered first
SELECT message_id, delivered_to
FROM distribution_log
WHERE message_id IS NOT NULL
ORDER BY received_at, delivered_to

-- name: new_copies
-- the stored copies not attributed yet (an incremental refresh attributes them)
SELECT message_key FROM stored_messages ANTI JOIN attribution USING (message_key)

-- name: distribution_deliveries_of_copies
-- the same, for the Message-IDs of the copies $1 (message keys) only (what attributing them reads)
SELECT message_id, delivered_to
FROM distribution_log
WHERE message_id IN (SELECT coalesce(original_message_id, message_id) FROM stored_messages
                     WHERE message_key IN (SELECT unnest(?::VARCHAR[])))
ORDER BY received_at, delivered_to

-- name: replies
-- Replies that reference a stored lead (In-Reply-To / References) are follow-ups, not 'other',
-- whatever their subject says. In steps, the few first: the references of the copies that have
-- any (_replies), kept for the 'other' copies; the stored copies those references name
-- (_replied); mark_follow_ups then marks the replies naming a lead copy. (One statement joined
-- every copy with its attribution first: most of a second on a million copies.)
CREATE OR REPLACE TEMP TABLE _replies AS
SELECT DISTINCT message_key, id FROM (
    SELECT message_key, unnest(list_append(coalesce(reference_ids, []), in_reply_to)) AS id
    FROM stored_messages
    WHERE in_reply_to IS NOT NULL OR len(reference_ids) > 0
)
WHERE id IS NOT NULL;
DELETE FROM _replies WHERE message_key NOT IN (SELECT message_key FROM attribution WHERE category = 'other');
CREATE OR REPLACE TEMP TABLE _replied AS
SELECT message_key, coalesce(original_message_id, message_id) AS id
FROM stored_messages
WHERE coalesce(original_message_id, message_id) IN (SELECT id FROM _replies)

-- name: mark_follow_ups
UPDATE attribution SET category = 'follow_up'
WHERE message_key IN (
    SELECT message_key FROM _replies
    WHERE id IN (SELECT r.id FROM _replied AS r JOIN attribution AS a USING (message_key) WHERE a.category = 'lead')
)

-- name: drop_replies
DROP TABLE _replies;
DROP TABLE _replied;
