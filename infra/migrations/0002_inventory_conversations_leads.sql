-- 0002_inventory_conversations_leads.sql
--
-- The tenant's business data: vehicle inventory, customers, AI personas, A/B prompt
-- experiments (experiments, variants, metrics), conversations and their messages, and
-- sales leads.
--
-- Why: these are the domain tables of seed 001 (schema section) and seed 002 (vehicle
-- columns, TSV inventory import), extended with what the product flows need (lead dedup
-- keys, conversation analysis fields, per-channel opt-outs, import bookkeeping on vehicles).
--
-- Tenant consistency: every table carries dealership_id (denormalised on child tables so a
-- later RLS policy can be a plain `dealership_id = current_setting(...)`). References between
-- tenant tables are COMPOSITE foreign keys `(dealership_id, x_id) -> parent(dealership_id, id)`,
-- so a row can never point at another dealership's row and a child's dealership_id always
-- equals its parent's. Parents therefore carry a UNIQUE (dealership_id, id). Nullable links
-- use PostgreSQL 15's `ON DELETE SET NULL (column)` so only the link column is cleared.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

-- ---------------------------------------------------------------------------------------
-- vehicles: inventory
--
-- Identity rule: a vehicle is identified by (dealership_id, vin). Feeds without a VIN fall
-- back to the stock number: such rows (vin IS NULL) are unique on (dealership_id,
-- stock_number). Every row has at least one of the two. The VIN is stored upper-case,
-- 17 chars, without I/O/Q (normalise before insert).
--   upsert with VIN : INSERT ... ON CONFLICT (dealership_id, vin) DO UPDATE ...
--   upsert w/o VIN  : INSERT ... ON CONFLICT (dealership_id, stock_number) WHERE vin IS NULL DO UPDATE ...
-- ---------------------------------------------------------------------------------------
CREATE TABLE vehicles (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint        NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    vin             text,
    stock_number    text,
    condition       text,
    certified       boolean       NOT NULL DEFAULT false,
    make            text          NOT NULL CHECK (btrim(make) <> ''),
    model           text          NOT NULL CHECK (btrim(model) <> ''),
    year            integer       NOT NULL,
    "trim"          text,
    body_style      text,
    exterior_color  text,
    interior_color  text,
    mileage         integer,
    engine          text,
    transmission    text,
    drivetrain      text,
    fuel_type       text,
    -- free text as feeds give it, e.g. '28 city / 36 hwy'
    fuel_economy    text,
    -- `price` is the customer-facing price chosen by the importer from the others
    price           numeric(12,2),
    msrp            numeric(12,2),
    selling_price   numeric(12,2),
    internet_price  numeric(12,2),
    invoice_price   numeric(12,2),
    features        jsonb         NOT NULL DEFAULT '[]',
    description     text,
    images          jsonb         NOT NULL DEFAULT '[]',
    video_url       text,
    vdp_url         text,
    in_stock_date   date,
    status          text          NOT NULL DEFAULT 'available',
    is_active       boolean       NOT NULL DEFAULT true,
    last_seen       timestamptz   NOT NULL DEFAULT now(),
    -- feed columns we do not map, kept verbatim
    extra           jsonb         NOT NULL DEFAULT '{}',
    -- hash of the normalised feed row; unchanged rows are skipped on import
    content_hash    text,
    -- FK to inventory_imports is added in 0003
    last_import_id  bigint,
    search_vector   tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english'::regconfig, coalesce(make, '')), 'A')
       || setweight(to_tsvector('english'::regconfig, coalesce(model, '')), 'A')
       || setweight(to_tsvector('english'::regconfig, coalesce("trim", '') || ' ' || year::text), 'B')
       || setweight(to_tsvector('english'::regconfig,
                        coalesce(exterior_color, '') || ' ' || coalesce(interior_color, '') || ' '
                        || coalesce(body_style, '') || ' ' || coalesce(fuel_type, '') || ' '
                        || coalesce(drivetrain, '')), 'C')
       || setweight(jsonb_to_tsvector('english'::regconfig, features, '["string"]'::jsonb), 'C')
       || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'D')
    ) STORED,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    updated_at      timestamptz   NOT NULL DEFAULT now(),

    CONSTRAINT vehicles_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT vehicles_dealership_vin_key UNIQUE (dealership_id, vin),
    CONSTRAINT vehicles_vin_format CHECK (vin IS NULL OR vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
    CONSTRAINT vehicles_stock_number_not_blank CHECK (stock_number IS NULL OR btrim(stock_number) <> ''),
    CONSTRAINT vehicles_identity_required CHECK (vin IS NOT NULL OR stock_number IS NOT NULL),
    CONSTRAINT vehicles_condition_check CHECK (condition IN ('new', 'used', 'certified')),
    CONSTRAINT vehicles_certified_condition CHECK (condition IS DISTINCT FROM 'certified' OR certified),
    CONSTRAINT vehicles_status_check CHECK (status IN ('available', 'pending', 'sold', 'in_transit')),
    CONSTRAINT vehicles_year_check CHECK (year BETWEEN 1900 AND 2100),
    CONSTRAINT vehicles_mileage_check CHECK (mileage IS NULL OR mileage >= 0),
    CONSTRAINT vehicles_prices_check CHECK (
            (price IS NULL OR price >= 0) AND (msrp IS NULL OR msrp >= 0)
        AND (selling_price IS NULL OR selling_price >= 0)
        AND (internet_price IS NULL OR internet_price >= 0)
        AND (invoice_price IS NULL OR invoice_price >= 0)),
    CONSTRAINT vehicles_features_array CHECK (jsonb_typeof(features) = 'array'),
    CONSTRAINT vehicles_images_array CHECK (jsonb_typeof(images) = 'array'),
    CONSTRAINT vehicles_extra_object CHECK (jsonb_typeof(extra) = 'object')
);

