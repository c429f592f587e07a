-- Issue 15: the audit chain is keyed (HMAC-SHA256 under a key kept outside the database), as in
-- SQLite's 0017. `keyed` = 1 once every row's hash is an HMAC. A chain written unkeyed is
-- re-keyed once, at the first start with a key (`Store::use_audit_key`): the unkeyed chain is
-- verified first, then every row's prev_hash and hash are recomputed under the key in one
-- transaction holding the head's row lock. Only that transaction may update audit rows: it
-- raises `rekeying` while it runs (the trigger below reads it in the same transaction).
ALTER TABLE audit_head ADD COLUMN keyed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN rekeying BIGINT NOT NULL DEFAULT 0;

DROP TRIGGER audit_log_no_update ON audit_log;
CREATE FUNCTION audit_log_update_only_while_rekeying() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rekeying FROM audit_head WHERE id = 1) = 0 THEN
        RAISE EXCEPTION 'audit_log is append-only';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_update_only_while_rekeying();
