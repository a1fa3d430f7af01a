//! `POST /v1/dealerships/{dealership_id}/users`: creates a staff user.

rylie_app::http_function!(rylie_app::routes::users::create);