-- rows without a VIN are identified by their stock number
CREATE UNIQUE INDEX vehicles_dealership_stock_number_no_vin_key
    ON vehicles (dealership_id, stock_number) WHERE vin IS NULL;
CREATE INDEX vehicles_search_idx ON vehicles (dealership_id, make, model, year);
CREATE INDEX vehicles_status_idx ON vehicles (dealership_id, status);
CREATE INDEX vehicles_active_search_idx ON vehicles (dealership_id, make, model, year) WHERE is_active;
CREATE INDEX vehicles_active_price_idx ON vehicles (dealership_id, price) WHERE is_active;
CREATE INDEX vehicles_last_import_idx ON vehicles (dealership_id, last_import_id);
CREATE INDEX vehicles_search_vector_idx ON vehicles USING gin (search_vector);
CREATE INDEX vehicles_make_trgm_idx ON vehicles USING gin (lower(make) gin_trgm_ops);
CREATE INDEX vehicles_model_trgm_idx ON vehicles USING gin (lower(model) gin_trgm_ops);

COMMENT ON COLUMN vehicles.vin IS 'Upper-case 17-char VIN, NULL when the feed has none (then stock_number identifies the row).';
COMMENT ON COLUMN vehicles.price IS 'Customer-facing price (chosen by the importer from selling/internet price or MSRP).';
COMMENT ON COLUMN vehicles.content_hash IS 'Hash of the normalised feed row; the importer skips rows whose hash is unchanged.';
COMMENT ON COLUMN vehicles.search_vector IS 'make/model (A), trim+year (B), colours/body/fuel/drivetrain/features (C), description (D); english config.';

CREATE TRIGGER vehicles_touch_updated_at BEFORE UPDATE ON vehicles
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- customers
-- ---------------------------------------------------------------------------------------
CREATE TABLE customers (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint      NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    first_name          text,
    last_name           text,
    full_name           text,
    email               text,
    phone               text,
    preferred_channel   text,
    address             jsonb       NOT NULL DEFAULT '{}',
    sms_opted_out_at    timestamptz,
    email_opted_out_at  timestamptz,
    chat_opted_out_at   timestamptz,
    timezone            text,
    notes               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT customers_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT customers_email_lower CHECK (email = lower(email)),
    CONSTRAINT customers_phone_e164 CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT customers_preferred_channel_check
        CHECK (preferred_channel IN ('web', 'sms', 'email', 'phone')),
    CONSTRAINT customers_address_object CHECK (jsonb_typeof(address) = 'object')
);

CREATE UNIQUE INDEX customers_dealership_email_key ON customers (dealership_id, email)
    WHERE email IS NOT NULL;
CREATE INDEX customers_dealership_phone_idx ON customers (dealership_id, phone);

COMMENT ON COLUMN customers.phone IS 'E.164, e.g. +15551234567.';
COMMENT ON COLUMN customers.sms_opted_out_at IS 'Set when the customer opted out of SMS (STOP); NULL = may be contacted.';

