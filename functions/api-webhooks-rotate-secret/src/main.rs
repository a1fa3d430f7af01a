//! `POST /v1/dealerships/{dealership_id}/webhooks/{webhook_id}/rotate-secret`: replaces a webhook endpoint's signing secret; answers it once.

rylie_app::http_function!(rylie_app::routes::webhooks::rotate_secret);
