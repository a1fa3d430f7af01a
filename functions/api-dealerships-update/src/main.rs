//! `PATCH /v1/dealerships/{dealership_id}`: updates a dealership.

rylie_app::http_function!(rylie_app::routes::dealerships::update);
