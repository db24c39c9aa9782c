-- Deployment status: how each point of sale's copies reach tracking, and what failed on the way
-- (emailtrack status --deployment, the health report's deployment section;
-- analytics/deployment.py words them).

-- Every copy that reached tracking, once per point of sale it was for (a distribution copy for
-- several is one row each), with its channel, category and what its headers say about the rule that
-- made it: `how` is `x_forwarded` (X-Forwarded-To/For: Gmail's forwarding), `resent`
-- (Resent-* headers: a Redirect in Apple Mail or Outlook), `server` (a redirect with neither:
-- a server rule, Microsoft 365, Sieve), `inline` or `attachment` (a forward by a mail client),
-- else the channel. `forward_delay_s`: for a forward, seconds between the original's date and the
-- forward's own (a client-side rule forwards when the client runs).
CREATE OR REPLACE VIEW deployment_copies AS
SELECT
    t.point_of_sale,
    a.channel,
    a.category,
    m.received_at,
    CASE
        WHEN a.channel = 'redirect' AND len(coalesce(m.forwarded_to, [])) > 0 THEN 'x_forwarded'
        WHEN a.channel = 'redirect' AND len(coalesce(m.resent_to, [])) > 0 THEN 'resent'
        WHEN a.channel = 'redirect' THEN 'server'
        WHEN a.channel = 'forward' THEN coalesce(m.forward_kind, 'inline')
        ELSE a.channel
    END AS how,
    CASE WHEN a.channel = 'forward' AND m.copy_at IS NOT NULL
         THEN epoch(m.copy_at) - epoch(m.received_at) END AS forward_delay_s
FROM attribution AS a
JOIN attribution_targets AS t USING (message_key)
JOIN stored_messages AS m USING (message_key)
WHERE a.role = 'tracking';

-- How far the workspace's evidence reaches: the latest copy (any role) or mail log line, and the
-- last time a copy was read (ingest). The deployment is judged as of `last_evidence` by default.
CREATE OR REPLACE VIEW data_horizon AS
SELECT
    (SELECT max(t) FROM (SELECT max(received_at) AS t FROM stored_messages
                         UNION ALL SELECT max(event_time) FROM log_events)) AS last_evidence,
    (SELECT max(seen_at) FROM sightings) AS last_read;

-- deployment_modes(as_of, window_days): per point of sale and channel, its lead copies up to
-- `as_of` (a TIMESTAMP, UTC): `recent_copies` in the `window_days` days before it (the channel
-- is live when there is one), `since` the first copy of its current run (a run ends at a gap
-- longer than the window), `first_copy`, `last_copy`, the most frequent `how` of the run, and for
-- forwards the run's copies forwarded more than `late_after_s` seconds after the original
-- (`late_copies`; argument `late_after_s`).
CREATE OR REPLACE MACRO deployment_modes(as_of, window_days, late_after_s) AS TABLE
WITH copies AS MATERIALIZED (
    SELECT point_of_sale, channel, received_at, how, forward_delay_s,
           coalesce(received_at - lag(received_at) OVER (PARTITION BY point_of_sale, channel ORDER BY received_at)
                    > to_days(CAST(window_days AS INTEGER)), false) AS gap
    FROM deployment_copies
    WHERE category = 'lead' AND received_at <= as_of
),
-- the current run starts at the last copy that came after a gap (else at the first copy)
bounds AS (
    SELECT point_of_sale, channel,
           count(*) FILTER (WHERE received_at > as_of - to_days(CAST(window_days AS INTEGER))) AS recent_copies,
           count(*) AS copies,
           min(received_at) AS first_copy,
           max(received_at) AS last_copy,
           coalesce(max(received_at) FILTER (WHERE gap), min(received_at)) AS since
    FROM copies
    GROUP BY ALL
),
run_facts AS (
    SELECT c.point_of_sale, c.channel, mode(c.how) AS how, count(*) AS run_copies,
           count(*) FILTER (WHERE c.forward_delay_s > late_after_s) AS late_copies,
           median(c.forward_delay_s) AS median_delay_s
    FROM copies AS c
    JOIN bounds AS b USING (point_of_sale, channel)
    WHERE c.received_at >= b.since
    GROUP BY ALL
)
SELECT b.point_of_sale, b.channel, b.recent_copies, b.copies, b.first_copy, b.last_copy, b.since,
       r.how, r.run_copies, r.late_copies, r.median_delay_s
FROM bounds AS b
JOIN run_facts AS r USING (point_of_sale, channel)
ORDER BY b.point_of_sale, b.channel;

-- Every failed delivery to a tracked address the workspace has evidence of: a mail log's line
-- (bounced, rejected or deferred) and a delivery failure report read from a mailbox
-- (ingest/parsing/reports.py) naming a tracked address. `code`: the RFC 3463 status (e.g.
-- 5.7.520, Microsoft 365 refusing to forward outside the organisation), NULL when the evidence
-- gives none; `evidence`: `log` or `report`; `status`: `bounced`, `rejected` or `deferred` (a
-- deferral the log shows delivered later is left out).
CREATE OR REPLACE VIEW forward_failures AS
SELECT
    e.point_of_sale,
    e.event_time AS failed_at,
    e.recipient AS tracked_address,
    e.status,
    nullif(regexp_extract(coalesce(e.detail, ''), '(^|[^0-9.])([45]\.[0-9]{1,3}\.[0-9]{1,3})([^0-9.]|$)', 2), '')
        AS code,
    'log' AS evidence,
    e.log_kind AS origin,
    e.detail
FROM forward_events AS e
WHERE e.address_kind = 'tracked' AND e.status IN ('bounced', 'rejected', 'deferred')
  -- a deferral the server retried with success lost nothing
  AND NOT (e.status = 'deferred' AND e.message_id IS NOT NULL AND EXISTS (
      SELECT 1 FROM forward_events AS s
      WHERE s.message_id = e.message_id AND s.recipient = e.recipient AND s.status = 'sent'
        AND s.event_time >= e.event_time))
UNION ALL
SELECT
    a.point_of_sale,
    r.received_at AS failed_at,
    r.recipient AS tracked_address,
    CASE WHEN r.action = 'delayed' OR r.code LIKE '4.%' THEN 'deferred' ELSE 'bounced' END AS status,
    nullif(r.code, '') AS code,
    'report' AS evidence,
    r.source AS origin,
    nullif(r.diagnostic, '') AS detail
FROM (
    SELECT m.received_at, m.first_source AS source,
           unnest(m.report_recipients) AS recipient, unnest(m.report_statuses) AS code,
           unnest(m.report_actions) AS action, unnest(m.report_diagnostics) AS diagnostic
    FROM stored_messages AS m
    WHERE len(coalesce(m.report_recipients, [])) > 0
) AS r
JOIN addresses AS a ON a.address = r.recipient AND a.kind = 'tracked';
