-- Every lead copy that reached tracking, once per point of sale it counts for
-- (a copy from the multi-distribution system counts for every point of sale it was sent to).
CREATE OR REPLACE VIEW lead_copies AS
SELECT
    a.lead_key,
    t.point_of_sale,
    m.received_at,
    a.month,
    a.portal,
    a.channel,
    m.message_key,
    a.local_date,
    a.local_hour,
    a.weekday,
    -- when this copy reached tracking (a forward is sent after the lead arrived)
    coalesce(m.copy_at, m.received_at) AS copy_at,
    -- a forward header gives the lead's time to the minute only: other copies are more precise
    (m.date_source = 'forward_header', m.received_at) AS time_rank
FROM attribution AS a
JOIN stored_messages AS m USING (message_key)
LEFT JOIN attribution_targets AS t USING (message_key)
WHERE a.category = 'lead' AND a.role = 'tracking';

-- One row per lead per point of sale it reached; a lead no point of sale can be found for
-- is one row with an empty point_of_sale. Volume of a point of sale = its rows; volume of
-- the network = distinct lead_key.
CREATE OR REPLACE VIEW leads AS
WITH attributed AS (
    SELECT lead_key, bool_or(point_of_sale IS NOT NULL) AS has_point_of_sale
    FROM lead_copies
    GROUP BY lead_key
)
SELECT
    c.lead_key,
    arg_min(c.received_at, c.time_rank) AS received_at,
    arg_min(c.month, c.time_rank) AS month,
    arg_min(c.portal, c.time_rank) FILTER (WHERE c.portal IS NOT NULL) AS portal,
    c.point_of_sale,
    -- the channel of the copy that reached tracking first
    arg_min(c.channel, c.copy_at) AS channel,
    count(DISTINCT c.message_key) AS copies,
    -- extras
    arg_min(c.local_date, c.time_rank) AS local_date,
    arg_min(c.local_hour, c.time_rank) AS local_hour,
    arg_min(c.weekday, c.time_rank) AS weekday,
    any_value(p."group") AS "group"
FROM lead_copies AS c
JOIN attributed AS x USING (lead_key)
LEFT JOIN points_of_sale AS p ON p.id = c.point_of_sale
WHERE c.point_of_sale IS NOT NULL OR NOT x.has_point_of_sale
GROUP BY c.lead_key, c.point_of_sale;

-- Prospect details per lead copy (personal data: not in default exports or reports).
CREATE OR REPLACE VIEW lead_contacts AS
SELECT
    a.lead_key,
    m.message_key,
    a.point_of_sale,
    a.portal,
    a.month,
    d.name,
    d.email,
    d.email_is_relay,
    d.phone,
    d.listing_reference,
    d.message_length
FROM attribution AS a
JOIN stored_messages AS m USING (message_key)
JOIN lead_details AS d USING (message_key)
WHERE a.category = 'lead';
