-- 0005: what the inventory importer needs from `vehicles`.
--
-- Every import marks each vehicle it contains as seen (`last_seen = now()`, the transaction's
-- start, the same for every row of one import), then deactivates the active vehicles it did
-- not see. Most rows of a daily feed are unchanged, so "seen again" must be cheap:
--
--   * `updated_at` keeps meaning "the vehicle changed": the trigger skips an update that only
--     moves last_seen (content hash and active flag unchanged).
--   * fillfactor 90 leaves room in each page, so that update is a HOT update (last_seen is in
--     no index): no index entry, above all none in the GIN indexes, is written for it.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

DROP TRIGGER vehicles_touch_updated_at ON vehicles;
CREATE TRIGGER vehicles_touch_updated_at BEFORE UPDATE ON vehicles
    FOR EACH ROW
    WHEN (NOT (OLD.last_seen IS DISTINCT FROM NEW.last_seen
               AND OLD.content_hash IS NOT DISTINCT FROM NEW.content_hash
               AND OLD.is_active = NEW.is_active))
    EXECUTE FUNCTION rylie_touch_updated_at();

ALTER TABLE vehicles SET (fillfactor = 90);

-- The mass-deactivation guard's threshold, per dealership: an import that would deactivate
-- more than this share of the active inventory waits for a person to confirm it.
ALTER TABLE dealerships
    ADD COLUMN inventory_deactivation_limit numeric(4,3) NOT NULL DEFAULT 0.5
        CONSTRAINT dealerships_inventory_deactivation_limit_check
            CHECK (inventory_deactivation_limit > 0 AND inventory_deactivation_limit <= 1);

COMMENT ON COLUMN dealerships.inventory_deactivation_limit IS
    'Share of active vehicles (0-1] a full feed may deactivate before it needs confirmation.';

-- What a file was, where it came from, so a redelivered notification records it once:
-- "s3://bucket/key#sequencer" for an S3 drop, "<message-id>#<attachment>" for e-mail.
ALTER TABLE inventory_imports ADD COLUMN source_ref text;
CREATE UNIQUE INDEX inventory_imports_source_ref_key ON inventory_imports (dealership_id, source_ref);
