-- The lead keys, computed by attribution/refresh.py (_assign_lead_keys says how) in these steps,
-- in this order (not views: this folder is not run by store/db.py). lead_references_of(tz, copies)
-- is the macro of ../020_leads.sql: one row per (copy, content reference), read in the workspace's
-- time zone, for the copies of the table or view named `copies` (the first two parameters of
-- anchored, lead_pairs and keyed, the one of unjoin_other_prospects): every lead copy
-- (lead_reference_copies) in a full refresh, the copies of _scope_copies in an incremental one.
-- References are grouped by their 64-bit hashes: a few bytes per copy.

-- name: scope_start
-- An incremental refresh keys again only the lead copies whose key the new copies can change:
-- those linked to one of them, directly or through others, by a content reference or a Message-ID
-- (a link between two Message-IDs included, which never joins them: a superset, and what every
-- key depends on). A key depends only on the copies so linked, so keying them alone gives the
-- keys a full refresh gives them. The scope starts with the new lead copies (_touched_copies);
-- two copies sharing a reference were sent within 18 hours of each other (a guessed forward time
-- is tried two hours either way, and read in the workspace's zone, at most 14 hours from UTC),
-- so the candidates are the lead copies received the day before, on or after the day of a copy
-- in scope, with the copies of its Message-ID and, stored before identity marks, of its content
-- fingerprint; the scope grows to what links to it among them until it covers what it reaches.
CREATE OR REPLACE TEMP TABLE _lead_seeds AS
SELECT DISTINCT message_key FROM _touched_copies JOIN attribution USING (message_key) WHERE category = 'lead';
CREATE OR REPLACE TEMP TABLE _lead_scope AS SELECT message_key FROM _lead_seeds;
CREATE OR REPLACE TEMP TABLE _scope_days (day DATE);
CREATE OR REPLACE TEMP TABLE _scope_ids (id VARCHAR);
CREATE OR REPLACE TEMP TABLE _scope_prints (print VARCHAR);
CREATE OR REPLACE TEMP TABLE _scope_copies AS SELECT * FROM lead_reference_copies LIMIT 0;

-- name: scope_days
-- the days the scope reaches that the candidates do not cover yet (returns how many)
INSERT INTO _scope_days
SELECT DISTINCT m.received_at::DATE + d.shift
FROM _lead_scope JOIN stored_messages AS m USING (message_key)
CROSS JOIN (SELECT unnest([-1, 0, 1]) AS shift) AS d
WHERE m.received_at IS NOT NULL
EXCEPT SELECT day FROM _scope_days

-- name: scope_ids
INSERT INTO _scope_ids
SELECT DISTINCT m.original_message_id
FROM _lead_scope JOIN stored_messages AS m USING (message_key)
WHERE m.original_message_id IS NOT NULL
EXCEPT SELECT id FROM _scope_ids

-- name: scope_prints
INSERT INTO _scope_prints
SELECT DISTINCT m.content_fingerprint
FROM _lead_scope JOIN stored_messages AS m USING (message_key)
WHERE coalesce(len(m.identity_marks), 0) = 0 AND m.content_fingerprint IS NOT NULL
EXCEPT SELECT print FROM _scope_prints

-- name: scope_candidates
-- the lead copies on the days, of the Message-IDs and of the fingerprints covered, not yet held,
-- each found by the column that says so ($1 and $2: the first day covered and the day after the
-- last, so that the scan reads only the row groups of those days)
INSERT INTO _scope_copies
SELECT c.* FROM lead_reference_copies AS c
WHERE c.message_key IN (
    SELECT message_key FROM stored_messages
    WHERE received_at >= ?::DATE AND received_at < ?::DATE AND received_at::DATE IN (SELECT day FROM _scope_days)
    UNION
    SELECT message_key FROM stored_messages WHERE original_message_id IN (SELECT id FROM _scope_ids)
    UNION
    SELECT message_key FROM stored_messages
    WHERE content_fingerprint IN (SELECT print FROM _scope_prints) AND coalesce(len(identity_marks), 0) = 0
)
  AND c.message_key NOT IN (SELECT message_key FROM _scope_copies)

-- name: scope_links
-- the candidates' links, each labelled by its smaller hash (spread_labels spreads them)
CREATE OR REPLACE TEMP TABLE _scope_refs AS
SELECT DISTINCT message_key, hash(id_ref) AS id_ref, hash(fp_ref) AS fp_ref
FROM lead_references_of(?, '_scope_copies')

-- name: scope_pairs
CREATE OR REPLACE TEMP TABLE _lead_pairs AS
SELECT DISTINCT id_ref, fp_ref, least(id_ref, fp_ref) AS label FROM _scope_refs;

-- name: scope_grow
-- the scope: the candidates linked to a new lead copy
CREATE OR REPLACE TEMP TABLE _lead_scope AS
WITH labelled AS (
    SELECT r.message_key, p.label FROM _scope_refs AS r JOIN _lead_pairs AS p USING (id_ref, fp_ref)
)
SELECT DISTINCT message_key FROM labelled
WHERE label IN (SELECT label FROM labelled SEMI JOIN _lead_seeds USING (message_key));

-- name: scope_keep
-- only the copies in scope are keyed
DELETE FROM _scope_copies WHERE message_key NOT IN (SELECT message_key FROM _lead_scope);
DROP TABLE IF EXISTS _scope_refs;
DROP TABLE IF EXISTS _lead_pairs;
DROP TABLE _lead_seeds;
DROP TABLE _scope_days;
DROP TABLE _scope_ids;
DROP TABLE _scope_prints;

-- name: anchored
-- the content references of copies with a Message-ID
CREATE OR REPLACE TEMP TABLE _anchored AS
SELECT DISTINCT hash(fp_ref) AS fp_ref, hash(id_ref) AS id_ref
FROM lead_references_of(?, ?) WHERE starts_with(id_ref, 'id:')

-- name: lead_pairs
-- the (copy, reference) pairs of copies without one, each labelled by its smaller hash
CREATE OR REPLACE TEMP TABLE _lead_pairs AS
SELECT DISTINCT hash(id_ref) AS id_ref, hash(fp_ref) AS fp_ref, least(hash(id_ref), hash(fp_ref)) AS label
FROM lead_references_of(?, ?) WHERE NOT starts_with(id_ref, 'id:')

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
        FROM query_table(?) AS m
        WHERE len(m.identity_marks) > 0
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
    WITH refs AS (SELECT message_key, id_ref, fp_ref FROM lead_references_of(?, ?)),
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
-- the copies whose key changes, with their old and new keys: an incremental refresh stores again
-- the leads of both (store_leads) and judges again the mail-log deliveries they concern
-- (log_leads.sql)
CREATE OR REPLACE TEMP TABLE _rekeyed AS
SELECT k.message_key, a.lead_key AS old_key, k.lead_key AS new_key
FROM _keyed AS k JOIN attribution AS a USING (message_key)
WHERE a.lead_key IS DISTINCT FROM k.lead_key;
INSERT INTO _touched_copies SELECT message_key FROM _rekeyed

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
