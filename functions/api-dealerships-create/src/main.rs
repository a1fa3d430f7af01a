//! `POST /v1/dealerships`: creates a dealership (super admin).

rylie_app::http_function!(rylie_app::routes::dealerships::create);
