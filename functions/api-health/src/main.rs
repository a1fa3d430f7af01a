//! `GET /health` and `GET /healthz`.

rylie_app::http_function!(rylie_app::http::health::handle);
