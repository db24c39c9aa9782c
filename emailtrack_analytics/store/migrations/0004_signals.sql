
-- what says which portal sent a copy besides its From address (parsing/signals.py); filled
-- when a copy is parsed (stored copies are parsed again once, PARSER_VERSION 9)
ALTER TABLE stored_messages ADD COLUMN reply_to_domains VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN return_path_domain VARCHAR;
ALTER TABLE stored_messages ADD COLUMN sender_header_domain VARCHAR;
ALTER TABLE stored_messages ADD COLUMN dkim_domains VARCHAR[];
ALTER TABLE stored_messages ADD COLUMN list_id VARCHAR;
ALTER TABLE stored_messages ADD COLUMN link_hosts VARCHAR[];
