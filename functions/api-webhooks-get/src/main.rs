//! `GET /v1/dealerships/{dealership_id}/webhooks/{webhook_id}`: reads a webhook endpoint (without its secret).

rylie_app::http_function!(rylie_app::routes::webhooks::get);
