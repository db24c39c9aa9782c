-- Statements of attribution/refresh.py that judge the deliveries to a point of sale's own
-- mailbox read in mail logs (classify_log_deliveries says how; not views: this folder is not run
-- by store/db.py).

-- name: mailbox_senders
-- the senders of the deliveries to a mailbox: each is given its portal in Python, then joined
-- as the registered table _sender_portals (sender, portal)
SELECT DISTINCT e.sender
FROM log_events e JOIN addresses a ON a.address = e.recipient
WHERE a.kind = 'mailbox' AND e.status = 'sent' AND e.sender IS NOT NULL

-- name: deliveries
-- every delivery to a mailbox, matched to a stored copy by Message-ID or else to the nearest
-- tracking copy for the same point of sale from the same portal (or sender) within
-- $match_seconds, each the other's nearest; is_lead stays NULL when nothing matched
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
     AND c.received_at BETWEEN d.event_time - to_seconds($match_seconds)
                           AND d.event_time + to_seconds($match_seconds)
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

-- name: deliveries_page
-- the next page of judged deliveries after row key $1 ($2 rows)
SELECT * FROM _deliveries WHERE row_key > ? ORDER BY row_key LIMIT ?
