-- 0006: what inbound mail (SES → leads, conversations, inventory imports) needs.
--
--   * A dealership receives leads at leads+<alias>@<inbound domain> (0001), and may also have
--     its own addresses pointed at us (a dealer whose MX for leads@sunsetmotors.example is
--     SES): `inbound_email_addresses`, stored lower-case, looked up by address.
--   * `first_contact` says what a new lead gets first: a reply drafted by the assistant, the
--     template email, or nothing (the dealer's staff call).
--   * A lead keeps the whole parsed ADF prospect (`details`: every element, unknown vendor
--     extensions and the parser's warnings), beside the columns that are queried.
--   * `first_contact_queued_at` records that the first-contact job was handed to its queue.
--     The lead commits first and the message is sent after; a crash in between leaves the
--     column NULL, and processing the same mail again (a Lambda retry, `rylie-ops inbound
--     reprocess`) finds the lead, creates nothing, and queues what was not queued.
--   * inbound mail counts the inventory files it handed to the import job, and keeps SES's
--     verdict on the sender (SPF or DKIM passed): a From header is easy to forge, and an
--     inventory file replaces a dealer's whole lot, so only an authenticated sender's counts.
--
-- Runs inside one transaction opened by the migration runner (no BEGIN/COMMIT here).

ALTER TABLE dealerships
    ADD COLUMN inbound_email_addresses text[] NOT NULL DEFAULT '{}',
    ADD COLUMN first_contact text NOT NULL DEFAULT 'assistant',
    ADD CONSTRAINT dealerships_inbound_email_addresses_lower
        CHECK (array_to_string(inbound_email_addresses, ',') = lower(array_to_string(inbound_email_addresses, ','))),
    ADD CONSTRAINT dealerships_first_contact_check CHECK (first_contact IN ('assistant', 'template', 'none'));

CREATE INDEX dealerships_inbound_email_addresses_idx ON dealerships USING gin (inbound_email_addresses);

COMMENT ON COLUMN dealerships.inbound_email_addresses IS
    'Addresses of the dealership''s own that deliver to our inbound mail (lower-case), besides leads+<alias>@<inbound domain>.';
COMMENT ON COLUMN dealerships.first_contact IS
    'What a new lead gets first: assistant (a reply drafted by the assistant), template (the first-contact email), none.';

ALTER TABLE leads
    ADD COLUMN details jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN first_contact_queued_at timestamptz,
    ADD CONSTRAINT leads_details_object CHECK (jsonb_typeof(details) = 'object');

COMMENT ON COLUMN leads.details IS 'The whole parsed lead (ADF prospect): every element, vendor extensions, parser warnings.';

ALTER TABLE inbound_emails
    ADD COLUMN imports_created integer NOT NULL DEFAULT 0,
    ADD COLUMN sender_authenticated boolean,
    ADD CONSTRAINT inbound_emails_imports_created_check CHECK (imports_created >= 0);

-- A lead names the car it is about by VIN or by stock number; a car with a VIN was only
-- findable by VIN (the stock-number index covers cars without one). Leads with the stock
-- number alone are common (dealer website forms), so the active cars are indexed by it too,
-- leading with the stock number for the reason 0005 gives.
CREATE INDEX vehicles_active_stock_number_idx ON vehicles (stock_number, dealership_id)
    WHERE is_active AND stock_number IS NOT NULL;
