-- 0012: an assistant turn's statements as functions, so their plans are cached.
--
-- A turn stores the customer's message and reads its context in one statement, and writes
-- the reply, its trace and any escalation in another (rylie-store `turns`); between them, the
-- model's inventory search (`vehicles::shortlist`, below). Sent as unnamed statements,
-- PostgreSQL parsed and planned them on every turn: measured on the assistant bench
-- (`rylie-ops bench assistant`), 2.6–2.9 ms of parse and plan against ~0.7 ms of execution
-- for each of the two. A named prepared statement would keep its plan, but it lives in the
-- session, and RDS Proxy pins a client to its database connection once it sees one. PL/pgSQL
-- keeps the plans of a function's statements in the backend instead, where the proxy does
-- not see them, shared by every client the proxy multiplexes onto that backend: the turn now
-- sends `SELECT * FROM rylie_turn_begin(...)`, which costs nothing to plan.
--
-- Their statements look rows up by key (dealership and conversation, dealership and user),
-- whatever the arguments: the functions tell PostgreSQL to plan them once, generically
-- (plan_cache_mode). Left to choose, it went on planning some of them for each call after
-- the first five: 1.7 ms a call against 0.5 ms, measured in psql on the bench's lot.
--
-- The functions run as the caller (SECURITY INVOKER, the default), and each first scopes its
-- transaction to the dealership it is given (rylie-store `scope`: the same transaction-local
-- setting the application makes): the tenant policy of 0004 applies inside them as it did to
-- the statements they replace. A call is then a transaction of its own without BEGIN, the
-- setting and COMMIT around it: one message to the database instead of three (~0.3 ms of the
-- backend's time a transaction on the bench). The caller is trusted with the dealership as
-- it is with the setting; the policy guards against a query that forgets its tenant, not
-- against the application.
--
-- The message store's commit does not wait for the WAL flush (synchronous_commit off, for
-- that transaction only): ~0.7 ms a turn on the bench. What that risks is narrow. The
-- message is committed and visible at once; it is flushed by the WAL writer within
-- wal_writer_delay, or at the latest by the turn's second transaction, whose commit does wait
-- and flushes the WAL up to itself, the message included. Only a crash of the database in
-- between loses it, and then that second transaction fails too: the caller gets an error,
-- never a reply to a message that was not kept, and retries.

