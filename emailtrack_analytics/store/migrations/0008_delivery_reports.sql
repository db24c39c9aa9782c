
-- a delivery failure report's failed recipients, with the status, action and diagnostic of each
-- (ingest/parsing/reports.py); filled when a copy is parsed (stored copies are parsed again
-- once, PARSER_VERSION 11)
ALTER TABLE stored_messages ADD COLUMN report_recipients VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN report_statuses VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN report_actions VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN report_diagnostics VARCHAR[];