CREATE TRIGGER customers_touch_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- personas: AI configuration, one default per dealership
-- ---------------------------------------------------------------------------------------
CREATE TABLE personas (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint       NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    name                text         NOT NULL CHECK (btrim(name) <> ''),
    description         text         NOT NULL DEFAULT '',
    is_default          boolean      NOT NULL DEFAULT false,
    is_active           boolean      NOT NULL DEFAULT true,
    prompt_template     text         NOT NULL,
    system_prompt       text,
    temperature         numeric(3,2) NOT NULL DEFAULT 0.70,
    max_tokens          integer      NOT NULL DEFAULT 500,
    personality_traits  jsonb        NOT NULL DEFAULT '{}',
    response_style      jsonb        NOT NULL DEFAULT '{}',
    escalation_triggers jsonb        NOT NULL DEFAULT '[]',
    handover_keywords   text[]       NOT NULL DEFAULT '{}',
    -- seed 002: configuration arguments (tone, priority features, ...)
    arguments           jsonb        NOT NULL DEFAULT '{}',
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now(),

    CONSTRAINT personas_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT personas_dealership_name_key UNIQUE (dealership_id, name),
    CONSTRAINT personas_temperature_check CHECK (temperature BETWEEN 0 AND 2),
    CONSTRAINT personas_max_tokens_check CHECK (max_tokens > 0),
    CONSTRAINT personas_default_is_active CHECK (NOT is_default OR is_active)
);

-- at most ONE default persona per dealership
CREATE UNIQUE INDEX personas_one_default_per_dealership ON personas (dealership_id) WHERE is_default;

