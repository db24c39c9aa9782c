-- The references each lead copy is grouped by (refresh.py joins copies sharing one; the same
-- in Python: attribution/identity.py): its anchor, the original's Message-ID or else the copy
-- itself, and its content references: each identity mark of the original (sender and subject
-- with one of body, prospect's email, phone, name) at the minute the lead was sent. A forward
-- header's time without a written zone is a guess: read in the workspace's zone `tz` when the
-- forward's own Date was UTC (Exchange), and, for the body's mark only, tried at whole-hour
-- offsets up to two hours either way. Copies stored before identity marks keep their content
-- fingerprint (minute included).
-- lead_references_of(tz, copies): the same for the copies of the table named `copies`, which has
-- lead_reference_copies' columns (an incremental refresh keys a few copies: refresh.py).
CREATE OR REPLACE VIEW lead_reference_copies AS
SELECT a.message_key, m.original_message_id, m.content_fingerprint, m.identity_marks, m.received_at,
       m.date_source, m.date_zone
FROM attribution AS a JOIN stored_messages AS m USING (message_key)
WHERE a.category = 'lead';

CREATE OR REPLACE MACRO lead_references_of(tz, copies) AS TABLE
WITH copies AS (
    SELECT message_key,
           coalesce('id:' || original_message_id, 'mk:' || message_key) AS id_ref,
           content_fingerprint, identity_marks,
           CASE WHEN date_source = 'forward_header' AND date_zone = 'utc'
                THEN timezone('UTC', timezone(tz, received_at)) ELSE received_at END AS sent_at,
           coalesce(date_source = 'forward_header' AND date_zone IN ('forward', 'utc'), false) AS guessed
    FROM query_table(copies)
),
marked AS (
    SELECT message_key, id_ref, sent_at, guessed, unnest(identity_marks) AS mark
    FROM copies WHERE len(identity_marks) > 0
),
shifted AS (
    SELECT message_key, id_ref, mark, sent_at,
           unnest(CASE WHEN guessed AND starts_with(mark, 'body:') THEN [-2, -1, 0, 1, 2] ELSE [0] END) AS hours
    FROM marked
)
SELECT message_key, id_ref, 'fp:' || mark || '@' || strftime(sent_at + to_hours(hours), '%Y-%m-%dT%H:%M') AS fp_ref
FROM shifted
UNION ALL
SELECT message_key, id_ref, coalesce('fp:' || content_fingerprint, 'mk:' || message_key) AS fp_ref
FROM copies WHERE coalesce(len(identity_marks), 0) = 0;

CREATE OR REPLACE MACRO lead_references(tz) AS TABLE
SELECT * FROM lead_references_of(tz, 'lead_reference_copies');

-- Every lead copy that reached tracking, once per point of sale it counts for
-- (a copy from the multi-distribution system counts for every point of sale it was sent to).
-- lead_copies_in(months): the same, for the leads that have a copy in one of `months` (a list of
-- 'YYYY-MM'; NULL for all): every copy of those leads, whatever its month, so that what is
-- computed per lead from them is what `lead_copies` gives. The filter is on `attribution`
-- itself, before the joins: a report of a few months reads only those leads' copies. `keys` (a
-- list of lead keys; NULL for all): only the copies of those leads (an incremental refresh
-- stores again the leads it changed).
CREATE OR REPLACE MACRO lead_copies_in(months, keys := NULL) AS TABLE
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
    (m.date_source = 'forward_header', m.received_at) AS time_rank,
    -- time_rank as one number, in the same order (false < true < NULL, then the time): a
    -- scalar that arg_min compares several times faster than a struct
    CASE WHEN m.date_source = 'forward_header' THEN 1 WHEN m.date_source IS NULL THEN 2 ELSE 0 END::HUGEINT
        * 18446744073709551616 + epoch_us(m.received_at) AS time_order
