//! `GET /v1/dealerships/{dealership_id}/users/{user_id}`: reads a user.

rylie_app::http_function!(rylie_app::routes::users::get);
