//! `POST /v1/auth/password-reset/confirm`: sets a new password with a reset token.

rylie_app::http_function!(rylie_app::routes::password_reset::confirm);
