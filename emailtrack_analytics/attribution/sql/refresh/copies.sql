-- Statements of attribution/refresh.py over the attributed copies (not views: this folder is
-- not run by store/db.py). Values are bound parameters.

-- name: distribution_deliveries
-- every delivery the distribution log records, in the order of the log: a copy's targets are
-- the points of sale of these recipients, first delivered first
SELECT message_id, delivered_to
FROM distribution_log
WHERE message_id IS NOT NULL
ORDER BY received_at, delivered_to

-- name: mark_follow_ups
-- Replies that reference a stored lead (In-Reply-To / References) are follow-ups, not 'other',
-- whatever their subject says. The references of the few 'other' copies that have any are
-- collected first; only the lead copies carrying one of them are looked for (no table of every
-- lead's Message-ID).
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
