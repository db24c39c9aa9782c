-- Lead volume per month, point of sale and portal: what the monthly report is made of.
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
CREATE OR REPLACE VIEW monthly_traffic AS
SELECT
    month,
    category,
    count(*) AS copies,
    count(*) FILTER (WHERE point_of_sale IS NULL AND channel <> 'distribution') AS without_point_of_sale,
    count(*) FILTER (WHERE portal IS NULL) AS without_portal
FROM messages
GROUP BY ALL;
