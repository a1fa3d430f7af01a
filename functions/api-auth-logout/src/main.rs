//! `POST /v1/auth/logout`: revokes a refresh token family.

rylie_app::http_function!(rylie_app::routes::auth::logout);
