//! `POST /v1/auth/refresh`: rotates a refresh token.

use rylie_app::{http::Access, routes};

rylie_app::http_function!(Access::Public, routes::auth::refresh);
