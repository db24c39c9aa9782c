-- Pseudonyms for prospects' personal data (docs/privacy.md). A keyed hash: the key is random,
-- one per workspace (table privacy_key), so that the same prospect gets the same pseudonym in
-- every export of this workspace (repeat prospects can still be counted) while a pseudonym
-- cannot be reversed by hashing a list of known addresses without the key.
CREATE OR REPLACE MACRO pseudonym(value) AS
    CASE WHEN value IS NULL OR trim(value) = '' THEN NULL
         ELSE 'p-' || left(sha256((SELECT key FROM privacy_key LIMIT 1) || lower(trim(value))), 16) END;

-- Addresses that are not a person's: role names (no-reply@, contact@, formulaire@...) that portals
-- and websites send from, and the workspace's own mailboxes and tracked addresses.
CREATE OR REPLACE MACRO is_role_address(address) AS
    regexp_matches(split_part(address, '@', 1),
        '^(no-?reply|noreply|ne-?pas-?r[eé]pondre|nepasrepondre|do-?not-?reply|donotreply|'
        || 'notifications?|notif|alertes?|alerts?|news|newsletters?|infos?|contacts?|formulaire|'
        || 'webmaster|mailer-daemon|postmaster|bounces?|support|services?|annonces?|leads?|pro|'
        || 'agence|accueil|hello|bonjour|messagerie|mail|email|courrier|robot|system)([-_.+][a-z]+)?$');

CREATE OR REPLACE MACRO is_public_address(address) AS
    is_role_address(address) OR address IN (SELECT a.address FROM addresses AS a);

-- An address with its local part replaced by a pseudonym, the domain kept (portal analysis
-- needs it); public addresses unchanged.
CREATE OR REPLACE MACRO pseudonymous_address(address) AS
    CASE WHEN address IS NULL OR address = '' THEN address
         WHEN is_public_address(lower(address)) THEN address
         WHEN contains(address, '@') THEN pseudonym(address) || '@' || split_part(address, '@', 2)
         ELSE pseudonym(address) END;

-- A subject (or any text) with the prospect's known details replaced by their pseudonyms.
CREATE OR REPLACE MACRO without_details(text, name, email, phone) AS
    replace(replace(replace(text,
        CASE WHEN coalesce(length(name), 0) < 3 THEN chr(0) ELSE name END, coalesce(pseudonym(name), '')),
        CASE WHEN coalesce(email, '') = '' THEN chr(0) ELSE email END, coalesce(pseudonymous_address(email), '')),
        CASE WHEN coalesce(phone, '') = '' THEN chr(0) ELSE phone END, coalesce(pseudonym(phone), ''));