CREATE TRIGGER personas_touch_updated_at BEFORE UPDATE ON personas
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- prompt_experiments / experiment_variants: A/B testing of personas
-- ---------------------------------------------------------------------------------------
CREATE TABLE prompt_experiments (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint       NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    name                text         NOT NULL CHECK (btrim(name) <> ''),
    description         text,
    hypothesis          text,
    start_date          timestamptz  NOT NULL,
    end_date            timestamptz  NOT NULL,
    traffic_percentage  integer      NOT NULL DEFAULT 50,
    status              text         NOT NULL DEFAULT 'draft',
    primary_metric      text         NOT NULL CHECK (btrim(primary_metric) <> ''),
    secondary_metrics   jsonb        NOT NULL DEFAULT '[]',
    confidence_level    numeric(3,2) NOT NULL DEFAULT 0.95,
    minimum_sample_size integer      NOT NULL DEFAULT 100,
    results             jsonb,
    -- FK to experiment_variants added below (the winner must be one of this experiment's variants)
    winner_variant_id   bigint,
    created_by          bigint       REFERENCES users(id) ON DELETE SET NULL,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now(),

    CONSTRAINT prompt_experiments_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT prompt_experiments_dates_check CHECK (end_date > start_date),
    CONSTRAINT prompt_experiments_traffic_percentage_check CHECK (traffic_percentage BETWEEN 1 AND 100),
    CONSTRAINT prompt_experiments_status_check
        CHECK (status IN ('draft', 'active', 'paused', 'completed', 'cancelled')),
    CONSTRAINT prompt_experiments_confidence_level_check CHECK (confidence_level > 0 AND confidence_level < 1),
    CONSTRAINT prompt_experiments_minimum_sample_size_check CHECK (minimum_sample_size > 0),
    CONSTRAINT prompt_experiments_secondary_metrics_array CHECK (jsonb_typeof(secondary_metrics) = 'array')
);

CREATE INDEX prompt_experiments_dealership_status_idx ON prompt_experiments (dealership_id, status);

CREATE TRIGGER prompt_experiments_touch_updated_at BEFORE UPDATE ON prompt_experiments
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

CREATE TABLE experiment_variants (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id           bigint       NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    experiment_id           bigint       NOT NULL,
    -- NO ACTION (not RESTRICT): a persona used by a variant cannot be deleted on its own,
    -- but deleting the whole dealership still cascades cleanly.
    persona_id              bigint       NOT NULL,
    name                    text         NOT NULL CHECK (btrim(name) <> ''),
    is_control              boolean      NOT NULL DEFAULT false,
    traffic_percentage      integer      NOT NULL DEFAULT 50,
    total_conversations     integer      NOT NULL DEFAULT 0,
    total_messages          integer      NOT NULL DEFAULT 0,
    avg_response_time_ms    integer,
    handover_rate           numeric(5,4),
    customer_satisfaction   numeric(3,2),
    created_at              timestamptz  NOT NULL DEFAULT now(),
    updated_at              timestamptz  NOT NULL DEFAULT now(),

    CONSTRAINT experiment_variants_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT experiment_variants_experiment_id_id_key UNIQUE (experiment_id, id),
    CONSTRAINT experiment_variants_experiment_name_key UNIQUE (experiment_id, name),
    CONSTRAINT experiment_variants_experiment_fk FOREIGN KEY (dealership_id, experiment_id)
        REFERENCES prompt_experiments (dealership_id, id) ON DELETE CASCADE,
    CONSTRAINT experiment_variants_persona_fk FOREIGN KEY (dealership_id, persona_id)
        REFERENCES personas (dealership_id, id),
    CONSTRAINT experiment_variants_traffic_percentage_check CHECK (traffic_percentage BETWEEN 0 AND 100),
    CONSTRAINT experiment_variants_counts_check CHECK (total_conversations >= 0 AND total_messages >= 0),
    CONSTRAINT experiment_variants_avg_response_time_check CHECK (avg_response_time_ms IS NULL OR avg_response_time_ms >= 0),
    CONSTRAINT experiment_variants_handover_rate_check CHECK (handover_rate BETWEEN 0 AND 1),
    CONSTRAINT experiment_variants_customer_satisfaction_check CHECK (customer_satisfaction BETWEEN 0 AND 5)
);

CREATE UNIQUE INDEX experiment_variants_one_control ON experiment_variants (experiment_id) WHERE is_control;
CREATE INDEX experiment_variants_dealership_experiment_idx ON experiment_variants (dealership_id, experiment_id);
CREATE INDEX experiment_variants_persona_idx ON experiment_variants (dealership_id, persona_id);

CREATE TRIGGER experiment_variants_touch_updated_at BEFORE UPDATE ON experiment_variants
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

ALTER TABLE prompt_experiments
    ADD CONSTRAINT prompt_experiments_winner_variant_fk FOREIGN KEY (id, winner_variant_id)
        REFERENCES experiment_variants (experiment_id, id) ON DELETE SET NULL (winner_variant_id);

-- ---------------------------------------------------------------------------------------
-- conversations
-- ---------------------------------------------------------------------------------------
CREATE TABLE conversations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint       NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    customer_id         bigint,
    -- snapshot of the customer's details at conversation start
    customer_name       text,
    customer_phone      text,
    customer_email      text,
    channel             text         NOT NULL DEFAULT 'web',
    status              text         NOT NULL DEFAULT 'active',
    assigned_to         bigint       REFERENCES users(id) ON DELETE SET NULL,
    escalated_at        timestamptz,
    last_message_at     timestamptz  NOT NULL DEFAULT now(),
    campaign_context    text,
    inventory_context   jsonb        NOT NULL DEFAULT '{}',
    customer_context    jsonb        NOT NULL DEFAULT '{}',
    ai_context          jsonb        NOT NULL DEFAULT '{}',
    persona_id          bigint,
    experiment_id       bigint,
    variant_id          bigint,
    -- FK to leads added after the leads table
    lead_id             bigint,
    ai_paused           boolean      NOT NULL DEFAULT false,
    -- handover / analysis results
    handover_reasons    jsonb        NOT NULL DEFAULT '[]',
    dossier             jsonb,
    summary             text,
    intents             jsonb        NOT NULL DEFAULT '[]',
    sentiment           numeric(4,3),
    lead_score          integer,
    lead_score_factors  jsonb        NOT NULL DEFAULT '{}',
    analysed_at         timestamptz,
    closed_at           timestamptz,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now(),

    CONSTRAINT conversations_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT conversations_customer_fk FOREIGN KEY (dealership_id, customer_id)
        REFERENCES customers (dealership_id, id) ON DELETE SET NULL (customer_id),
    CONSTRAINT conversations_persona_fk FOREIGN KEY (dealership_id, persona_id)
        REFERENCES personas (dealership_id, id) ON DELETE SET NULL (persona_id),
    CONSTRAINT conversations_experiment_fk FOREIGN KEY (dealership_id, experiment_id)
        REFERENCES prompt_experiments (dealership_id, id) ON DELETE SET NULL (experiment_id),
    CONSTRAINT conversations_variant_fk FOREIGN KEY (dealership_id, variant_id)
        REFERENCES experiment_variants (dealership_id, id) ON DELETE SET NULL (variant_id),
    CONSTRAINT conversations_channel_check CHECK (channel IN ('web', 'sms', 'email', 'phone')),
    CONSTRAINT conversations_status_check
        CHECK (status IN ('active', 'waiting', 'escalated', 'closed', 'archived')),
    CONSTRAINT conversations_sentiment_check CHECK (sentiment BETWEEN -1 AND 1),
    CONSTRAINT conversations_lead_score_check CHECK (lead_score BETWEEN 0 AND 100),
    CONSTRAINT conversations_handover_reasons_array CHECK (jsonb_typeof(handover_reasons) = 'array'),
    CONSTRAINT conversations_intents_array CHECK (jsonb_typeof(intents) = 'array')
);

