-- One row per delivery line of a mail log (and per row of the distribution log), with the
-- point of sale its recipient (or original recipient) belongs to. Contract columns first.
CREATE OR REPLACE VIEW forward_events AS
SELECT
    e.event_time,
    e.log_kind,
    e.message_id,
    e.sender,
    e.recipient,
    e.original_recipient,
    e.status,
    coalesce(r.point_of_sale, o.point_of_sale) AS point_of_sale,
    -- extras
    coalesce(r.kind, o.kind) AS address_kind,
    e.relay,
    e.queue_id,
    e.detail,
    e.source
FROM log_events AS e
LEFT JOIN addresses AS r ON r.address = e.recipient
LEFT JOIN addresses AS o ON o.address = e.original_recipient
UNION ALL
SELECT
    d.received_at AS event_time,
    'distribution' AS log_kind,
    d.message_id,
    d.sender,
    d.delivered_to AS recipient,
    NULL AS original_recipient,
    'sent' AS status,
    a.point_of_sale,
    a.kind AS address_kind,
    NULL AS relay,
    NULL AS queue_id,
    d.subject AS detail,
    d.source
FROM distribution_log AS d
LEFT JOIN addresses AS a ON a.address = d.delivered_to;
