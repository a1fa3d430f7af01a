-- 0004: row-level security, the second line of tenant isolation.
--
-- Every store function already scopes its queries to one dealership; these policies make a
-- query that forgets its WHERE clause see one tenant anyway. The tenant is set per
-- transaction with set_config('rylie.dealership_id', '<id>', true) (transaction-local: it
-- ends with the transaction and does not pin an RDS Proxy session). Work that spans tenants
-- (a super_admin route, looking a user up at login, routing inbound mail, schedules) sets
-- set_config('rylie.scope', 'platform', true) instead, through dedicated store functions.
-- With neither set, tenant tables show no rows at all.
--
-- FORCE binds the table owner too; the application role owns nothing and has no BYPASSRLS.

CREATE FUNCTION rylie_tenant() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('rylie.dealership_id', true), '')::bigint $$;

CREATE FUNCTION rylie_platform() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('rylie.scope', true), '') = 'platform' $$;

-- The tenant root: a dealership sees itself.
ALTER TABLE dealerships ENABLE ROW LEVEL SECURITY;
ALTER TABLE dealerships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dealerships
    USING (rylie_platform() OR id = rylie_tenant())
    WITH CHECK (rylie_platform() OR id = rylie_tenant());

-- Sessions belong to users, not to a dealership: only the auth flows (platform scope) see them.
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON sessions USING (rylie_platform()) WITH CHECK (rylie_platform());

-- Every table with a dealership_id column.
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN
        SELECT c.table_name
        FROM information_schema.columns c
        JOIN information_schema.tables tb USING (table_schema, table_name)
        WHERE c.table_schema = 'public' AND c.column_name = 'dealership_id' AND tb.table_type = 'BASE TABLE'
        ORDER BY c.table_name
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I
                 USING (rylie_platform() OR dealership_id = rylie_tenant())
                 WITH CHECK (rylie_platform() OR dealership_id = rylie_tenant())', t);
    END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION rylie_tenant(), rylie_platform() TO rylie_app;
