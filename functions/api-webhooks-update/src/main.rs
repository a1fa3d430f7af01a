//! `PATCH /v1/dealerships/{dealership_id}/webhooks/{webhook_id}`: changes a webhook endpoint; is_active true re-enables a disabled one.

rylie_app::http_function!(rylie_app::routes::webhooks::update);
