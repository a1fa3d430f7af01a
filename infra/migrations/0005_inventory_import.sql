-- 0005: what the inventory importer needs from `vehicles`.
--
-- Every import writes the vehicles of its feed that are new or changed, and deactivates the
-- active vehicles it does not list. Most rows of a daily feed are unchanged, and most changes
-- are a price, so both must be cheap:
--
--   * `search_vector` stops being a generated column: PostgreSQL recomputes a stored generated
--     column on every UPDATE, and the english tsvector of a vehicle costs ~36 µs — more than
--     the rest of a "seen again" update. A trigger now computes it on INSERT and only when one
--     of its source columns changed.
--   * the importer does not write unchanged rows at all; the commonest change, a new price,
--     touches no indexed column once the price index is gone, so with fillfactor 75 (room
--     for one more version of a ~1 kB row in its page) it is a HOT update: no index entry,
--     above all none in the three GIN indexes, is written for it.
--   * indexes that cost every insert and non-HOT update more than they return are dropped:
--     (dealership_id, make, model, year), a twin of the active one; status (rarely filtered,
--     never selective); last_import_id (only read by id); the active price index (a price
--     range is filtered within the dealership's rows, which another index finds).
--   * make and model are searched case-insensitively, so the active search index is on
--     lower(make), lower(model).
--   * the importer finds a vehicle by VIN with statistics that may be stale (a large first
--     import: the statistics say the dealership has no vehicles, so every index that starts
--     with dealership_id looks equally cheap, and the planner may pick one that reads the
--     whole lot per row). The identity indexes therefore lead with the VIN (or the stock
--     number), whose statistics never mislead, and the importer's probe compares the
--     dealership in a form no index serves.
--   * the full-text index leads with dealership_id (btree_gin): a word common in every
--     dealer's descriptions ("leather") is looked up within one dealership, not across all.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

ALTER TABLE vehicles ALTER COLUMN search_vector DROP EXPRESSION;

CREATE FUNCTION rylie_vehicle_search_vector() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.search_vector :=
          setweight(to_tsvector('english'::regconfig, coalesce(NEW.make, '')), 'A')
       || setweight(to_tsvector('english'::regconfig, coalesce(NEW.model, '')), 'A')
       || setweight(to_tsvector('english'::regconfig, coalesce(NEW."trim", '') || ' ' || NEW.year::text), 'B')
       || setweight(to_tsvector('english'::regconfig,
                        coalesce(NEW.exterior_color, '') || ' ' || coalesce(NEW.interior_color, '') || ' '
                        || coalesce(NEW.body_style, '') || ' ' || coalesce(NEW.fuel_type, '') || ' '
                        || coalesce(NEW.drivetrain, '')), 'C')
       || setweight(jsonb_to_tsvector('english'::regconfig, NEW.features, '["string"]'::jsonb), 'C')
       || setweight(to_tsvector('english'::regconfig, coalesce(NEW.description, '')), 'D');
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION rylie_vehicle_search_vector() IS
    'Computes vehicles.search_vector: make/model (A), trim+year (B), colours/body/fuel/drivetrain/features (C), description (D).';

CREATE TRIGGER vehicles_search_vector_insert BEFORE INSERT ON vehicles
    FOR EACH ROW EXECUTE FUNCTION rylie_vehicle_search_vector();
CREATE TRIGGER vehicles_search_vector_update BEFORE UPDATE ON vehicles
    FOR EACH ROW
    WHEN (OLD.make IS DISTINCT FROM NEW.make OR OLD.model IS DISTINCT FROM NEW.model
       OR OLD."trim" IS DISTINCT FROM NEW."trim" OR OLD.year IS DISTINCT FROM NEW.year
       OR OLD.exterior_color IS DISTINCT FROM NEW.exterior_color
       OR OLD.interior_color IS DISTINCT FROM NEW.interior_color
       OR OLD.body_style IS DISTINCT FROM NEW.body_style OR OLD.fuel_type IS DISTINCT FROM NEW.fuel_type
       OR OLD.drivetrain IS DISTINCT FROM NEW.drivetrain OR OLD.features IS DISTINCT FROM NEW.features
       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION rylie_vehicle_search_vector();

DROP INDEX vehicles_search_idx;
DROP INDEX vehicles_last_import_idx;
DROP INDEX vehicles_status_idx;
DROP INDEX vehicles_active_price_idx;
DROP INDEX vehicles_active_search_idx;
CREATE INDEX vehicles_active_search_idx ON vehicles (dealership_id, lower(make), lower(model), year)
    WHERE is_active;
ALTER TABLE vehicles DROP CONSTRAINT vehicles_dealership_vin_key;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_vin_dealership_key UNIQUE (vin, dealership_id);
DROP INDEX vehicles_dealership_stock_number_no_vin_key;
CREATE UNIQUE INDEX vehicles_stock_number_no_vin_key ON vehicles (stock_number, dealership_id) WHERE vin IS NULL;
CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX vehicles_search_vector_idx;
CREATE INDEX vehicles_search_vector_idx ON vehicles USING gin (dealership_id, search_vector);

ALTER TABLE vehicles SET (fillfactor = 75);

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
