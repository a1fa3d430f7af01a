-- 0003_flow_tables.sql
--
-- Bookkeeping for the asynchronous flows: inbound e-mail (SES -> S3 -> lead / inventory
-- parsing), inventory imports, outbound e-mail deliveries, outbound webhooks and their
-- delivery attempts, and the record of poison job messages.
--
-- Why: every job is idempotent and observable. Each flow writes a row keyed by the
-- provider's id or an idempotency key (unique constraints below), so a redelivered SQS
-- message changes nothing twice and sends no second e-mail / webhook, and operators can
-- see what happened to each e-mail, file and event.
--
-- Also links the 0002 tables to these: vehicles.last_import_id -> inventory_imports and
-- leads.inbound_email_id -> inbound_emails.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

-- ---------------------------------------------------------------------------------------
-- inbound_emails: every message SES delivered to us (stored raw in S3)
-- dealership_id is NULL for mail we could not route to a dealership.
-- ---------------------------------------------------------------------------------------
CREATE TABLE inbound_emails (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint      REFERENCES dealerships(id) ON DELETE CASCADE,
    ses_message_id  text        NOT NULL,
    mail_from       text,
    rcpt_to         text[]      NOT NULL DEFAULT '{}',
    subject         text,
    s3_bucket       text,
    s3_key          text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    status          text        NOT NULL DEFAULT 'received',
    error           text,
    notes           jsonb       NOT NULL DEFAULT '[]',
    leads_created   integer     NOT NULL DEFAULT 0,
    attempts        integer     NOT NULL DEFAULT 0,
    processed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT inbound_emails_ses_message_id_key UNIQUE (ses_message_id),
    CONSTRAINT inbound_emails_status_check CHECK (status IN (
        'received', 'processing', 'processed', 'partially_processed',
        'unroutable', 'unparsable', 'ignored', 'failed')),
    CONSTRAINT inbound_emails_leads_created_check CHECK (leads_created >= 0),
    CONSTRAINT inbound_emails_attempts_check CHECK (attempts >= 0)
);

CREATE INDEX inbound_emails_dealership_received_idx ON inbound_emails (dealership_id, received_at DESC);
CREATE INDEX inbound_emails_status_received_idx ON inbound_emails (status, received_at DESC);

CREATE TRIGGER inbound_emails_touch_updated_at BEFORE UPDATE ON inbound_emails
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

ALTER TABLE leads
    ADD CONSTRAINT leads_inbound_email_fk FOREIGN KEY (inbound_email_id)
        REFERENCES inbound_emails (id) ON DELETE SET NULL;
CREATE INDEX leads_inbound_email_idx ON leads (inbound_email_id) WHERE inbound_email_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- inventory_imports: one row per inventory file (upload, S3 drop, e-mail attachment, CLI)
-- ---------------------------------------------------------------------------------------
CREATE TABLE inventory_imports (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint      NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    source              text        NOT NULL,
    file_name           text,
    s3_bucket           text,
    s3_key              text,
    content_hash        text,
    byte_size           bigint,
    status              text        NOT NULL DEFAULT 'queued',
    -- a full feed deactivates vehicles it does not contain; a partial feed only upserts
    full_feed           boolean     NOT NULL DEFAULT true,
    -- added / updated / unchanged / deactivated / errors ...
    stats               jsonb       NOT NULL DEFAULT '{}',
    error               text,
    requested_by        bigint      REFERENCES users(id) ON DELETE SET NULL,
    inbound_email_id    bigint      REFERENCES inbound_emails(id) ON DELETE SET NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    -- imports that would deactivate too much wait in needs_confirmation for a human
    confirmed_at        timestamptz,
    confirmed_by        bigint      REFERENCES users(id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT inventory_imports_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT inventory_imports_source_check CHECK (source IN ('upload', 's3', 'email', 'cli')),
    CONSTRAINT inventory_imports_status_check CHECK (status IN (
        'queued', 'processing', 'needs_confirmation', 'completed', 'failed', 'skipped')),
    CONSTRAINT inventory_imports_byte_size_check CHECK (byte_size IS NULL OR byte_size >= 0),
    CONSTRAINT inventory_imports_stats_object CHECK (jsonb_typeof(stats) = 'object')
);

CREATE INDEX inventory_imports_dealership_created_idx ON inventory_imports (dealership_id, created_at DESC);
CREATE INDEX inventory_imports_dealership_hash_idx ON inventory_imports (dealership_id, content_hash);
CREATE INDEX inventory_imports_inbound_email_idx ON inventory_imports (inbound_email_id)
    WHERE inbound_email_id IS NOT NULL;

CREATE TRIGGER inventory_imports_touch_updated_at BEFORE UPDATE ON inventory_imports
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

ALTER TABLE vehicles
    ADD CONSTRAINT vehicles_last_import_fk FOREIGN KEY (dealership_id, last_import_id)
        REFERENCES inventory_imports (dealership_id, id) ON DELETE SET NULL (last_import_id);

-- ---------------------------------------------------------------------------------------
-- email_deliveries: every outbound e-mail, keyed by an idempotency key so a retried job
-- never sends twice. dealership_id is NULL for system mail (alerts, password reset of a
-- super_admin).
-- ---------------------------------------------------------------------------------------
CREATE TABLE email_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint      REFERENCES dealerships(id) ON DELETE CASCADE,
    idempotency_key text        NOT NULL,
    email_type      text        NOT NULL,
    to_address      text        NOT NULL,
    subject         text,
    status          text        NOT NULL DEFAULT 'queued',
    ses_message_id  text,
    error           text,
    attempts        integer     NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT email_deliveries_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT email_deliveries_email_type_check CHECK (email_type IN (
        'conversation_summary', 'handover_dossier', 'scheduled_report',
        'lead_first_contact', 'system_alert', 'password_reset')),
    CONSTRAINT email_deliveries_status_check
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'suppressed')),
    CONSTRAINT email_deliveries_attempts_check CHECK (attempts >= 0)
);

