-- Durable, detached execution (engine executor).
-- `request_hash`: a fingerprint of the validated request, so a reused idempotency key with a
-- different body is refused (422) instead of silently replaying another action.
ALTER TABLE operations ADD COLUMN request_hash TEXT;
CREATE INDEX operations_product_created ON operations (product, created_at);
