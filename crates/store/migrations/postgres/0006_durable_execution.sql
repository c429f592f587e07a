-- Durable, detached execution (engine executor). Mirror of migrations/sqlite/0006.
ALTER TABLE operations ADD COLUMN request_hash TEXT;
CREATE INDEX operations_product_created ON operations (product, created_at);
