-- Configuration checks: mistakes the stored copies show (emailtrack status, the health report;
-- emailtrack_analytics/checks.py words them and their fixes).

-- Every address a stored copy was sent, delivered, forwarded or re-sent to, once per copy, in
-- lower case. What a header parser could not read as local@domain (a bare '@domain' from an
-- X-Forwarded-For list) is left out: it names nobody.
CREATE OR REPLACE VIEW copy_recipients AS
WITH listed AS (
    SELECT message_key,
           lower(trim(unnest(list_concat(coalesce(envelope_to, []), coalesce(forwarded_to, []),
                                         coalesce(resent_to, []), coalesce(to_addrs, []),
                                         coalesce(cc_addrs, []))))) AS address
    FROM stored_messages
)
SELECT DISTINCT message_key, address
FROM listed
WHERE regexp_full_match(address, '[^@\s]+@[^@\s]+\.[^@\s]+');

-- unclaimed_tracking_addresses(extra_domains): addresses on a tracking domain that no point of
-- sale (nor the distribution system) claims, with the copies that reached them. A tracking
-- domain is the domain of any tracked address of the configuration, or one of `extra_domains`
-- (`[tracking] domain`; a VARCHAR[], possibly empty). A forwarding rule with a typo
-- (`nantes@` for `nantes1@`) lands here: the attribution cannot tell such a copy from the point
-- of sale's own mailbox copy, so it is counted as received but never tracked.
-- `point_of_sale`: the one most of its copies were attributed to (by the mailbox they came
-- from; `counted`), else the owner of the nearest claimed address (a guess: `counted` false, the
-- copies count for no point of sale); `nearest_address`: the claimed tracked
-- address on the same domain whose local part is the fewest edits away (`distance` edits).
CREATE OR REPLACE MACRO unclaimed_tracking_addresses(extra_domains) AS TABLE
WITH tracking_domains AS (
    SELECT DISTINCT split_part(address, '@', 2) AS domain
    FROM addresses
    WHERE kind IN ('tracked', 'distribution')
    UNION
    SELECT lower(unnest(extra_domains)) AS domain
),
unclaimed AS (
    SELECT r.message_key, r.address
    FROM copy_recipients AS r
    JOIN tracking_domains AS d ON d.domain = split_part(r.address, '@', 2)
    WHERE r.address NOT IN (SELECT address FROM addresses)
),
per_address AS (
    SELECT
        u.address,
        count(*) AS copies,
        count(*) FILTER (WHERE a.category = 'lead') AS lead_copies,
        min(m.received_at) AS first_copy,
        max(m.received_at) AS last_copy
    FROM unclaimed AS u
    JOIN stored_messages AS m USING (message_key)
    LEFT JOIN attribution AS a USING (message_key)
    GROUP BY u.address
),
-- the point of sale most of an address's copies were attributed to (ties: the first id), so that
-- the suggestion is the same on every run
attributed AS (
    SELECT u.address, a.point_of_sale
    FROM unclaimed AS u
    JOIN attribution AS a USING (message_key)
    WHERE a.point_of_sale IS NOT NULL
    GROUP BY u.address, a.point_of_sale
    QUALIFY row_number() OVER (PARTITION BY u.address ORDER BY count(*) DESC, a.point_of_sale) = 1
),
nearest AS (
    SELECT
        p.address,
        c.address AS nearest_address,
        c.point_of_sale AS nearest_point_of_sale,
        damerau_levenshtein(split_part(p.address, '@', 1), split_part(c.address, '@', 1)) AS distance
    FROM per_address AS p
    JOIN addresses AS c
      ON c.kind = 'tracked' AND split_part(c.address, '@', 2) = split_part(p.address, '@', 2)
    QUALIFY row_number() OVER (PARTITION BY p.address ORDER BY distance, c.address) = 1
)
SELECT
    p.address,
    p.copies,
    p.lead_copies,
    p.first_copy,
    p.last_copy,
    coalesce(t.point_of_sale, n.nearest_point_of_sale) AS point_of_sale,
    t.point_of_sale IS NOT NULL AS counted,
    n.nearest_address,
    n.distance
FROM per_address AS p
LEFT JOIN attributed AS t USING (address)
LEFT JOIN nearest AS n USING (address)
ORDER BY p.copies DESC, p.address;

-- Per point of sale of the configuration: the tracked leads it has (point-of-sale leads) and
-- the local days of its first and last one; a point of sale no lead ever reached tracking for
-- has 0 and empty days. `received_leads`, `first_received`: the leads its mail logs and mailbox
-- exports show it received (expected_lead_status), whether tracked or not.
CREATE OR REPLACE VIEW point_of_sale_tracking AS
WITH tracked AS (
    SELECT point_of_sale, count(*) AS point_of_sale_leads, min(local_date) AS first_lead,
           max(local_date) AS last_lead
    FROM leads
    WHERE point_of_sale IS NOT NULL
    GROUP BY point_of_sale
),
received AS (
    SELECT point_of_sale, count(*) AS received_leads, min(received_at) AS first_received
    FROM expected_lead_status
    GROUP BY point_of_sale
)
SELECT
    p.id AS point_of_sale,
    coalesce(t.point_of_sale_leads, 0) AS point_of_sale_leads,
    t.first_lead,
    t.last_lead,
    coalesce(r.received_leads, 0) AS received_leads,
    r.first_received
FROM points_of_sale AS p
LEFT JOIN tracked AS t ON t.point_of_sale = p.id
LEFT JOIN received AS r ON r.point_of_sale = p.id;

