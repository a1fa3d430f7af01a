//! `GET /v1/dealerships/{dealership_id}/users`: lists the dealership's users.

rylie_app::http_function!(rylie_app::routes::users::list);
