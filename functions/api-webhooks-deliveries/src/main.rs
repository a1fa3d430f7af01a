//! `GET /v1/dealerships/{dealership_id}/webhooks/{webhook_id}/deliveries`: lists a webhook endpoint's delivery attempts (status, latency, answer).

rylie_app::http_function!(rylie_app::routes::webhooks::deliveries);
