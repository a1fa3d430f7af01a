-- 0010_analysis_due.sql
--
-- cron-idle-conversations asks, every 15 minutes and across every dealership, which
-- conversations are due for analysis: not analysed since their last message, and silent for a
-- while or closed (rylie_store::analysis::due). Without an index that is a scan of every
-- conversation ever held, each run. This partial index holds only the conversations that are
-- due or about to be (a conversation leaves it when it is analysed and comes back with its
-- next message), ordered as the query reads them, oldest first.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

CREATE INDEX conversations_analysis_due_idx ON conversations (last_message_at)
    WHERE analysed_at IS NULL OR analysed_at < last_message_at;
