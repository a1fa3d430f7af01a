//! `GET /v1/dealerships/{dealership_id}`: reads a dealership.

rylie_app::http_function!(rylie_app::routes::dealerships::get);
