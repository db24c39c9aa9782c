-- Lead volume per month, point of sale and portal: `leads` is point-of-sale leads (rows of
-- `leads`, analytics/views/045_figures.sql), `copies` the copies merged into those rows.
CREATE OR REPLACE VIEW monthly_leads AS
SELECT
    month,
    point_of_sale,
    "group",
    coalesce(portal, '') AS portal,
    count(*) AS leads,
    sum(copies) AS copies
FROM leads
GROUP BY ALL;

-- Every stored copy per month by what it turned out to be: leads, non-leads, unattributed.
-- `copies` is every copy, `tracking_copies` and `mailbox_copies` split it by role
-- (analytics/views/045_figures.sql: tracking copies are what the reports count, mailbox copies are evidence).
CREATE OR REPLACE VIEW monthly_traffic AS
SELECT
    month,
    category,
    count(*) AS copies,
    count(*) FILTER (WHERE point_of_sale IS NULL AND channel <> 'distribution') AS without_point_of_sale,
    count(*) FILTER (WHERE portal IS NULL) AS without_portal,
    count(*) FILTER (WHERE role = 'tracking') AS tracking_copies,
    count(*) FILTER (WHERE role = 'mailbox') AS mailbox_copies
FROM messages
GROUP BY ALL;
