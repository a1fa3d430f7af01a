//! `POST /v1/auth/password-reset`: mails a one-time password-reset link (same answer for unknown addresses).

rylie_app::http_function!(rylie_app::routes::password_reset::request);