CREATE INDEX conversations_dealership_status_idx ON conversations (dealership_id, status, last_message_at DESC);
CREATE INDEX conversations_dealership_created_idx ON conversations (dealership_id, created_at DESC);
CREATE INDEX conversations_open_idx ON conversations (dealership_id, last_message_at DESC)
    WHERE status IN ('active', 'escalated');
CREATE INDEX conversations_assigned_idx ON conversations (assigned_to) WHERE assigned_to IS NOT NULL;
CREATE INDEX conversations_customer_idx ON conversations (dealership_id, customer_id);
CREATE INDEX conversations_persona_idx ON conversations (dealership_id, persona_id) WHERE persona_id IS NOT NULL;
CREATE INDEX conversations_experiment_idx ON conversations (dealership_id, experiment_id) WHERE experiment_id IS NOT NULL;
CREATE INDEX conversations_variant_idx ON conversations (dealership_id, variant_id) WHERE variant_id IS NOT NULL;
CREATE INDEX conversations_lead_idx ON conversations (dealership_id, lead_id) WHERE lead_id IS NOT NULL;

CREATE TRIGGER conversations_touch_updated_at BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- messages: append-only conversation history (no updated_at)
-- ---------------------------------------------------------------------------------------
CREATE TABLE messages (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint       NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    conversation_id     bigint       NOT NULL,
    content             text         NOT NULL,
    sender              text         NOT NULL,
    sender_user_id      bigint       REFERENCES users(id) ON DELETE SET NULL,
    channel             text         NOT NULL DEFAULT 'web',
    message_type        text         NOT NULL DEFAULT 'text',
    ai_generated        boolean      NOT NULL DEFAULT false,
    ai_model            text,
    ai_confidence       numeric(3,2),
    processing_time_ms  integer,
    decision_trace      jsonb,
    metadata            jsonb        NOT NULL DEFAULT '{}',
    -- provider id (SES message id, SMS provider id) for idempotent ingestion and status callbacks
    external_id         text,
    created_at          timestamptz  NOT NULL DEFAULT now(),

    CONSTRAINT messages_conversation_fk FOREIGN KEY (dealership_id, conversation_id)
        REFERENCES conversations (dealership_id, id) ON DELETE CASCADE,
    CONSTRAINT messages_sender_check CHECK (sender IN ('customer', 'assistant', 'staff', 'system')),
    CONSTRAINT messages_channel_check CHECK (channel IN ('web', 'sms', 'email', 'phone')),
    CONSTRAINT messages_message_type_check CHECK (message_type IN ('text', 'image', 'file', 'system')),
    CONSTRAINT messages_ai_confidence_check CHECK (ai_confidence BETWEEN 0 AND 1),
    CONSTRAINT messages_processing_time_check CHECK (processing_time_ms IS NULL OR processing_time_ms >= 0),
    CONSTRAINT messages_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at);
CREATE INDEX messages_dealership_created_idx ON messages (dealership_id, created_at DESC);
CREATE INDEX messages_sender_user_idx ON messages (sender_user_id) WHERE sender_user_id IS NOT NULL;
CREATE UNIQUE INDEX messages_external_id_key ON messages (dealership_id, channel, external_id)
    WHERE external_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- leads: sales pipeline (ADF e-mail leads, web/chat leads, API leads)
