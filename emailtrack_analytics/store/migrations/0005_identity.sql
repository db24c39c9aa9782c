
-- what links the copies of one lead whatever their path (attribution/identity.py); filled when a
-- copy is parsed (stored copies are parsed again once, PARSER_VERSION 10)
ALTER TABLE stored_messages ADD COLUMN date_zone VARCHAR;
ALTER TABLE stored_messages ADD COLUMN identity_marks VARCHAR[];
