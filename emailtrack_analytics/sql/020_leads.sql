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
    a.weekday
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
    min(c.received_at) AS received_at,
    arg_min(c.month, c.received_at) AS month,
    arg_min(c.portal, c.received_at) FILTER (WHERE c.portal IS NOT NULL) AS portal,
    c.point_of_sale,
    arg_min(c.channel, c.received_at) AS channel,
    count(DISTINCT c.message_key) AS copies,
    -- extras
    arg_min(c.local_date, c.received_at) AS local_date,
    arg_min(c.local_hour, c.received_at) AS local_hour,
    arg_min(c.weekday, c.received_at) AS weekday,
    any_value(p."group") AS "group"
FROM lead_copies AS c
JOIN attributed AS x USING (lead_key)
LEFT JOIN points_of_sale AS p ON p.id = c.point_of_sale
WHERE c.point_of_sale IS NOT NULL OR NOT x.has_point_of_sale
GROUP BY c.lead_key, c.point_of_sale;
