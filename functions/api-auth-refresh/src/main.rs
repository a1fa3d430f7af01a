//! `POST /v1/auth/refresh`: rotates a refresh token.

rylie_app::http_function!(rylie_app::routes::auth::refresh);
