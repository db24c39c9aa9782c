-- What exports and the Python API show by default: the same rows with prospects' contact
-- details replaced by pseudonyms (005_privacy.sql). `--personal-data` reads the plain views.
CREATE OR REPLACE VIEW messages_pseudonymous AS
SELECT m.* REPLACE (
    pseudonymous_address(m.sender) AS sender,
    without_details(m.subject, d.name, d.email, d.phone) AS subject,
    pseudonymous_address(m.copy_sender) AS copy_sender,
    without_details(m.copy_subject, d.name, d.email, d.phone) AS copy_subject)
FROM messages AS m
LEFT JOIN lead_details AS d USING (message_key);

CREATE OR REPLACE VIEW forward_events_pseudonymous AS
SELECT e.* REPLACE (
    pseudonymous_address(e.sender) AS sender,
    pseudonymous_address(e.recipient) AS recipient,
    pseudonymous_address(e.original_recipient) AS original_recipient,
    NULL::VARCHAR AS detail)
FROM forward_events AS e;

CREATE OR REPLACE VIEW lead_contacts_pseudonymous AS
SELECT c.* REPLACE (
    pseudonym(c.name) AS name,
    pseudonymous_address(c.email) AS email,
    pseudonym(c.phone) AS phone)
FROM lead_contacts AS c;
