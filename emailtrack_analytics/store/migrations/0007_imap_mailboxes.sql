-- what was read of each IMAP mailbox (ingest/imap_read.py): the folder's UIDVALIDITY and the
-- highest UID whose copy is stored, written in the transaction that stores that copy, so that
-- the next run fetches only the UIDs above it
CREATE TABLE imap_mailboxes (
    mailbox VARCHAR PRIMARY KEY,  -- the mailbox's URL without any secret: imap://user@host:port/FOLDER
    uidvalidity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    read_at TIMESTAMP
);