-- ---------------------------------------------------------------------------------------
CREATE TABLE leads (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint       NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    customer_id         bigint,
    conversation_id     bigint,
    source              text         NOT NULL,
    -- lead provider name as given in the ADF <provider> (e.g. 'AutoTrader'); free text
    provider            text,
    adf_id              text,
    adf_id_source       text,
    status              text         NOT NULL DEFAULT 'new',
    request_date        timestamptz,
    vehicle_id          bigint,
    vehicle_of_interest jsonb        NOT NULL DEFAULT '{}',
    trade_in            jsonb,
    timeframe           jsonb,
    customer_comments   text,
    -- dedup key for leads without an ADF id (hash of normalised lead content)
    content_hash        text,
    -- FK to inbound_emails added in 0003
    inbound_email_id    bigint,
    raw_s3_key          text,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now(),

    CONSTRAINT leads_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT leads_customer_fk FOREIGN KEY (dealership_id, customer_id)
        REFERENCES customers (dealership_id, id) ON DELETE SET NULL (customer_id),
    CONSTRAINT leads_conversation_fk FOREIGN KEY (dealership_id, conversation_id)
        REFERENCES conversations (dealership_id, id) ON DELETE SET NULL (conversation_id),
    CONSTRAINT leads_vehicle_fk FOREIGN KEY (dealership_id, vehicle_id)
        REFERENCES vehicles (dealership_id, id) ON DELETE SET NULL (vehicle_id),
    CONSTRAINT leads_source_check
        CHECK (source IN ('email_adf', 'web', 'chat', 'sms', 'phone', 'api', 'manual')),
    CONSTRAINT leads_status_check
        CHECK (status IN ('new', 'contacted', 'qualified', 'appointment', 'sold', 'lost', 'duplicate')),
    CONSTRAINT leads_vehicle_of_interest_object CHECK (jsonb_typeof(vehicle_of_interest) IN ('object', 'array'))
);

-- ADF dedup: one lead per (dealership, provider, ADF id). NULLS NOT DISTINCT so a NULL
-- provider still deduplicates. Use: ON CONFLICT (dealership_id, provider, adf_id) WHERE adf_id IS NOT NULL
CREATE UNIQUE INDEX leads_adf_id_key ON leads (dealership_id, provider, adf_id) NULLS NOT DISTINCT
    WHERE adf_id IS NOT NULL;
-- leads without an ADF id dedup on their content hash
CREATE UNIQUE INDEX leads_content_hash_key ON leads (dealership_id, content_hash)
    WHERE adf_id IS NULL;
CREATE INDEX leads_dealership_status_idx ON leads (dealership_id, status, created_at DESC);
CREATE INDEX leads_dealership_created_idx ON leads (dealership_id, created_at DESC);
CREATE INDEX leads_customer_idx ON leads (dealership_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX leads_conversation_idx ON leads (dealership_id, conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX leads_vehicle_idx ON leads (dealership_id, vehicle_id) WHERE vehicle_id IS NOT NULL;

CREATE TRIGGER leads_touch_updated_at BEFORE UPDATE ON leads
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

ALTER TABLE conversations
    ADD CONSTRAINT conversations_lead_fk FOREIGN KEY (dealership_id, lead_id)
        REFERENCES leads (dealership_id, id) ON DELETE SET NULL (lead_id);

-- ---------------------------------------------------------------------------------------
-- prompt_metrics: per-conversation/message measurements for experiments (append-only)
-- ---------------------------------------------------------------------------------------
CREATE TABLE prompt_metrics (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint        NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    conversation_id bigint        NOT NULL,
    message_id      bigint        REFERENCES messages(id) ON DELETE SET NULL,
    experiment_id   bigint        NOT NULL,
    variant_id      bigint        NOT NULL,
    metric_name     text          NOT NULL CHECK (btrim(metric_name) <> ''),
    metric_value    numeric(14,4) NOT NULL,
    metadata        jsonb         NOT NULL DEFAULT '{}',
    created_at      timestamptz   NOT NULL DEFAULT now(),

    CONSTRAINT prompt_metrics_conversation_fk FOREIGN KEY (dealership_id, conversation_id)
        REFERENCES conversations (dealership_id, id) ON DELETE CASCADE,
    CONSTRAINT prompt_metrics_experiment_fk FOREIGN KEY (dealership_id, experiment_id)
        REFERENCES prompt_experiments (dealership_id, id) ON DELETE CASCADE,
    -- the variant must belong to the metric's experiment
    CONSTRAINT prompt_metrics_variant_fk FOREIGN KEY (experiment_id, variant_id)
        REFERENCES experiment_variants (experiment_id, id) ON DELETE CASCADE
);

CREATE INDEX prompt_metrics_experiment_idx ON prompt_metrics (dealership_id, experiment_id, variant_id, metric_name);
CREATE INDEX prompt_metrics_variant_idx ON prompt_metrics (experiment_id, variant_id);
CREATE INDEX prompt_metrics_conversation_idx ON prompt_metrics (dealership_id, conversation_id);
CREATE INDEX prompt_metrics_message_idx ON prompt_metrics (message_id) WHERE message_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Privileges for the application role
-- ---------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rylie_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rylie_app;
