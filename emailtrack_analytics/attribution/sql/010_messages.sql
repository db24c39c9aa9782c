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