FROM attribution AS a
JOIN stored_messages AS m USING (message_key)
LEFT JOIN attribution_targets AS t USING (message_key)
WHERE a.category = 'lead' AND a.role = 'tracking'
  AND (months IS NULL OR a.lead_key IN (
      SELECT lead_key FROM attribution
      WHERE category = 'lead' AND role = 'tracking' AND list_contains(months, month)))
  AND (keys IS NULL OR list_contains(keys, a.lead_key));

CREATE OR REPLACE VIEW lead_copies AS
SELECT * FROM lead_copies_in(NULL);

-- One row per lead per point of sale it reached; a lead no point of sale can be found for
-- is one row with an empty point_of_sale. Volume of a point of sale = its rows; volume of
-- the network = distinct lead_key.
-- leads_grouped_in(months): the leads whose month is in `months` (NULL for all), the same rows
-- as the full grouping filtered by month: a lead's month is the month of one of its copies, so
-- only the leads with a copy in those months are grouped (lead_copies_in); `keys`: only those leads.
-- Grouped in one pass (no self-join of the copies, which needed them all in memory at once):
-- the row without a point of sale is dropped afterwards when the lead has another.
CREATE OR REPLACE MACRO leads_grouped_in(months, keys := NULL) AS TABLE
WITH copies AS (
    -- each copy once per point of sale, however many times a target row repeats
    SELECT lead_key, point_of_sale, message_key,
           any_value(time_order) AS time_order, any_value(copy_at) AS copy_at,
           any_value(received_at) AS received_at, any_value(month) AS month,
           any_value(portal) AS portal, any_value(channel) AS channel,
           any_value(local_date) AS local_date, any_value(local_hour) AS local_hour,
           any_value(weekday) AS weekday
    FROM lead_copies_in(months, keys := keys)
    WHERE lead_key IS NOT NULL
    GROUP BY lead_key, point_of_sale, message_key
),
grouped AS (
    SELECT
        c.lead_key,
        arg_min(c.received_at, c.time_order) AS received_at,
        arg_min(c.month, c.time_order) AS month,
        arg_min(c.portal, c.time_order) FILTER (WHERE c.portal IS NOT NULL) AS portal,
        c.point_of_sale,
        -- the channel of the copy that reached tracking first; copies of the same second are
        -- ranked the way they travel (a CC comes straight from the portal, a redirect or a
        -- forward after a hop), so that the answer never depends on storage order
        arg_min(c.channel, epoch_us(c.copy_at)::HUGEINT * 8 + CASE c.channel
            WHEN 'direct' THEN 0 WHEN 'cc' THEN 1 WHEN 'distribution' THEN 2
            WHEN 'redirect' THEN 3 WHEN 'forward' THEN 4 ELSE 5 END) AS channel,
        count(*) AS copies,
        -- extras
        arg_min(c.local_date, c.time_order) AS local_date,
        arg_min(c.local_hour, c.time_order) AS local_hour,
        arg_min(c.weekday, c.time_order) AS weekday,
        any_value(p."group") AS "group"
    FROM copies AS c
    LEFT JOIN points_of_sale AS p ON p.id = c.point_of_sale
    GROUP BY c.lead_key, c.point_of_sale
),
kept AS (
    -- a lead found for some point of sale has no row without one
    SELECT * FROM grouped
    QUALIFY point_of_sale IS NOT NULL OR NOT bool_or(point_of_sale IS NOT NULL) OVER (PARTITION BY lead_key)
)
SELECT * FROM kept
WHERE months IS NULL OR list_contains(months, month);

-- The leads as computed from the copies now; every refresh stores them in `lead_rows`.
CREATE OR REPLACE VIEW leads_computed AS
SELECT * FROM leads_grouped_in(NULL);

-- What reports and exports read: the stored result of the last refresh (every command that
-- reads refreshes first, so it is never stale).
CREATE OR REPLACE VIEW leads AS
SELECT * FROM lead_rows;

CREATE OR REPLACE MACRO leads_in(months) AS TABLE
SELECT * FROM lead_rows WHERE months IS NULL OR list_contains(months, month);

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
