//! `GET /v1/dealerships/{dealership_id}/api-keys`: lists API keys without their secrets.

rylie_app::http_function!(rylie_app::routes::api_keys::list);