-- Per point of sale: the leads its own mailbox export shows (expected leads with mailbox
-- evidence) and how many of them never reached tracking.
CREATE OR REPLACE VIEW mailbox_leads_not_tracked AS
SELECT
    point_of_sale,
    count(*) AS mailbox_leads,
    count(*) FILTER (WHERE NOT tracked) AS not_tracked,
    min(month) FILTER (WHERE NOT tracked) AS first_month,
    max(month) FILTER (WHERE NOT tracked) AS last_month
FROM expected_lead_status
WHERE list_contains(string_split(evidence, ','), 'mailbox')
GROUP BY point_of_sale;

-- forwarding_confirmations(extra_domains): the copies at tracking that are a mail provider's
-- verification mail (attribution flag 'forwarding_confirmation': Gmail's "Forwarding
-- Confirmation" and the like, attribution/confirmations.py), with the address each reached: a
-- claimed tracked address first, else one on a tracking domain (`extra_domains` as in
-- unclaimed_tracking_addresses), else the first address, in the order Delivered-To,
-- X-Forwarded-To, Resent-To, To, Cc. `subject` and `body_text` (its beginning) are what
-- analytics/checks.py reads the mailbox asking, the code and the link from.
CREATE OR REPLACE MACRO forwarding_confirmations(extra_domains) AS TABLE
WITH tracking_domains AS (
    SELECT DISTINCT split_part(address, '@', 2) AS domain
    FROM addresses
    WHERE kind IN ('tracked', 'distribution')
    UNION
    SELECT lower(unnest(extra_domains)) AS domain
),
confirmations AS (
    SELECT a.message_key, a.point_of_sale, m.received_at, m.sender, m.subject,
           left(m.body_text, 3000) AS body_text, m.link_hosts,
           list_concat(coalesce(m.envelope_to, []), coalesce(m.forwarded_to, []), coalesce(m.resent_to, []),
                       coalesce(m.to_addrs, []), coalesce(m.cc_addrs, [])) AS recipients
    FROM attribution AS a
    JOIN stored_messages AS m USING (message_key)
    WHERE a.role = 'tracking' AND list_contains(a.flags, 'forwarding_confirmation')
),
listed AS (
    SELECT message_key, lower(trim(unnest(recipients))) AS address, generate_subscripts(recipients, 1) AS position
    FROM confirmations
),
reached AS (
    SELECT message_key, address
    FROM listed
    WHERE regexp_full_match(address, '[^@\s]+@[^@\s]+\.[^@\s]+')
    QUALIFY row_number() OVER (PARTITION BY message_key ORDER BY
        address IN (SELECT address FROM addresses WHERE kind IN ('tracked', 'distribution')) DESC,
        split_part(address, '@', 2) IN (SELECT domain FROM tracking_domains) DESC, position) = 1
)
SELECT c.message_key, c.received_at, c.point_of_sale, r.address AS tracked_address, c.sender, c.subject,
       c.body_text, c.link_hosts
FROM confirmations AS c
LEFT JOIN reached AS r USING (message_key);

-- pending_forwarding_confirmations(extra_domains, message_keys, mailboxes): of the confirmations
-- `message_keys` (forwarding_confirmations' rows), each asking that the mailbox at the same
-- position of `mailboxes` (lower case; NULL when it could not be read) may forward to the
-- address it reached, those still pending. A confirmation is no longer pending once the forward
-- evidently works: a later copy reached that address relayed (unwrapped forward, X-Forwarded-To/
-- For, Resent-To, or attributed channel forward/redirect) from that mailbox (the forward's From,
-- Resent-From, X-Forwarded-For, or the original's To/Cc, which a redirect keeps); with the
-- mailbox unread, any later relayed copy at that address. A later confirmation for the same
-- address and mailbox supersedes an earlier one (the newer code and link are the ones that
-- work): `confirmations` counts them all, `first_asked` is the first one's time.
CREATE OR REPLACE MACRO pending_forwarding_confirmations(extra_domains, message_keys, mailboxes) AS TABLE
WITH asked AS (
    SELECT unnest(message_keys) AS message_key, lower(unnest(mailboxes)) AS mailbox
),
requests AS (
    SELECT f.*, a.mailbox,
           count(*) OVER pair AS confirmations,
           min(f.received_at) OVER pair AS first_asked,
           row_number() OVER (pair ORDER BY f.received_at DESC, f.message_key DESC) AS newest
    FROM forwarding_confirmations(extra_domains) AS f
    JOIN asked AS a USING (message_key)
    WINDOW pair AS (PARTITION BY f.tracked_address, a.mailbox)
),
confirmed AS (
    SELECT DISTINCT r.message_key
    FROM requests AS r
    JOIN copy_recipients AS c ON c.address = r.tracked_address
    JOIN stored_messages AS m ON m.message_key = c.message_key AND m.received_at > r.received_at
    JOIN attribution AS a ON a.message_key = m.message_key
    WHERE NOT list_contains(a.flags, 'forwarding_confirmation')
      AND (m.forward_kind IS NOT NULL OR len(coalesce(m.forwarded_to, [])) > 0
           OR len(coalesce(m.resent_to, [])) > 0 OR a.channel IN ('forward', 'redirect'))
      AND (r.mailbox IS NULL
           OR list_contains(list_transform(list_concat(coalesce(m.forwarded_to, []), coalesce(m.to_addrs, []),
                                                       coalesce(m.cc_addrs, []), coalesce(m.original_to, []),
                                                       coalesce(m.original_cc, []),
                                                       [m.copy_sender, m.resent_from]),
                                           lambda x: lower(trim(x))), r.mailbox))
)
SELECT message_key, received_at, point_of_sale, tracked_address, mailbox, sender, subject, body_text,
       confirmations, first_asked
FROM requests
WHERE newest = 1 AND message_key NOT IN (SELECT message_key FROM confirmed)
ORDER BY point_of_sale NULLS LAST, received_at, message_key;