-- A conversation's messages are always read within its dealership (the tenant policy adds the
-- dealership to every query), and a function's plan is made without the values: the index
-- that serves "this dealership's conversation, in order" is one index, not two for the planner
-- to combine (it did: a bitmap AND that read every index entry of the dealership's messages).
-- It also serves the cascade from conversations, whose key is (dealership_id, id).
CREATE INDEX messages_dealership_conversation_idx ON messages (dealership_id, conversation_id, created_at, id);
DROP INDEX messages_conversation_created_idx;

-- A message's dealership is its conversation's (messages_conversation_fk is on both columns),
-- and a dealership's messages go with its conversations: the key from messages to
-- dealerships only repeated a check (~45 µs, twice a turn) and a key-share lock of the
-- dealership's row, which concurrent turns of one dealership then shared through multixacts.
ALTER TABLE messages DROP CONSTRAINT messages_dealership_id_fkey;

-- Queues one event for every active webhook of the dealership subscribed to it, under one
-- event id: the function form of rylie-store's `events::queue_sql`, for code that runs
-- inside the database.
CREATE FUNCTION rylie_queue_event(p_dealership bigint, p_type text, p_payload jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_event uuid := gen_random_uuid();
BEGIN
    INSERT INTO webhook_deliveries (dealership_id, webhook_id, event_id, event_type, payload, next_attempt_at)
    SELECT p_dealership, w.id, v_event, p_type, p_payload, now()
      FROM webhooks w
     WHERE w.dealership_id = p_dealership AND w.is_active AND p_type = ANY (w.events);
END
$$;

-- Stores the customer's message (unless `p_external_id` was seen on this conversation's
-- channel before: then message_id is NULL) and returns everything the turn needs. No row:
-- no such conversation in the dealership. An inactive dealership stores nothing.
CREATE FUNCTION rylie_turn_begin(
    p_dealership bigint, p_conversation bigint, p_content text, p_external_id text, p_history bigint
) RETURNS TABLE (
    message_id bigint, dealership_active boolean, dealership_name text, timezone text,
    local_time timestamp, contact_phone text, contact_email text, website text, address text,
    handover_email text, business_hours jsonb, ai_config jsonb, agent_config jsonb,
    channel text, status text, ai_paused boolean, assigned_to bigint, customer_id bigint,
    customer_name text, customer_email text, customer_phone text, opted_out boolean,
    persona_id bigint, persona_name text, prompt_template text, temperature float8,
    max_tokens integer, handover_keywords text[], history_senders text[], history_contents text[],
    customer_turns bigint, consecutive_failures integer, conversation_started timestamptz,
    summary text
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_message bigint;
    v_created timestamptz;
    v_channel text;
BEGIN
    PERFORM set_config('rylie.dealership_id', p_dealership::text, true);
    PERFORM set_config('synchronous_commit', 'off', true);

    INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, external_id)
    SELECT p_dealership, c.id, p_content, 'customer', c.channel, p_external_id
      FROM conversations c
      JOIN dealerships d ON d.id = c.dealership_id
     WHERE c.dealership_id = p_dealership AND c.id = p_conversation AND d.active
        ON CONFLICT (dealership_id, channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING messages.id, messages.created_at, messages.channel INTO v_message, v_created, v_channel;

    IF v_message IS NOT NULL THEN
        UPDATE conversations c SET last_message_at = v_created
         WHERE c.dealership_id = p_dealership AND c.id = p_conversation;
        PERFORM rylie_queue_event(p_dealership, 'message.received', jsonb_build_object(
            'conversation_id', p_conversation, 'message_id', v_message, 'sender', 'customer',
            'channel', v_channel, 'content', p_content, 'created_at', v_created));
    END IF;

    RETURN QUERY
    SELECT v_message, d.active, d.name, d.timezone, (now() AT TIME ZONE d.timezone),
           d.contact_phone, d.contact_email, d.website,
           nullif(concat_ws(', ', d.street, d.city, nullif(concat_ws(' ', d.region, d.postal_code), '')), ''),
           d.handover_email, d.business_hours, d.ai_config, d.agent_config,
           c.channel, c.status, c.ai_paused, c.assigned_to, c.customer_id,
           coalesce(cu.full_name, nullif(concat_ws(' ', cu.first_name, cu.last_name), ''), c.customer_name),
           coalesce(cu.email, c.customer_email), coalesce(cu.phone, c.customer_phone),
           CASE c.channel WHEN 'sms' THEN cu.sms_opted_out_at WHEN 'email' THEN cu.email_opted_out_at
                          ELSE cu.chat_opted_out_at END IS NOT NULL,
           p.id, p.name, p.prompt_template, coalesce(p.temperature, 0.7)::float8, coalesce(p.max_tokens, 500),
           coalesce(p.handover_keywords, '{}'),
           h.senders, h.contents,
           (SELECT count(*) FROM messages m
             WHERE m.dealership_id = p_dealership AND m.conversation_id = p_conversation
               AND m.sender = 'customer'
               AND m.id IS DISTINCT FROM v_message) + 1,
           coalesce((c.ai_context ->> 'consecutive_failures')::int, 0),
           c.created_at, c.summary
      FROM dealerships d
      JOIN conversations c ON c.dealership_id = d.id AND c.id = p_conversation
      LEFT JOIN customers cu ON cu.dealership_id = p_dealership AND cu.id = c.customer_id
      LEFT JOIN LATERAL (
          SELECT pe.id, pe.name, pe.prompt_template, pe.temperature, pe.max_tokens, pe.handover_keywords
            FROM personas pe
           WHERE pe.dealership_id = p_dealership AND pe.is_active
             AND (pe.id = c.persona_id OR (c.persona_id IS NULL AND pe.is_default))
           ORDER BY pe.id = c.persona_id DESC LIMIT 1) p ON true
     CROSS JOIN LATERAL (
          SELECT coalesce(array_agg(latest.sender ORDER BY latest.created_at, latest.id), '{}') AS senders,
                 coalesce(array_agg(latest.content ORDER BY latest.created_at, latest.id), '{}') AS contents
            FROM (SELECT m.sender, m.content, m.created_at, m.id FROM messages m
                   WHERE m.dealership_id = p_dealership AND m.conversation_id = p_conversation
                     AND m.id IS DISTINCT FROM v_message
                   ORDER BY m.created_at DESC, m.id DESC LIMIT p_history) latest) h
     WHERE d.id = p_dealership;
END
$$;

-- Writes the end of a turn: the reply (when there is one) with its decision trace, the
-- conversation's analysis, the customer's opt-out or opt-in (`p_opt`: 'stop' or 'start', for
-- the conversation's channel), the enrolled conversation's experiment metrics (response time
-- and handover) and, when `p_escalate`, the escalation: status, reasons, dossier, the
-- assignee by the dealership's rule (`agent_config.assignment` = 'fixed' with
-- `fixed_user_id`, else round robin among the active users available for handover, the one
-- whose last assignment is oldest first) and the `conversation.escalated` event when the
-- conversation was not escalated before. `p_failures` NULL leaves the count of failed turns
-- as it is. No row: no such conversation.
CREATE FUNCTION rylie_turn_finish(
    p_dealership bigint, p_conversation bigint, p_reply text, p_sender text, p_model text,
    p_processing_ms integer, p_trace jsonb, p_metadata jsonb, p_escalate boolean, p_intents jsonb,
    p_sentiment float8, p_failures integer, p_reasons jsonb, p_dossier jsonb, p_opt text
) RETURNS TABLE (message_id bigint, status text, assigned_to bigint, newly_escalated boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_before record;
    v_reply bigint;
    v_replied timestamptz;
    v_assignee bigint;
    v_status text;
    v_assigned bigint;
    v_newly boolean;
BEGIN
    PERFORM set_config('rylie.dealership_id', p_dealership::text, true);
    SELECT c.status, c.assigned_to, c.customer_id, c.channel, c.experiment_id, c.variant_id INTO v_before
      FROM conversations c
     WHERE c.dealership_id = p_dealership AND c.id = p_conversation
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF p_reply IS NOT NULL THEN
        INSERT INTO messages (dealership_id, conversation_id, content, sender, channel, ai_generated,
                              ai_model, processing_time_ms, decision_trace, metadata)
        VALUES (p_dealership, p_conversation, p_reply, p_sender, v_before.channel, p_sender = 'assistant',
                p_model, p_processing_ms, p_trace, p_metadata)
        RETURNING messages.id, messages.created_at INTO v_reply, v_replied;
    END IF;

    IF p_escalate AND v_before.assigned_to IS NULL THEN
        SELECT u.id INTO v_assignee
          FROM users u, dealerships d
         WHERE d.id = p_dealership AND u.dealership_id = p_dealership AND u.is_active
           AND CASE WHEN d.agent_config ->> 'assignment' = 'fixed'
                    THEN u.id = (d.agent_config ->> 'fixed_user_id')::int8
                    ELSE u.available_for_handover END
         ORDER BY (SELECT max(x.escalated_at) FROM conversations x
                    WHERE x.dealership_id = p_dealership AND x.assigned_to = u.id) ASC NULLS FIRST, u.id
         LIMIT 1;
    END IF;

    UPDATE conversations c SET
        last_message_at = coalesce(v_replied, c.last_message_at),
        intents = p_intents,
        sentiment = p_sentiment::numeric(4,3),
        ai_context = CASE WHEN p_failures IS NULL THEN c.ai_context
                          ELSE jsonb_set(c.ai_context, '{consecutive_failures}', to_jsonb(p_failures)) END,
        status = CASE WHEN p_escalate THEN 'escalated' ELSE c.status END,
        escalated_at = CASE WHEN p_escalate AND c.status <> 'escalated' THEN now() ELSE c.escalated_at END,
        assigned_to = CASE WHEN p_escalate THEN coalesce(c.assigned_to, v_assignee) ELSE c.assigned_to END,
        handover_reasons = CASE WHEN p_escalate THEN p_reasons ELSE c.handover_reasons END,
        dossier = CASE WHEN p_escalate THEN p_dossier ELSE c.dossier END
     WHERE c.dealership_id = p_dealership AND c.id = p_conversation
    RETURNING c.status, c.assigned_to INTO v_status, v_assigned;
    v_newly := v_before.status <> 'escalated' AND v_status = 'escalated';

    IF p_opt IS NOT NULL AND v_before.customer_id IS NOT NULL THEN
        UPDATE customers cu SET
            sms_opted_out_at = CASE WHEN v_before.channel = 'sms'
                THEN CASE p_opt WHEN 'stop' THEN now() END ELSE cu.sms_opted_out_at END,
            email_opted_out_at = CASE WHEN v_before.channel = 'email'
                THEN CASE p_opt WHEN 'stop' THEN now() END ELSE cu.email_opted_out_at END,
            chat_opted_out_at = CASE WHEN v_before.channel IN ('web', 'phone')
                THEN CASE p_opt WHEN 'stop' THEN now() END ELSE cu.chat_opted_out_at END
         WHERE cu.dealership_id = p_dealership AND cu.id = v_before.customer_id;
    END IF;

    IF v_newly THEN
        PERFORM rylie_queue_event(p_dealership, 'conversation.escalated', jsonb_build_object(
            'conversation_id', p_conversation, 'reasons', p_reasons, 'assigned_to', v_assigned,
            'dossier', p_dossier));
    END IF;
    IF v_reply IS NOT NULL THEN
        PERFORM rylie_queue_event(p_dealership, 'message.sent', jsonb_build_object(
            'conversation_id', p_conversation, 'message_id', v_reply, 'sender', p_sender,
            'channel', v_before.channel, 'content', p_reply, 'created_at', v_replied));
        -- An enrolled conversation's turn feeds its variant's metrics: the time the platform
        -- took and whether the turn handed over.
        IF v_before.experiment_id IS NOT NULL AND v_before.variant_id IS NOT NULL THEN
            INSERT INTO prompt_metrics (dealership_id, conversation_id, message_id, experiment_id, variant_id,
                                        metric_name, metric_value)
            VALUES (p_dealership, p_conversation, v_reply, v_before.experiment_id, v_before.variant_id,
                    'response_time_ms', p_processing_ms),
                   (p_dealership, p_conversation, v_reply, v_before.experiment_id, v_before.variant_id,
                    'handover', CASE WHEN p_escalate THEN 1 ELSE 0 END);
        END IF;
    END IF;

    RETURN QUERY SELECT v_reply, v_status, v_assigned, v_newly;
END
$$;

-- The assistant's inventory search (rylie-store `vehicles::shortlist`): the first `p_limit`
-- active vehicles matching, newest model year first (or lowest price first), without a
-- total. Planned once like the turn's statements; as an unnamed statement it cost ~1.4 ms of
-- parse and plan for ~0.8 ms of execution.
--
-- The candidates come from the active search index alone (an index-only scan: dealership,
-- make keys, then the model keys, years and the free text's lexeme signature of 0007 on the
-- index entries), ordered there, and are read from the table one by one until `p_limit` pass
-- every condition: for a make with 800 vehicles at the dealership, 5 rows read, not 800.
-- Make and model keys are lower case, as many as the caller found close to the customer's
-- spelling; NULL: any. Free text must match exactly; it narrows, it does not rank. Each
-- row's last_seen is the last time a feed listed it, as rylie-store's vehicle reads give it:
-- the importer does not write the vehicles a full feed left unchanged.
CREATE FUNCTION rylie_vehicle_shortlist(
    p_dealership bigint, p_text text, p_makes text[], p_models text[],
    p_year_min integer, p_year_max integer, p_price_min numeric, p_price_max numeric,
    p_mileage_max integer, p_body_style text, p_fuel_type text, p_drivetrain text,
    p_condition text, p_lowest_price boolean, p_limit integer
) RETURNS SETOF vehicles
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_query tsquery := websearch_to_tsquery('english', p_text);
    v_signature bit(512) := rylie_query_signature(v_query);
    -- How many candidates the first pass reads: without conditions on the table's columns,
    -- the first candidates are the answer; with them, a few times the shortlist (the free
    -- text's signature lets few non-matches through), and the rest only when that was not
    -- enough. The lowest prices need every candidate. A bounded pass sorts its few best
    -- candidates only, not all of them: for a free-text search across a whole lot that is
    -- most of the cost.
    v_batch integer := CASE WHEN p_lowest_price THEN NULL
                            WHEN p_text IS NULL AND p_price_min IS NULL AND p_price_max IS NULL
                                 AND p_mileage_max IS NULL AND p_body_style IS NULL AND p_fuel_type IS NULL
                                 AND p_drivetrain IS NULL AND p_condition IS NULL THEN p_limit
                            ELSE 8 * p_limit END;
    v_offset integer := 0;
    v_found integer := 0;
    v_candidates bigint[];
    v_vehicle vehicles;
    v_last_full_feed timestamptz;
BEGIN
    PERFORM set_config('rylie.dealership_id', p_dealership::text, true);
    SELECT max(i.started_at) INTO v_last_full_feed FROM inventory_imports i
     WHERE i.dealership_id = p_dealership AND i.status = 'completed' AND i.full_feed;

    LOOP
        -- Two statements, so that a make is an index condition when there is one.
        IF p_makes IS NOT NULL THEN
            v_candidates := ARRAY(
                SELECT c.id FROM vehicles c
                 WHERE c.dealership_id = p_dealership AND c.is_active AND c.make_key = ANY (p_makes)
                   AND (p_models IS NULL OR c.model_key = ANY (p_models))
                   AND (p_year_min IS NULL OR c.year >= p_year_min)
                   AND (p_year_max IS NULL OR c.year <= p_year_max)
                   AND (v_signature IS NULL OR (c.search_signature & v_signature) = v_signature)
                 ORDER BY c.year DESC, c.id DESC
                 LIMIT v_batch OFFSET v_offset);
        ELSE
            v_candidates := ARRAY(
                SELECT c.id FROM vehicles c
                 WHERE c.dealership_id = p_dealership AND c.is_active
                   AND (p_models IS NULL OR c.model_key = ANY (p_models))
                   AND (p_year_min IS NULL OR c.year >= p_year_min)
                   AND (p_year_max IS NULL OR c.year <= p_year_max)
                   AND (v_signature IS NULL OR (c.search_signature & v_signature) = v_signature)
                 ORDER BY c.year DESC, c.id DESC
                 LIMIT v_batch OFFSET v_offset);
        END IF;

        IF p_lowest_price THEN
            -- Every candidate's price is in the table: this reads them all.
            v_candidates := ARRAY(
                SELECT v.id FROM vehicles v
                 WHERE v.dealership_id = p_dealership AND v.id = ANY (v_candidates)
                 ORDER BY v.price NULLS LAST, v.id);
        END IF;

        FOR v_vehicle IN
        SELECT v.* FROM unnest(v_candidates) WITH ORDINALITY AS c(id, position)
         CROSS JOIN LATERAL (
             SELECT * FROM vehicles v
              WHERE v.dealership_id = p_dealership AND v.id = c.id
                AND (v_query IS NULL OR v.search_vector @@ v_query)
                AND (p_price_min IS NULL OR v.price >= p_price_min)
                AND (p_price_max IS NULL OR v.price <= p_price_max)
                AND (p_mileage_max IS NULL OR v.mileage <= p_mileage_max)
                AND (p_body_style IS NULL OR lower(v.body_style) = lower(p_body_style))
                AND (p_fuel_type IS NULL OR lower(v.fuel_type) = lower(p_fuel_type))
                AND (p_drivetrain IS NULL OR lower(v.drivetrain) = lower(p_drivetrain))
                AND (p_condition IS NULL OR v.condition = lower(p_condition))) v
         ORDER BY c.position
         LIMIT p_limit - v_found
        LOOP
            v_vehicle.last_seen := greatest(v_vehicle.last_seen, v_last_full_feed);
            RETURN NEXT v_vehicle;
            v_found := v_found + 1;
        END LOOP;

        -- Enough, or every candidate read.
        EXIT WHEN v_found >= p_limit OR v_batch IS NULL OR cardinality(v_candidates) < v_batch;
        v_offset := v_batch;
        v_batch := NULL;
    END LOOP;
END
$$;

GRANT EXECUTE ON FUNCTION rylie_queue_event(bigint, text, jsonb),
                          rylie_vehicle_shortlist(bigint, text, text[], text[], integer, integer, numeric, numeric,
                                                  integer, text, text, text, text, boolean, integer),
                          rylie_turn_begin(bigint, bigint, text, text, bigint),
                          rylie_turn_finish(bigint, bigint, text, text, text, integer, jsonb, jsonb, boolean,
                                            jsonb, float8, integer, jsonb, jsonb, text)
    TO rylie_app;
