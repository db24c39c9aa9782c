-- Copies at tracked addresses that the portal rules did not recognise (no portal, and neither
-- spam nor an auto-reply), that they recognised but could not classify ('other'), or that came
-- from a sender the catalogue does not list for their portal ('new_sender'): what an analyst
-- reads to add a sender or a template in a minute (`emailtrack senders`, docs/attribution.md).
-- A provider's forwarding confirmation is none of these: no portal rule is to be added for it
-- (`emailtrack status` lists it instead).
CREATE OR REPLACE VIEW unrecognised_copies AS
SELECT
    a.message_key,
    a.month,
    m.received_at,
    lower(m.sender) AS sender,
    nullif(split_part(lower(m.sender), '@', 2), '') AS domain,
    m.sender_name,
    m.subject,
    a.portal,
    a.category,
    a.point_of_sale,
    a.flags,
    CASE WHEN a.portal IS NULL THEN 'unattributed'
         WHEN a.category = 'other' THEN 'other'
         ELSE 'new_sender' END AS reason
FROM attribution AS a
JOIN stored_messages AS m USING (message_key)
WHERE a.role = 'tracking'
  AND NOT list_contains(a.flags, 'forwarding_confirmation')
  AND ((a.portal IS NULL AND a.category NOT IN ('spam', 'auto_reply'))
       OR a.category = 'other'
       OR list_contains(a.flags, 'new_sender'));
