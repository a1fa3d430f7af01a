//! `POST /v1/auth/login`: staff login: access and refresh tokens.

use rylie_app::{http::Access, routes};

rylie_app::http_function!(Access::Public, routes::auth::login);
