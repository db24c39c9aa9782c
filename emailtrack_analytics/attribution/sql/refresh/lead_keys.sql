-- The lead keys, computed by attribution/refresh.py (_assign_lead_keys says how) in these steps,
-- in this order (not views: this folder is not run by store/db.py). lead_references(tz) is the
-- macro of ../020_leads.sql: one row per (copy, content reference), read in the workspace's
-- time zone (?). References are grouped by their 64-bit hashes: a few bytes per copy.

-- name: anchored
-- the content references of copies with a Message-ID
CREATE OR REPLACE TEMP TABLE _anchored AS
SELECT DISTINCT hash(fp_ref) AS fp_ref, hash(id_ref) AS id_ref
FROM lead_references(?) WHERE starts_with(id_ref, 'id:')

-- name: lead_pairs
-- the (copy, reference) pairs of copies without one, each labelled by its smaller hash
CREATE OR REPLACE TEMP TABLE _lead_pairs AS
SELECT DISTINCT hash(id_ref) AS id_ref, hash(fp_ref) AS fp_ref, least(hash(id_ref), hash(fp_ref)) AS label
FROM lead_references(?) WHERE NOT starts_with(id_ref, 'id:')

-- name: spread_labels
-- one step of spreading the smallest label along shared references; run until it changes nothing
WITH by_id AS (SELECT id_ref, min(label) AS label FROM _lead_pairs GROUP BY id_ref),
     by_fp AS (SELECT fp_ref, min(label) AS label FROM _lead_pairs GROUP BY fp_ref),
     spread AS (
         SELECT p.id_ref, p.fp_ref, least(i.label, f.label) AS label
         FROM _lead_pairs AS p
         JOIN by_id AS i USING (id_ref)
         JOIN by_fp AS f USING (fp_ref)
     )
UPDATE _lead_pairs SET label = spread.label FROM spread
WHERE _lead_pairs.id_ref = spread.id_ref AND _lead_pairs.fp_ref = spread.fp_ref
  AND spread.label < _lead_pairs.label

-- name: joined
-- each group of copies without a Message-ID: the Message-IDs sharing references with it
CREATE OR REPLACE TEMP TABLE _joined AS
SELECT g.label, a.id_ref, count(*) AS shared
FROM (SELECT DISTINCT label, fp_ref FROM _lead_pairs) AS g
JOIN _anchored AS a USING (fp_ref)
GROUP BY ALL

-- name: unjoin_other_prospects
-- unless they name another prospect (an email, phone or name of the prospect on both sides,
-- none in common: a common preamble or footer matched, not the lead)
DELETE FROM _joined WHERE (label, id_ref) IN (
    WITH lead_marks AS (
        SELECT m.message_key, coalesce('id:' || m.original_message_id, 'mk:' || m.message_key) AS reference,
               unnest(m.identity_marks) AS mark
        FROM stored_messages AS m JOIN attribution AS a USING (message_key)
        WHERE a.category = 'lead' AND len(m.identity_marks) > 0
    ),
    who AS (SELECT * FROM lead_marks WHERE split_part(mark, ':', 1) IN ('email', 'phone', 'name')),
    free_who AS (
        SELECT p.label, split_part(w.mark, ':', 1) AS kind, list(DISTINCT w.mark) AS marks
        FROM who AS w JOIN (SELECT DISTINCT id_ref, label FROM _lead_pairs) AS p ON p.id_ref = hash(w.reference)
        WHERE p.label IN (SELECT label FROM _joined)
        GROUP BY ALL
    ),
    anchored_who AS (
        SELECT hash(reference) AS id_ref, split_part(mark, ':', 1) AS kind, list(DISTINCT mark) AS marks
        FROM who WHERE starts_with(reference, 'id:') AND hash(reference) IN (SELECT id_ref FROM _joined)
        GROUP BY ALL
    )
    SELECT j.label, j.id_ref
    FROM _joined AS j
    JOIN free_who AS f USING (label)
    JOIN anchored_who AS w ON w.id_ref = j.id_ref AND w.kind = f.kind
    WHERE NOT list_has_any(f.marks, w.marks)
)

-- name: clear_keys_of_non_leads
UPDATE attribution SET lead_key = NULL WHERE lead_key IS NOT NULL AND category <> 'lead'

-- name: keyed
-- the keys: a hash of the Message-ID reference, else of the group's reference (the Message-ID
-- sharing the most references with it, the smallest on a tie, else its smallest reference)
CREATE OR REPLACE TEMP TABLE _keyed AS
    WITH refs AS (SELECT message_key, id_ref, fp_ref FROM lead_references(?)),
    free AS (
        SELECT r.message_key, r.id_ref, r.fp_ref, p.label
        FROM refs AS r
        JOIN _lead_pairs AS p ON p.id_ref = hash(r.id_ref) AND p.fp_ref = hash(r.fp_ref)
        WHERE NOT starts_with(r.id_ref, 'id:')
    ),
    names AS (  -- the Message-ID references voted for, by hash
        SELECT DISTINCT hash(id_ref) AS hashed, id_ref FROM refs
        WHERE starts_with(id_ref, 'id:') AND hash(id_ref) IN (SELECT id_ref FROM _joined)
    ),
    best AS (
        SELECT j.label, n.id_ref
        FROM _joined AS j JOIN names AS n ON n.hashed = j.id_ref
        QUALIFY row_number() OVER (PARTITION BY j.label ORDER BY j.shared DESC, n.id_ref) = 1
    ),
    groups AS (
        SELECT f.label, coalesce(any_value(b.id_ref), least(min(f.id_ref), min(f.fp_ref))) AS reference
        FROM free AS f LEFT JOIN best AS b USING (label)
        GROUP BY f.label
    )
    SELECT DISTINCT message_key, substr(sha256(id_ref), 1, 16) AS lead_key
    FROM refs WHERE starts_with(id_ref, 'id:')
    UNION ALL
    SELECT DISTINCT f.message_key, substr(sha256(g.reference), 1, 16) AS lead_key
    FROM free AS f JOIN groups AS g USING (label)

-- name: rekeyed
-- the copies whose key changes: an incremental refresh judges again the mail-log deliveries
-- they concern (log_leads.sql)
INSERT INTO _touched_copies
SELECT k.message_key FROM _keyed AS k JOIN attribution AS a USING (message_key)
WHERE a.lead_key IS DISTINCT FROM k.lead_key

-- name: write_keys
-- only the copies whose key changes are written
UPDATE attribution SET lead_key = k.lead_key
FROM _keyed AS k
WHERE attribution.message_key = k.message_key
  AND attribution.lead_key IS DISTINCT FROM k.lead_key

-- name: drop_scratch
DROP TABLE _keyed;
DROP TABLE _lead_pairs;
DROP TABLE _anchored;
DROP TABLE _joined;
