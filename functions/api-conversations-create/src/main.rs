//! `POST /v1/dealerships/{dealership_id}/conversations`: starts a conversation (chat widget key or staff).

rylie_app::http_function!(rylie_app::routes::conversations::create);
