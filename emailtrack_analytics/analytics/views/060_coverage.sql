-- Leads a point of sale is known to have received, whether or not they reached tracking:
-- deliveries of leads to its own mailbox in mail logs, and leads in its own mailbox exports.
CREATE OR REPLACE VIEW expected_leads AS
SELECT
    l.point_of_sale,
    l.month,
    coalesce(l.lead_key, 'mid:' || l.message_id, 'log:' || l.row_key) AS lead_ref,
    l.lead_key,
    l.message_id,
    l.event_time AS received_at,
    l.portal,
    'log' AS evidence,
    l.assumed
FROM log_leads AS l
WHERE l.is_lead
UNION ALL
SELECT
    a.point_of_sale,
    a.month,
    coalesce(a.lead_key, 'key:' || a.message_key) AS lead_ref,
    a.lead_key,
    coalesce(m.original_message_id, m.message_id) AS message_id,
    m.received_at,
    a.portal,
    'mailbox' AS evidence,
    false AS assumed
FROM attribution AS a
JOIN stored_messages AS m USING (message_key)
WHERE a.role = 'mailbox' AND a.category = 'lead' AND a.point_of_sale IS NOT NULL;

-- Each expected lead once per point of sale, and whether it reached tracking.
CREATE OR REPLACE VIEW expected_lead_status AS
WITH expected AS (
    SELECT point_of_sale, lead_ref,
           any_value(lead_key) AS lead_key, min(month) AS month, min(received_at) AS received_at,
           any_value(portal) FILTER (WHERE portal IS NOT NULL) AS portal,
           any_value(message_id) AS message_id,
           string_agg(DISTINCT evidence, ',' ORDER BY evidence) AS evidence
    FROM expected_leads
    GROUP BY point_of_sale, lead_ref
),
tracked AS (
    SELECT DISTINCT point_of_sale, lead_key FROM leads WHERE point_of_sale IS NOT NULL
)
SELECT e.*, t.lead_key IS NOT NULL AS tracked
FROM expected AS e
LEFT JOIN tracked AS t ON t.point_of_sale = e.point_of_sale AND t.lead_key = e.lead_key;

-- Coverage per point of sale and month: contract columns.
CREATE OR REPLACE VIEW coverage AS
WITH per_month AS (
    SELECT month, point_of_sale, count(*) AS expected, count(*) FILTER (WHERE tracked) AS tracked
    FROM expected_lead_status
    GROUP BY month, point_of_sale
),
seen AS (
    SELECT DISTINCT month, point_of_sale FROM leads WHERE point_of_sale IS NOT NULL
    UNION
    SELECT month, point_of_sale FROM per_month
)
SELECT
    s.month,
    s.point_of_sale,
    coalesce(p.expected, 0) AS expected,
    coalesce(p.tracked, 0) AS tracked,
    coalesce(p.expected, 0) - coalesce(p.tracked, 0) AS missing,
    CASE WHEN coalesce(p.expected, 0) > 0 THEN p.tracked / p.expected END AS coverage
FROM seen AS s
LEFT JOIN per_month AS p USING (month, point_of_sale);
