-- 0011: what a vehicle costs the importer to write.
--
-- Measured on the inventory bench (`rylie-ops bench inventory`, day-2 feed: 100,000 vehicles,
-- half of them repriced, 10% gone, 10% new), once the importer stopped sending unchanged rows
-- (rylie-store `inventory`): an update cost ~70 µs a row and an insert ~190 µs, of which the
-- search trigger ~120 µs.
--
--   * Inserts: the trigger's two expressions (the english tsvector, the lexeme signature of
--     0007) cost four times as much evaluated row by row in PL/pgSQL as in one set-based
--     statement. The document is now one SQL function, `rylie_vehicle_document`, that
--     PostgreSQL inlines where it is called; the importer computes both columns in its
--     INSERT, and the insert trigger only runs for writers that leave them out (tests, seed,
--     an operator's psql). A writer gives both or neither: search_signature is NOT NULL.
--   * Updates: a repriced vehicle touches no indexed column, so its update is HOT (no new
--     entry in any of the seven indexes) when its page has room for the new version. 0005's
--     fillfactor 75 left room for one more ~1 kB version in a page of six; a feed that
--     reprices half the lot needs three. Fillfactor 60 leaves room for three in a page of
--     five. Measured on a copy of the bench's lot: 10,000 repricings took 250 ms as HOT
--     updates against 550–630 ms otherwise. It applies to pages written from now on; an
--     existing lot gets it as its rows are rewritten, or at once with
--     `VACUUM FULL vehicles` (locks the table) in a maintenance window.
--   * Both: the foreign key from vehicles.last_import_id to inventory_imports checked the
--     import once for every vehicle written (~10 µs a row: a key-share lock and an index
--     probe of the same import row, 55,000 times on the bench's day-2 feed). Imports are never
--     deleted but with their dealership, whose vehicles go with it, and only the importer
--     writes the column, with the import it is running; the key is dropped, the column stays
--     as provenance.
--
-- The document is unchanged (same parts, same weights): stored vectors and signatures stay
-- valid.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

CREATE FUNCTION rylie_vehicle_document(
    make text, model text, trim_level text, year integer, exterior_color text, interior_color text,
    body_style text, fuel_type text, drivetrain text, features jsonb, description text
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('english'::regconfig, coalesce($1, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce($2, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce($3, '') || ' ' || $4::text), 'B')
        || setweight(to_tsvector('english'::regconfig,
                         coalesce($5, '') || ' ' || coalesce($6, '') || ' ' || coalesce($7, '') || ' '
                         || coalesce($8, '') || ' ' || coalesce($9, '')), 'C')
        || setweight(jsonb_to_tsvector('english'::regconfig, $10, '["string"]'::jsonb), 'C')
        || setweight(to_tsvector('english'::regconfig, coalesce($11, '')), 'D')
$$;

COMMENT ON FUNCTION rylie_vehicle_document(text, text, text, integer, text, text, text, text, text, jsonb, text) IS
    'vehicles.search_vector of these columns: make/model (A), trim+year (B), colours/body/fuel/drivetrain/features (C), description (D).';

CREATE OR REPLACE FUNCTION rylie_vehicle_search_vector() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.search_vector := rylie_vehicle_document(NEW.make, NEW.model, NEW."trim", NEW.year, NEW.exterior_color,
                                                NEW.interior_color, NEW.body_style, NEW.fuel_type, NEW.drivetrain,
                                                NEW.features, NEW.description);
    NEW.search_signature := coalesce(rylie_lexeme_signature(tsvector_to_array(NEW.search_vector)), B'0'::bit(512));
    RETURN NEW;
END
$$;

DROP TRIGGER vehicles_search_vector_insert ON vehicles;
CREATE TRIGGER vehicles_search_vector_insert BEFORE INSERT ON vehicles
    FOR EACH ROW WHEN (NEW.search_vector IS NULL AND NEW.search_signature IS NULL)
    EXECUTE FUNCTION rylie_vehicle_search_vector();

ALTER TABLE vehicles SET (fillfactor = 60);

ALTER TABLE vehicles DROP CONSTRAINT vehicles_last_import_fk;
COMMENT ON COLUMN vehicles.last_import_id IS
    'The import that last wrote this vehicle (provenance; not a foreign key: see migration 0011).';
