-- 0001_core_tenancy_auth.sql
--
-- Core tenancy and authentication: the tenant root (dealerships), staff users,
-- refresh-token sessions, API keys (integration + chat-widget keys) and the audit log.
--
-- Why: every other table hangs off `dealerships` (the tenant), and auth is needed before
-- anything else can be touched. This file also sets up the pieces every later migration
-- relies on:
--   * the pg_trgm extension (typo-tolerant vehicle search, used in 0002);
--   * the `rylie_app` group role the application connects through (it owns nothing, so it
--     can read/write rows but never DROP/ALTER tables);
--   * the shared trigger function `rylie_touch_updated_at()` that keeps `updated_at` current
--     on every mutable table.
--
-- Conventions used in all migrations: bigint identity PKs, timestamptz everywhere, text +
-- CHECK instead of enum types, `dealership_id ... ON DELETE CASCADE` on tenant tables, user
-- references from history rows ON DELETE SET NULL. Row-level security policies are NOT
-- created here; a later migration adds them.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

-- ---------------------------------------------------------------------------------------
-- Extensions (both are "trusted" on PostgreSQL 13+ and allowed on Amazon RDS)
-- ---------------------------------------------------------------------------------------
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ---------------------------------------------------------------------------------------
-- Application role
-- ---------------------------------------------------------------------------------------
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rylie_app') THEN CREATE ROLE rylie_app NOLOGIN; END IF; END $$;

GRANT USAGE ON SCHEMA public TO rylie_app;

-- ---------------------------------------------------------------------------------------
-- Shared updated_at trigger function
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION rylie_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION rylie_touch_updated_at() IS
    'BEFORE UPDATE row trigger: sets NEW.updated_at = now() (transaction start time). Attached to every mutable table.';

-- ---------------------------------------------------------------------------------------
-- dealerships: the tenant root
-- ---------------------------------------------------------------------------------------
CREATE TABLE dealerships (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                    text        NOT NULL CHECK (btrim(name) <> ''),
    subdomain               text        NOT NULL,
    active                  boolean     NOT NULL DEFAULT true,
    contact_email           text,
    contact_phone           text,
    handover_email          text,
    -- leads arrive at leads+<alias>@<inbound-domain>
    inbound_email_alias     text,
    -- addresses allowed to send inventory files by mail (stored lower-case)
    inventory_sender_emails text[]      NOT NULL DEFAULT '{}',
    -- CORS origins for the chat widget / dashboard
    allowed_origins         text[]      NOT NULL DEFAULT '{}',
    timezone                text        NOT NULL DEFAULT 'America/New_York',
    business_hours          jsonb       NOT NULL DEFAULT '{}',
    ai_config               jsonb       NOT NULL DEFAULT '{}',
    agent_config            jsonb       NOT NULL DEFAULT '{}',
    -- logo url, colours, ...
    branding                jsonb       NOT NULL DEFAULT '{}',
    website                 text,
    -- postal address (printed on customer-facing mail, CAN-SPAM)
    street                  text,
    city                    text,
    region                  text,
    postal_code             text,
    country                 text        NOT NULL DEFAULT 'US',
    -- daily/weekly report schedule and recipients
    report_settings         jsonb       NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT dealerships_subdomain_key UNIQUE (subdomain),
    CONSTRAINT dealerships_inbound_email_alias_key UNIQUE (inbound_email_alias),
    CONSTRAINT dealerships_subdomain_format
        CHECK (subdomain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT dealerships_inbound_email_alias_format
        CHECK (inbound_email_alias IS NULL OR inbound_email_alias ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT dealerships_inventory_sender_emails_lower
        CHECK (array_to_string(inventory_sender_emails, ',') = lower(array_to_string(inventory_sender_emails, ','))),
    CONSTRAINT dealerships_country_format CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT dealerships_business_hours_object CHECK (jsonb_typeof(business_hours) = 'object'),
    CONSTRAINT dealerships_ai_config_object CHECK (jsonb_typeof(ai_config) = 'object'),
    CONSTRAINT dealerships_agent_config_object CHECK (jsonb_typeof(agent_config) = 'object'),
    CONSTRAINT dealerships_branding_object CHECK (jsonb_typeof(branding) = 'object'),
    CONSTRAINT dealerships_report_settings_object CHECK (jsonb_typeof(report_settings) = 'object')
);

COMMENT ON TABLE dealerships IS 'Tenant root. Deleting a dealership cascades to all of its data.';
COMMENT ON COLUMN dealerships.inbound_email_alias IS 'Lead mail for this dealership arrives at leads+<alias>@<inbound-domain>.';
COMMENT ON COLUMN dealerships.inventory_sender_emails IS 'Lower-case sender addresses allowed to mail inventory files.';
COMMENT ON COLUMN dealerships.country IS 'ISO 3166-1 alpha-2 country code.';

CREATE TRIGGER dealerships_touch_updated_at BEFORE UPDATE ON dealerships
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- users: staff and administrators
-- ---------------------------------------------------------------------------------------
CREATE TABLE users (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- CASCADE (not the seed's SET NULL): a non-super_admin must have a dealership (CHECK
    -- below), so SET NULL would violate the check; users of a deleted dealership go with it.
    dealership_id           bigint      REFERENCES dealerships(id) ON DELETE CASCADE,
    username                text,
    email                   text        NOT NULL,
    password_hash           text,
    name                    text,
    role                    text        NOT NULL DEFAULT 'user',
    is_active               boolean     NOT NULL DEFAULT true,
    is_verified             boolean     NOT NULL DEFAULT false,
    verification_token_hash text,
    reset_token_hash        text,
    reset_token_expires_at  timestamptz,
    failed_login_count      integer     NOT NULL DEFAULT 0,
    locked_until            timestamptz,
    last_login_at           timestamptz,
    available_for_handover  boolean     NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lower CHECK (email = lower(email)),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT users_role_check
        CHECK (role IN ('super_admin', 'dealership_admin', 'manager', 'user')),
    CONSTRAINT users_dealership_required
        CHECK (role = 'super_admin' OR dealership_id IS NOT NULL),
    CONSTRAINT users_failed_login_count_check CHECK (failed_login_count >= 0),
    CONSTRAINT users_reset_token_expiry
        CHECK (reset_token_hash IS NULL OR reset_token_expires_at IS NOT NULL)
);

CREATE INDEX users_dealership_idx ON users (dealership_id, role);
CREATE UNIQUE INDEX users_verification_token_hash_key ON users (verification_token_hash)
    WHERE verification_token_hash IS NOT NULL;
CREATE UNIQUE INDEX users_reset_token_hash_key ON users (reset_token_hash)
    WHERE reset_token_hash IS NOT NULL;

COMMENT ON COLUMN users.email IS 'Stored lower-case (CHECK); look up with lower($1).';
COMMENT ON COLUMN users.verification_token_hash IS 'Hash of the e-mail verification token; the token itself is never stored.';
COMMENT ON COLUMN users.reset_token_hash IS 'Hash of the password-reset token; the token itself is never stored.';

CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- sessions: refresh-token sessions with rotation (one family per login)
-- Not a tenant table: a session belongs to a user, and super_admins have no dealership.
-- ---------------------------------------------------------------------------------------
CREATE TABLE sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id       uuid        NOT NULL DEFAULT gen_random_uuid(),
    token_hash      text        NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    revoked_at      timestamptz,
    revoked_reason  text,
    replaced_by_id  bigint      REFERENCES sessions(id) ON DELETE SET NULL,
    ip              inet,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at),
    CONSTRAINT sessions_revoked_reason_needs_revoked_at
        CHECK (revoked_reason IS NULL OR revoked_at IS NOT NULL)
);

CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_replaced_by_idx ON sessions (replaced_by_id) WHERE replaced_by_id IS NOT NULL;

COMMENT ON COLUMN sessions.token_hash IS 'Hash of the refresh token; the token itself is never stored.';
COMMENT ON COLUMN sessions.family_id IS 'All rotations of one login share a family; reuse of a used token revokes the whole family.';

CREATE TRIGGER sessions_touch_updated_at BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- api_keys: hashed keys for integrations and the chat widget
-- ---------------------------------------------------------------------------------------
CREATE TABLE api_keys (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint      NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    name            text        NOT NULL CHECK (btrim(name) <> ''),
    description     text,
    key_prefix      text        NOT NULL,
    key_hash        text        NOT NULL,
    scopes          text[]      NOT NULL DEFAULT '{}',
    rate_limit_tier text        NOT NULL DEFAULT 'standard',
    kind            text        NOT NULL DEFAULT 'integration',
    is_active       boolean     NOT NULL DEFAULT true,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    last_used_at    timestamptz,
    usage_count     bigint      NOT NULL DEFAULT 0,
    created_by      bigint      REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT api_keys_key_prefix_key UNIQUE (key_prefix),
    CONSTRAINT api_keys_rate_limit_tier_check
        CHECK (rate_limit_tier IN ('standard', 'premium', 'enterprise')),
    CONSTRAINT api_keys_kind_check CHECK (kind IN ('integration', 'widget')),
    CONSTRAINT api_keys_usage_count_check CHECK (usage_count >= 0)
);

CREATE INDEX api_keys_dealership_idx ON api_keys (dealership_id, is_active);

COMMENT ON COLUMN api_keys.key_prefix IS 'Non-secret lookup part of the key (shown to users).';
COMMENT ON COLUMN api_keys.key_hash IS 'Hash of the full key; the key itself is never stored.';

CREATE TRIGGER api_keys_touch_updated_at BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- audit_logs: append-only audit trail (no updated_at)
-- dealership_id is nullable for system-wide (super_admin) actions.
-- ---------------------------------------------------------------------------------------
CREATE TABLE audit_logs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint      REFERENCES dealerships(id) ON DELETE CASCADE,
    user_id         bigint      REFERENCES users(id) ON DELETE SET NULL,
    api_key_id      bigint      REFERENCES api_keys(id) ON DELETE SET NULL,
    action          text        NOT NULL CHECK (btrim(action) <> ''),
    resource_type   text        NOT NULL CHECK (btrim(resource_type) <> ''),
    resource_id     text,
    old_values      jsonb,
    new_values      jsonb,
    ip_address      inet,
    user_agent      text,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_logs_dealership_created_idx ON audit_logs (dealership_id, created_at DESC);
CREATE INDEX audit_logs_user_idx ON audit_logs (user_id);
CREATE INDEX audit_logs_action_idx ON audit_logs (action);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id);
CREATE INDEX audit_logs_api_key_idx ON audit_logs (api_key_id) WHERE api_key_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Privileges for the application role (explicit, independent of who runs the migration)
-- ---------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rylie_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rylie_app;
