//! `POST /v1/dealerships/{dealership_id}/api-keys`: creates an API key, shown once.

rylie_app::http_function!(rylie_app::routes::api_keys::create);
