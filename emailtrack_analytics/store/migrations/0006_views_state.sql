
-- a digest of the view definitions last created (store/db.py ensure_views): a reader opening
-- the file read-only can tell that the views are those of its own version
CREATE TABLE views_state (
    digest VARCHAR
);
