-- Interactive calls waiting for a shared budget window (issue 12 §2; the PostgreSQL migration of
-- the same number explains them). `until` is microseconds since the Unix epoch.
CREATE TABLE budget_waiters (
    window_key  TEXT NOT NULL,
    waiter      TEXT NOT NULL,
    until       INTEGER NOT NULL,
    PRIMARY KEY (window_key, waiter)
);
