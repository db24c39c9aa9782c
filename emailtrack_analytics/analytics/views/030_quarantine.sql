-- Everything read that could not be stored, with where it was and why.
CREATE OR REPLACE VIEW quarantine AS
SELECT source, reason, detail, file_path, size, quarantined_at
FROM quarantine_items;
