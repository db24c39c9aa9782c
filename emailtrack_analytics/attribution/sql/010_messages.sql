-- One row per stored message copy, attributed with the current configuration.
-- Contract columns first (docs/exports.md); times are UTC, `month` is in the workspace zone.
CREATE OR REPLACE VIEW messages AS
SELECT
    m.message_key,
    m.message_id,
    m.received_at,
    a.month,
    m.sender,
    m.subject,
    a.point_of_sale,
    a.portal,
    a.channel,
    a.category,
    CASE WHEN a.category = 'lead' THEN a.lead_key END AS lead_key,
    a.role,
    m.first_source AS source,
    -- extras
    a.local_date,
    a.local_hour,
    a.weekday,
    a.flags,
    m.copy_sender,
    m.copy_subject,
    m.forward_kind,
    m.date_source,
    m.size
FROM stored_messages AS m
JOIN attribution AS a USING (message_key);

-- Every delivery a mail log records to a point of sale's own mailbox: the evidence that
-- refresh.py judges (sql/refresh/log_leads.sql) into `log_leads`.
CREATE OR REPLACE VIEW mailbox_deliveries AS
SELECT e.row_key, a.point_of_sale, e.event_time, e.message_id, e.sender, e.subject
FROM log_events AS e
JOIN addresses AS a ON a.address = e.recipient
WHERE a.kind = 'mailbox' AND e.status = 'sent';
