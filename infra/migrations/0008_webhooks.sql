-- 0008: what delivering outbound webhooks needs beyond the tables of 0003.
--
-- The flow: events::emit writes one pending webhook_deliveries row per subscribed endpoint in
-- the transaction that made the change (0003); cron-webhook-dispatch enqueues due rows on the
-- job-webhook queue; job-webhook posts one attempt and records it; a failed attempt adds the
-- next attempt's row. So:
--
--   * event_created_at: when the event happened, carried from attempt to attempt, because the
--     retry window (24 hours) and the payload's `created_at` count from the event, not from
--     the attempt's own row.
--   * queued_at: when the dispatcher last put the row on the queue. The dispatcher skips rows
--     queued recently, so a row waiting in the queue is not queued again every minute; a row
--     whose message was lost is queued again once that wait is over.
--   * claimed_until: a worker posting this attempt holds it until then (longer than the
--     function's timeout), so SQS handing the same message to two workers posts once.
--   * attempted_at: when the attempt was posted (the row's created_at is when it was scheduled).
--   * webhooks.failing_since: when the endpoint's current run of failures began (NULL after a
--     success); an endpoint failing every attempt for 24 hours is disabled.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

ALTER TABLE webhook_deliveries
    ADD COLUMN event_created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN queued_at        timestamptz,
    ADD COLUMN claimed_until    timestamptz,
    ADD COLUMN attempted_at     timestamptz;

-- Rows emitted before this migration: their own creation is the event's.
UPDATE webhook_deliveries SET event_created_at = created_at WHERE event_created_at <> created_at;

ALTER TABLE webhooks
    ADD COLUMN failing_since timestamptz,
    ADD CONSTRAINT webhooks_url_length CHECK (length(url) <= 2048),
    ADD CONSTRAINT webhooks_description_length CHECK (description IS NULL OR length(description) <= 500);

COMMENT ON COLUMN webhook_deliveries.queued_at IS
    'When cron-webhook-dispatch last enqueued this attempt; it is enqueued again only after a while (a lost message).';
COMMENT ON COLUMN webhook_deliveries.claimed_until IS
    'A job-webhook worker is posting this attempt until then; another worker leaves it alone.';
COMMENT ON COLUMN webhooks.failing_since IS
    'Start of the current run of failed attempts (NULL once one succeeds); 24 hours of it disables the endpoint.';
