-- 0013: less work and less waiting in an assistant turn's functions (0012).
--
-- 1. The assistant's search for a make reads its newest vehicles, not all of them.
--
-- The shortlist of 0012 orders a make's candidates by model year, newest first, but the
-- active search index orders them by model within the make (it serves the close-spelling
-- look-up's walk over the lot's make and model pairs, rylie-store `vehicles::close_keys`):
-- a search for Honda on the bench's lot read all 833 of its index entries and sorted them for
-- the first five, 0.2-0.4 ms of a 0.5 ms search. This index keeps each make's active vehicles
-- in model-year order, so that the search reads five entries and stops. It costs a new or
-- reactivated vehicle one more index entry in the import.
CREATE INDEX vehicles_active_make_year_idx ON vehicles (dealership_id, make_key, year, id)
    INCLUDE (model_key, search_signature) WHERE is_active;

-- As 0012's, with a third statement for a search by make alone (the assistant's usual one):
-- the candidates of each make are read from the index above in its order, the first
-- `v_batch` past the offset of each, and merged. An ordered index scan cannot serve
-- `make_key = ANY (...)` (PostgreSQL 15 reads every entry of every make it is given), and the
-- close spellings of a make are several.
CREATE OR REPLACE FUNCTION rylie_vehicle_shortlist(
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
        -- Three statements: a plan is made once, without the values, and each of these has
        -- its own best one.
        IF p_makes IS NULL THEN
            v_candidates := ARRAY(
                SELECT c.id FROM vehicles c
                 WHERE c.dealership_id = p_dealership AND c.is_active
                   AND (p_models IS NULL OR c.model_key = ANY (p_models))
                   AND (p_year_min IS NULL OR c.year >= p_year_min)
                   AND (p_year_max IS NULL OR c.year <= p_year_max)
                   AND (v_signature IS NULL OR (c.search_signature & v_signature) = v_signature)
                 ORDER BY c.year DESC, c.id DESC
                 LIMIT v_batch OFFSET v_offset);
        ELSIF p_models IS NULL AND p_year_min IS NULL AND p_year_max IS NULL AND v_signature IS NULL THEN
            -- Makes alone: each make's newest from the index in model-year order, merged. (With
            -- conditions on the index entries as well, PostgreSQL's estimate of how few entries
            -- pass them makes it prefer the search index and a sort, below.)
            v_candidates := ARRAY(
                SELECT newest.id FROM unnest(p_makes) AS m(make_key)
                 CROSS JOIN LATERAL (
                     SELECT c.id, c.year FROM vehicles c
                      WHERE c.dealership_id = p_dealership AND c.is_active AND c.make_key = m.make_key
                      ORDER BY c.year DESC, c.id DESC
                      LIMIT v_batch + v_offset) newest
                 ORDER BY newest.year DESC, newest.id DESC
                 LIMIT v_batch OFFSET v_offset);
        ELSE
            -- Makes with a model, years or free text: the search index, make and model keys
            -- first, the rest checked on its entries.
            v_candidates := ARRAY(
                SELECT c.id FROM vehicles c
                 WHERE c.dealership_id = p_dealership AND c.is_active AND c.make_key = ANY (p_makes)
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

-- 2. An event for a dealership without a webhook subscribed to it queues nothing, and now
-- costs a look-up instead of an insert: starting an INSERT opens the deliveries table and its
-- five indexes even when it writes no row. Twice a turn (message.received, message.sent);
-- ~35 µs each, measured with pgbench against the function of 0012 on the bench's lot.
CREATE OR REPLACE FUNCTION rylie_queue_event(p_dealership bigint, p_type text, p_payload jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    -- One event, one id, whichever webhooks receive it.
    v_event uuid := gen_random_uuid();
BEGIN
    IF EXISTS (SELECT FROM webhooks w
                WHERE w.dealership_id = p_dealership AND w.is_active AND p_type = ANY (w.events)) THEN
        INSERT INTO webhook_deliveries (dealership_id, webhook_id, event_id, event_type, payload, next_attempt_at)
        SELECT p_dealership, w.id, v_event, p_type, p_payload, now()
          FROM webhooks w
         WHERE w.dealership_id = p_dealership AND w.is_active AND p_type = ANY (w.events);
    END IF;
END
$$;

-- 3. A routine turn's end does not wait for the WAL flush either; a turn that hands over or
-- changes the customer's consent (opt-out, opt-in) still does.
--
-- The flush was ~0.19 ms of every turn on the bench's disk (pgbench, alternated) and all of
-- the turn's exposure to the disk's latency: under another process's writes it took 3-4 ms.
-- What it bought: after a crash of the database itself, no reply the customer was shown is
-- missing. What it costs now: such a crash loses the routine exchanges of its last moments
-- (the WAL writer flushes every wal_writer_delay, 200 ms by default), each as a whole,
-- message and reply together, never half of one; a customer who saw the reply and writes
-- again is answered without it. Opt-outs and opt-ins (compliance) and handovers (a person is
-- now waiting on the dossier) are flushed before the customer sees the answer, as before.
CREATE OR REPLACE FUNCTION rylie_turn_finish(
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
    IF NOT p_escalate AND p_opt IS NULL THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
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
