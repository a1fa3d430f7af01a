-- 0007: a vehicle search that row-level security lets use its indexes.
--
-- Every query of the application role on `vehicles` carries the tenant policy of 0004. The
-- planner evaluates a policy before any condition of the query itself, and so it only uses a
-- query's condition as an index condition when that condition is *leakproof* (cannot reveal
-- the rows the policy hides through an error or a side channel): `=`/`<`/`>` on integers and
-- text are; `lower(make) = ...`, `search_vector @@ ...`, pg_trgm's `%` and numeric
-- comparisons are not, and only a superuser can mark a function leakproof. Measured on the
-- bench (100,000 active vehicles, `rylie-ops bench inventory`, README): the filtered free-text
-- search of 0005's design read every active vehicle of the requested years (66,000 rows) and
-- filtered the rest row by row; its GIN and trigram indexes were never used by a role bound by
-- the policy (pg_stat_user_indexes: no scan).
--
-- So:
--   * make and model are kept in lower case in columns of their own, and the active search
--     index is on them: `make_key = 'toyota'` is text equality, leakproof, an index condition.
--     Generated columns follow make and model on every write (the importer writes make and
--     model, never the keys); an unchanged key keeps a price update HOT.
--   * the active search index also carries, for each vehicle, its id and a 512-bit signature
--     of the lexemes of its `search_vector` (two bits per lexeme, chosen by hashtext: a Bloom
--     filter). The search first reads the index alone (an index-only scan: no
--     table page) and keeps the vehicles whose signature has every bit of the query's
--     required lexemes, then reads only those rows, where the exact `@@`, the other filters,
--     the rank and the total are computed. A signature never rules out a match (a lexeme of
--     the row always sets its bits); it lets through some vehicles that do not match (on the
--     bench, with ~21 lexemes a vehicle, none: "leather sunroof" kept exactly its 558 matches
--     of 8,308 Toyotas; a real description has more lexemes and lets more through),
--     which the exact match then drops. The trigger of 0005 computes it with search_vector,
--     so a price-only update neither recomputes it nor loses HOT.
--   * index-only scans need the visibility map: the table is vacuumed after 2% of it changed
--     (a daily import) rather than 20%, so the day's imported pages are all-visible again
--     within minutes.
--   * close spellings (typos) are matched against the dealership's own distinct makes and
--     models, read from that index one (make, model) pair at a time, then searched by key;
--     the trigram indexes over every row are no longer used and cost every insert.
--   * the policy reads the tenant once per statement (`(SELECT rylie_tenant())`, an InitPlan)
--     instead of twice per row (two `current_setting` calls on every candidate row). Same
--     rule, same result: both functions are STABLE.
--
-- The full-text GIN index stays: issue 4 asks for it and a superuser's query (an operator's
-- psql session) uses it; the application's search no longer depends on it.
--
-- hashtext must give the same value for a lexeme when a vehicle is written and when it is
-- searched; PostgreSQL keeps it stable (hash indexes depend on it). Should a major upgrade
-- ever change it, recompute: UPDATE vehicles SET search_signature =
-- rylie_lexeme_signature(tsvector_to_array(search_vector)) (platform scope).
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

ALTER TABLE vehicles
    ADD COLUMN make_key text GENERATED ALWAYS AS (lower(make)) STORED,
    ADD COLUMN model_key text GENERATED ALWAYS AS (lower(model)) STORED,
    ADD COLUMN search_signature bit(512);

COMMENT ON COLUMN vehicles.make_key IS 'lower(make): what the search compares (text equality is leakproof, lower() is not).';
COMMENT ON COLUMN vehicles.model_key IS 'lower(model): what the search compares (text equality is leakproof, lower() is not).';
COMMENT ON COLUMN vehicles.search_signature IS
    'One bit (hashtext & 511) per lexeme of search_vector: lets the search skip non-matching rows from the index alone.';

-- The signature of a set of lexemes: for each, two bits chosen by two 9-bit slices of its
-- hashtext. Two bits a lexeme, not one: a query word whose single bit happened to be the bit of
-- a word most vehicles have ("seat", the make) would filter nothing.
CREATE FUNCTION rylie_lexeme_signature(lexemes text[]) RETURNS bit(512)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(bit_or((B'1'::bit(512) >> (h & 511)) | (B'1'::bit(512) >> ((h >> 9) & 511))), B'0'::bit(512))
      FROM unnest(lexemes) l, hashtext(l) h
$$;

-- The signature of the lexemes a vehicle must have to match `query`, or NULL when that is not
-- simply "all of its lexemes": an OR, a NOT, or text this parser does not read (a backslash).
-- AND and phrase operators (`&`, `<->`, `<N>`) require every lexeme they join.
CREATE FUNCTION rylie_query_signature(query tsquery) RETURNS bit(512)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE WHEN query::text ~ '[|!\\]' THEN NULL
                ELSE rylie_lexeme_signature(ARRAY(
                         SELECT replace(m[1], '''''', '''')
                           FROM regexp_matches(query::text, '''((?:[^'']|'''')*)''', 'g') m))
           END
$$;

CREATE OR REPLACE FUNCTION rylie_vehicle_search_vector() RETURNS trigger
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
    NEW.search_signature := coalesce(rylie_lexeme_signature(tsvector_to_array(NEW.search_vector)), B'0'::bit(512));
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION rylie_vehicle_search_vector() IS
    'Computes vehicles.search_vector: make/model (A), trim+year (B), colours/body/fuel/drivetrain/features (C), description (D); and its search_signature.';

DROP INDEX vehicles_active_search_idx;
DROP INDEX vehicles_make_trgm_idx;
DROP INDEX vehicles_model_trgm_idx;

-- Existing vehicles: their signature, without touching updated_at (platform scope: the
-- policy binds the owner too).
SELECT set_config('rylie.scope', 'platform', true);
ALTER TABLE vehicles DISABLE TRIGGER vehicles_touch_updated_at;
UPDATE vehicles
   SET search_signature = coalesce(rylie_lexeme_signature(tsvector_to_array(search_vector)), B'0'::bit(512));
ALTER TABLE vehicles ENABLE TRIGGER vehicles_touch_updated_at;
ALTER TABLE vehicles ALTER COLUMN search_signature SET NOT NULL;

CREATE INDEX vehicles_active_search_idx ON vehicles (dealership_id, make_key, model_key, year)
    INCLUDE (id, search_signature) WHERE is_active;

ALTER TABLE vehicles SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02,
                          autovacuum_analyze_scale_factor = 0.02);

ALTER POLICY tenant_isolation ON vehicles
    USING ((SELECT rylie_platform()) OR dealership_id = (SELECT rylie_tenant()));
