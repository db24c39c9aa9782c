-- Statements of attribution/refresh.py that store the leads (not views: this folder is not run
-- by store/db.py). The grouping itself is the leads_grouped_in macro of ../020_leads.sql.

-- name: lead_months
-- the months of the lead copies (tracking copies with a lead key), with how many each holds
SELECT month, count(*)
FROM attribution
WHERE category = 'lead' AND role = 'tracking' AND lead_key IS NOT NULL AND month IS NOT NULL
GROUP BY month
ORDER BY month

-- name: store_leads_of_months
-- the leads whose month is one of the list ($1, VARCHAR[])
INSERT INTO lead_rows BY NAME
SELECT * FROM leads_grouped_in(?::VARCHAR[])

-- name: changed_leads
-- the leads an incremental refresh can have changed: those of the copies attributed or re-keyed
-- since the last refresh (_touched_copies), under their new keys and, for the re-keyed, their
-- old ones (_rekeyed)
SELECT DISTINCT a.lead_key FROM _touched_copies JOIN attribution AS a USING (message_key) WHERE a.lead_key IS NOT NULL
UNION SELECT old_key FROM _rekeyed WHERE old_key IS NOT NULL

-- name: store_leads_of_keys
-- the leads of the keys $1 (VARCHAR[]), whatever their month
INSERT INTO lead_rows BY NAME
SELECT * FROM leads_grouped_in(NULL, keys := ?::VARCHAR[])
