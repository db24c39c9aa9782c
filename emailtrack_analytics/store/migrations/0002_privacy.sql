
-- the key of the workspace's pseudonyms (analytics/views/005_privacy.sql); created with the database
CREATE TABLE privacy_key (
    key VARCHAR NOT NULL
);
-- people erased with `emailtrack forget`, by pseudonym only, so that a copy ingested later is
-- erased too without keeping the address itself
CREATE TABLE forgotten (
    pseudonym VARCHAR PRIMARY KEY,
    kind VARCHAR,           -- email | phone
    forgotten_at TIMESTAMP
);
-- what forget and purge did, without personal data: when, what, how many rows per table
CREATE TABLE erasures (
    erased_at TIMESTAMP,
    action VARCHAR,         -- forget | purge
    scope VARCHAR,          -- a pseudonym, or 'before YYYY-MM'
    counts VARCHAR          -- JSON: table -> rows erased
);
