-- What the analytics read of the stored copies and the applied configuration, through views
-- like every other read (the tables behind them belong to the store and may change shape).

-- The facts of the bytes of every stored copy (docs/ARCHITECTURE.md, "Two kinds of facts"), as
-- the attribution reads them: `emailtrack senders` scores unrecognised copies again to suggest a
-- portal, and the health alerts count the copies whose body gives a prospect's contact
-- (`has_contact`). Prospects' personal data in clear, as in `messages`.
CREATE OR REPLACE VIEW copy_facts AS
SELECT * FROM stored_messages;

-- The portals as last applied (the built-in catalogue merged with the workspace's [[portals]]):
-- the names the reports show for portal ids.
CREATE OR REPLACE VIEW portal_catalogue AS
SELECT id, name, kind FROM portals;
