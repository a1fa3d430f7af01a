-- 0009_reports.sql
--
-- report_runs: one row per scheduled report the cron has handed to the report queue, keyed by
-- the report's business key (dealership, period kind, first local day of the period).
--
-- Why: the schedule runs every hour and a report stays due for the rest of its day (the weekly
-- one for the rest of its week), so the cron needs to know what it already queued. Inserting
-- the row ON CONFLICT DO NOTHING is that check and the claim at once: a second run in the same
-- hour, or a run that overlaps another, queues nothing new. The e-mail itself is deduplicated
-- again downstream (email_deliveries.idempotency_key derives from the same key), so a report
-- queued twice after a crash between queueing and commit is still mailed once.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

CREATE TABLE report_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dealership_id   bigint      NOT NULL REFERENCES dealerships(id) ON DELETE CASCADE,
    period_kind     text        NOT NULL,
    -- local dates in the dealership's time zone: start inclusive, end exclusive
    period_start    date        NOT NULL,
    period_end      date        NOT NULL,
    -- report:<dealership>:<kind>:<period_start>
    idempotency_key text        NOT NULL,
    queued_at       timestamptz NOT NULL DEFAULT now(),
    -- when job-report computed the figures and handed the e-mail to job-email
    mailed_at       timestamptz,
    recipients      integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT report_runs_period_key UNIQUE (dealership_id, period_kind, period_start),
    CONSTRAINT report_runs_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT report_runs_period_kind_check CHECK (period_kind IN ('daily', 'weekly')),
    CONSTRAINT report_runs_period_order CHECK (period_end > period_start),
    CONSTRAINT report_runs_recipients_check CHECK (recipients IS NULL OR recipients >= 0)
);

COMMENT ON TABLE report_runs IS
    'Scheduled reports queued by cron-reports, one per (dealership, period kind, first local day); the row is the cron''s idempotency record.';

CREATE TRIGGER report_runs_touch_updated_at BEFORE UPDATE ON report_runs
    FOR EACH ROW EXECUTE FUNCTION rylie_touch_updated_at();

-- Row-level security, as 0004 does for every tenant table.
ALTER TABLE report_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON report_runs
    USING (rylie_platform() OR dealership_id = rylie_tenant())
    WITH CHECK (rylie_platform() OR dealership_id = rylie_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON report_runs TO rylie_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rylie_app;
