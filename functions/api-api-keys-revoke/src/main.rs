//! `POST /v1/dealerships/{dealership_id}/api-keys/{key_id}/revoke`: revokes an API key.

rylie_app::http_function!(rylie_app::routes::api_keys::revoke);
