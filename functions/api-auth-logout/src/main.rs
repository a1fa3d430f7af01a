//! `POST /v1/auth/logout`: revokes a refresh token family.

use rylie_app::{http::Access, routes};

rylie_app::http_function!(Access::Public, routes::auth::logout);
