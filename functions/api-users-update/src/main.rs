//! `PATCH /v1/dealerships/{dealership_id}/users/{user_id}`: changes a user's name, role, availability or active flag.

rylie_app::http_function!(rylie_app::routes::users::update);