CREATE INDEX email_deliveries_dealership_created_idx ON email_deliveries (dealership_id, created_at DESC);
CREATE INDEX email_deliveries_ses_message_idx ON email_deliveries (ses_message_id)
    WHERE ses_message_id IS NOT NULL;
CREATE INDEX email_deliveries_pending_idx ON email_deliveries (created_at)
    WHERE status IN ('queued', 'sending');

CREATE TRIGGER email_deliveries_touch_updated_at BEFORE UPDATE ON email_deliveries
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- webhooks: outbound webhook subscriptions (HMAC-SHA256 signed)
-- ---------------------------------------------------------------------------------------
CREATE TABLE webhooks (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id           bigint      NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    url                     text        NOT NULL,
    -- HMAC signing secret: must be readable to sign payloads, so it cannot be hashed
    secret                  text        NOT NULL,
    events                  text[]      NOT NULL DEFAULT '{}',
    is_active               boolean     NOT NULL DEFAULT true,
    consecutive_failures    integer     NOT NULL DEFAULT 0,
    disabled_at             timestamptz,
    disabled_reason         text,
    description             text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT webhooks_dealership_id_id_key UNIQUE (dealership_id, id),
    CONSTRAINT webhooks_url_https CHECK (url LIKE 'https://%'),
    CONSTRAINT webhooks_secret_not_blank CHECK (length(secret) > 0),
    CONSTRAINT webhooks_events_check CHECK (events <@ ARRAY[
        'conversation.created', 'conversation.escalated', 'conversation.closed',
        'message.received', 'message.sent',
        'lead.created', 'lead.updated',
        'inventory.updated']::text[]),
    CONSTRAINT webhooks_consecutive_failures_check CHECK (consecutive_failures >= 0)
);

COMMENT ON COLUMN webhooks.secret IS
    'HMAC-SHA256 signing secret. Stored retrievable (not hashed) because we need it to sign each payload; never return it from list endpoints.';

CREATE INDEX webhooks_dealership_idx ON webhooks (dealership_id, is_active);

CREATE TRIGGER webhooks_touch_updated_at BEFORE UPDATE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- webhook_deliveries: one row per delivery attempt of one event to one webhook
-- ---------------------------------------------------------------------------------------
CREATE TABLE webhook_deliveries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id       bigint      NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    webhook_id          bigint      NOT NULL,
    event_id            uuid        NOT NULL,
    event_type          text        NOT NULL,
    payload             jsonb       NOT NULL,
    attempt             integer     NOT NULL DEFAULT 1,
    status              text        NOT NULL DEFAULT 'pending',
    response_status     integer,
    latency_ms          integer,
    response_excerpt    text,
    error               text,
    next_attempt_at     timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT webhook_deliveries_webhook_fk FOREIGN KEY (dealership_id, webhook_id)
        REFERENCES webhooks (dealership_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_attempt_key UNIQUE (webhook_id, event_id, attempt),
    CONSTRAINT webhook_deliveries_event_type_check CHECK (event_type IN (
        'conversation.created', 'conversation.escalated', 'conversation.closed',
        'message.received', 'message.sent',
        'lead.created', 'lead.updated',
        'inventory.updated')),
    CONSTRAINT webhook_deliveries_attempt_check CHECK (attempt >= 1),
    CONSTRAINT webhook_deliveries_status_check
        CHECK (status IN ('pending', 'succeeded', 'failed', 'abandoned')),
    CONSTRAINT webhook_deliveries_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_deliveries_latency_check CHECK (latency_ms IS NULL OR latency_ms >= 0)
);

CREATE INDEX webhook_deliveries_dealership_created_idx ON webhook_deliveries (dealership_id, created_at DESC);
CREATE INDEX webhook_deliveries_webhook_created_idx ON webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';

CREATE TRIGGER webhook_deliveries_touch_updated_at BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- job_failures: record of a poison message (a job that kept failing and went to its DLQ)
-- ---------------------------------------------------------------------------------------
CREATE TABLE job_failures (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_type        text        NOT NULL CHECK (btrim(job_type) <> ''),
    dealership_id   bigint      REFERENCES dealerships(id) ON DELETE CASCADE,
    idempotency_key text,
    -- SQS message id
    message_id      text,
    payload         jsonb       NOT NULL DEFAULT '{}',
    error           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT job_failures_attempts_check CHECK (attempts >= 1),
    CONSTRAINT job_failures_failed_order CHECK (last_failed_at >= first_failed_at)
);

-- one record per failing job: ON CONFLICT (job_type, idempotency_key) WHERE idempotency_key IS NOT NULL
-- DO UPDATE SET attempts = job_failures.attempts + 1, last_failed_at = now(), resolved_at = NULL, ...
CREATE UNIQUE INDEX job_failures_idempotency_key ON job_failures (job_type, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX job_failures_dealership_idx ON job_failures (dealership_id, last_failed_at DESC);
CREATE INDEX job_failures_unresolved_idx ON job_failures (last_failed_at DESC) WHERE resolved_at IS NULL;

CREATE TRIGGER job_failures_touch_updated_at BEFORE UPDATE ON job_failures
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Privileges for the application role
-- ---------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rylie_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rylie_app;
