-- Issue 15: the audit chain becomes keyed (HMAC-SHA256 with a key kept outside the database).
-- `keyed` = 1 once every row's hash is an HMAC. Existing chains are re-keyed once, at the
-- first start with a key (`Store::use_audit_key`): the unkeyed chain is verified first, then
-- every row's prev_hash and hash are recomputed under the key in one transaction. Only that
-- transaction may update audit rows: it raises `rekeying` while it runs.
ALTER TABLE audit_head ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN rekeying INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN (SELECT rekeying FROM audit_head WHERE id = 1) = 0
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
