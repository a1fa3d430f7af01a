//! `GET /v1/dealerships/{dealership_id}/webhooks`: lists the dealership's webhook endpoints (without secrets).

rylie_app::http_function!(rylie_app::routes::webhooks::list);
