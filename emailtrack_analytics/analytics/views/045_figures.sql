-- The figures: each one defined once, here. Every report, `emailtrack status`, the API
-- (Analytics.figures) and `emailtrack export figures` read them from these views, and every page
-- names which one it shows (reports/labels.py). Two ways of counting leads and two kinds of
-- copies exist, and they differ by design:
--
-- network leads        distinct `lead_key` of `leads`: one lead sent to three points of sale
--                      (multi-distribution) is one network lead. The network's volume.
-- point-of-sale leads  rows of `leads`: one per lead per point of sale it reached; the volume of
--                      a point of sale, a group, a channel. Over the network they add up to more
--                      than the network leads.
-- tracking copies      stored copies that reached a tracked address (role `tracking`), by the
--                      copy's own month; a multi-distribution copy is one copy. What tracking
--                      received: the same lead may come as several copies.
-- mailbox copies       copies read from a point of sale's own mailbox export (role `mailbox`):
--                      evidence for coverage (docs/health.md), never counted as volume.
--
-- A lead's month is the month of its first copy; a copy's month is its own.

-- network leads per month
CREATE OR REPLACE VIEW network_leads AS
SELECT month, count(DISTINCT lead_key) AS network_leads
FROM leads
GROUP BY month;

-- network leads per month and portal ('' for an unknown portal). A lead counts once under each
-- portal its rows name (almost always one).
CREATE OR REPLACE VIEW network_leads_by_portal AS
SELECT month, coalesce(portal, '') AS portal, count(DISTINCT lead_key) AS network_leads
FROM leads
GROUP BY ALL;

-- network leads per local day (the workspace's zone) of the lead's first copy
CREATE OR REPLACE VIEW network_leads_by_day AS
SELECT month, local_date, count(DISTINCT lead_key) AS network_leads
FROM leads
GROUP BY ALL;

-- point-of-sale leads per month, point of sale, group, portal and channel: any sum of them is a
-- point-of-sale-leads figure (per point of sale, per group, per portal, per channel, in total).
CREATE OR REPLACE VIEW point_of_sale_leads AS
SELECT month, point_of_sale, "group", coalesce(portal, '') AS portal, channel, count(*) AS point_of_sale_leads
FROM leads
GROUP BY ALL;

-- tracking copies per month and category (network: each copy once)
CREATE OR REPLACE VIEW tracking_copies AS
SELECT
    month,
    category,
    count(*) AS tracking_copies,
    count(*) FILTER (WHERE point_of_sale IS NULL AND channel <> 'distribution') AS without_point_of_sale,
    count(*) FILTER (WHERE portal IS NULL) AS without_portal
FROM messages
WHERE role = 'tracking'
GROUP BY ALL;

-- tracking copies per month, point of sale and category: a copy counts for every point of sale
-- it was attributed to (a multi-distribution copy for each point of sale it was sent to)
CREATE OR REPLACE VIEW tracking_copies_by_point_of_sale AS
SELECT
    m.month,
    t.point_of_sale,
    m.category,
    count(DISTINCT m.message_key) AS tracking_copies,
    count(DISTINCT m.message_key) FILTER (WHERE m.portal IS NULL) AS without_portal
FROM messages AS m
JOIN attribution_targets AS t USING (message_key)
WHERE m.role = 'tracking' AND t.point_of_sale IS NOT NULL
GROUP BY ALL;

-- mailbox copies per month, point of sale and category
CREATE OR REPLACE VIEW mailbox_copies AS
SELECT month, point_of_sale, category, count(*) AS mailbox_copies
FROM messages
WHERE role = 'mailbox'
GROUP BY ALL;

-- every month's figures side by side (`emailtrack status`, `emailtrack export figures`,
-- Analytics.figures): the headline figures of the reports
-- the months the workspace holds data for: a lead, a tracking copy or a mailbox copy. A month
-- outside them has no figure at all (reports write "n/d"), not figures of 0.
CREATE OR REPLACE VIEW data_months AS
SELECT month FROM network_leads
UNION SELECT DISTINCT month FROM messages WHERE role IN ('tracking', 'mailbox');

CREATE OR REPLACE VIEW lead_figures AS
WITH months AS (SELECT month FROM data_months)
SELECT
    m.month,
    coalesce(n.network_leads, 0) AS network_leads,
    coalesce(p.point_of_sale_leads, 0)::BIGINT AS point_of_sale_leads,
    coalesce(t.tracking_copies, 0)::BIGINT AS tracking_copies,
    coalesce(t.tracking_lead_copies, 0)::BIGINT AS tracking_lead_copies,
    coalesce(b.mailbox_copies, 0)::BIGINT AS mailbox_copies,
    coalesce(b.mailbox_lead_copies, 0)::BIGINT AS mailbox_lead_copies
FROM months AS m
LEFT JOIN network_leads AS n USING (month)
LEFT JOIN (SELECT month, sum(point_of_sale_leads) AS point_of_sale_leads FROM point_of_sale_leads GROUP BY month)
    AS p USING (month)
LEFT JOIN (SELECT month, sum(tracking_copies) AS tracking_copies,
                  sum(tracking_copies) FILTER (WHERE category = 'lead') AS tracking_lead_copies
           FROM tracking_copies GROUP BY month) AS t USING (month)
LEFT JOIN (SELECT month, sum(mailbox_copies) AS mailbox_copies,
                  sum(mailbox_copies) FILTER (WHERE category = 'lead') AS mailbox_lead_copies
           FROM mailbox_copies GROUP BY month) AS b USING (month)
WHERE m.month IS NOT NULL;
