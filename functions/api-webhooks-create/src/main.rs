//! `POST /v1/dealerships/{dealership_id}/webhooks`: creates a webhook endpoint; answers its signing secret once.

rylie_app::http_function!(rylie_app::routes::webhooks::create);
