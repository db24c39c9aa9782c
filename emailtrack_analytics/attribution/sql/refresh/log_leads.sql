-- Statements of attribution/refresh.py that judge the deliveries to a point of sale's own
-- mailbox read in mail logs (classify_log_deliveries says how; not views: this folder is not run
-- by store/db.py).

-- name: unpaired
-- the deliveries to a mailbox not judged yet (delivery), and the judgements of deliveries that are
-- no longer deliveries to a mailbox (judged: a log line erased, or, in a full refresh, an address
-- no longer a point of sale's mailbox), found in one pass over both (each was a pass of its own)
CREATE OR REPLACE TABLE _unpaired AS
SELECT d.row_key AS delivery, l.row_key AS judged
FROM (SELECT row_key FROM mailbox_deliveries) AS d
FULL JOIN (SELECT row_key FROM log_leads) AS l ON l.row_key = d.row_key
WHERE d.row_key IS NULL OR l.row_key IS NULL

-- name: all_deliveries
-- a full refresh judges every delivery to a mailbox: every one is affected and in scope
CREATE OR REPLACE TABLE _affected AS SELECT row_key FROM mailbox_deliveries;
CREATE OR REPLACE TABLE _scope AS SELECT row_key FROM _affected;

-- name: affected_deliveries
-- An incremental refresh judges again only the deliveries whose judgement can have changed
-- (_affected), given the copies attributed, or whose lead key changed, since the last one
-- (_touched_copies; a copy's point of sale, portal, role and time change only in a full refresh,
-- and a category only from 'other' to 'follow_up', which no judgement tells apart). A delivery
-- and a copy match when each is the other's nearest within $match_seconds, so:
-- - a new delivery is judged, and so is every delivery within twice the window of it at the same
--   point of sale (a copy both could match may now have the new one as its nearest);
-- - a delivery within the window of a touched tracking copy (its nearest may be that copy, or the
--   copy's lead key changed);
-- - a delivery whose Message-ID is a touched copy's (matched by Message-ID).
-- (scope_deliveries then adds the deliveries that compete with them for a copy, within twice the
-- window: their own judgement is kept, but they decide which delivery a copy is nearest to.)
CREATE OR REPLACE TABLE _affected AS
WITH new_deliveries AS (
    SELECT * FROM mailbox_deliveries WHERE row_key IN (SELECT delivery FROM _unpaired WHERE judged IS NULL)
),
touched AS (
    SELECT coalesce(t.point_of_sale, a.point_of_sale) AS point_of_sale, a.role, m.received_at,
           coalesce(m.original_message_id, m.message_id) AS message_id
    FROM _touched_copies
    JOIN attribution a USING (message_key)
    JOIN stored_messages m USING (message_key)
    LEFT JOIN attribution_targets t USING (message_key)
)
SELECT row_key FROM new_deliveries
UNION
SELECT d.row_key FROM mailbox_deliveries d JOIN new_deliveries n
  ON d.point_of_sale = n.point_of_sale
 AND d.event_time BETWEEN n.event_time - to_seconds(2 * $match_seconds) AND n.event_time + to_seconds(2 * $match_seconds)
UNION
SELECT d.row_key FROM mailbox_deliveries d JOIN touched c
  ON c.role = 'tracking' AND d.point_of_sale = c.point_of_sale
 AND d.event_time BETWEEN c.received_at - to_seconds($match_seconds) AND c.received_at + to_seconds($match_seconds)
UNION
SELECT d.row_key FROM mailbox_deliveries d JOIN touched c ON d.message_id = c.message_id

-- name: scope_deliveries
CREATE OR REPLACE TABLE _scope AS
WITH affected AS (SELECT * FROM mailbox_deliveries SEMI JOIN _affected USING (row_key))
SELECT row_key FROM affected
UNION
SELECT d.row_key FROM mailbox_deliveries d JOIN affected x
  ON d.point_of_sale = x.point_of_sale
 AND d.event_time BETWEEN x.event_time - to_seconds(2 * $match_seconds) AND x.event_time + to_seconds(2 * $match_seconds)

-- name: scope_times
-- when the first and the last delivery in scope were ($first and $last of deliveries)
SELECT min(e.event_time), max(e.event_time) FROM log_events e SEMI JOIN _scope USING (row_key)

-- name: mailbox_senders
-- the senders of the deliveries in scope: each is given its portal in Python, then joined as the
-- registered table _sender_portals (sender, portal)
SELECT DISTINCT e.sender
FROM log_events e SEMI JOIN _scope USING (row_key)
WHERE e.sender IS NOT NULL

-- name: deliveries
-- the affected deliveries to a mailbox, each matched to a stored copy by Message-ID or else to
-- the nearest tracking copy for the same point of sale from the same portal (or sender) within
-- $match_seconds, each the other's nearest (over the deliveries in scope); is_lead stays NULL
-- when nothing matched
CREATE OR REPLACE TABLE _deliveries AS
WITH deliveries AS (
    SELECT d.*, sp.portal
    FROM mailbox_deliveries d
    SEMI JOIN _scope USING (row_key)
    LEFT JOIN _sender_portals sp ON sp.sender = d.sender
    WHERE d.event_time BETWEEN $first::TIMESTAMP AND $last::TIMESTAMP  -- where the scope is: read there only
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
    -- only those received while the deliveries in scope were (an incremental refresh judges a few:
    -- every tracking copy joined with its attribution took seconds on a million copies)
    SELECT coalesce(t.point_of_sale, a.point_of_sale) AS point_of_sale, m.message_key, m.received_at,
           a.portal, m.sender, a.lead_key, a.category
    FROM (SELECT message_key, received_at, sender FROM stored_messages
          WHERE received_at BETWEEN $first::TIMESTAMP - to_seconds($match_seconds)
                                AND $last::TIMESTAMP + to_seconds($match_seconds)) AS m
    JOIN attribution a USING (message_key)
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
WHERE d.row_key IN (SELECT row_key FROM _affected)

-- name: forget_affected
-- the judgements made again, and those of deliveries that are no longer deliveries to a mailbox
-- (a log line erased, or, in a full refresh, an address no longer a point of sale's mailbox)
DELETE FROM log_leads WHERE row_key IN (SELECT row_key FROM _affected);
DELETE FROM log_leads WHERE row_key IN (SELECT judged FROM _unpaired WHERE delivery IS NULL);

-- name: drop_scratch
DROP TABLE _deliveries;
DROP TABLE _affected;
DROP TABLE _scope;
DROP TABLE _unpaired;

-- name: deliveries_page
-- the next page of judged deliveries after row key $1 ($2 rows)
SELECT * FROM _deliveries WHERE row_key > ? ORDER BY row_key LIMIT ?
