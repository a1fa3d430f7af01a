//! `POST /v1/auth/login`: staff login: access and refresh tokens.

rylie_app::http_function!(rylie_app::routes::auth::login);
