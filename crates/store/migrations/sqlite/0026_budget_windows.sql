-- Budget windows shared by processes on one database (issue 12 §4; the PostgreSQL migration of
-- the same number explains them). SQLite runs one gateway per data directory, which keeps its
-- windows in memory, so this table serves the store's own behaviour (the same on both back ends)
-- rather than a second writer. `at` is microseconds since the Unix epoch.
CREATE TABLE budget_calls (
    window_key  TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX budget_calls_window ON budget_calls (window_key, at);
