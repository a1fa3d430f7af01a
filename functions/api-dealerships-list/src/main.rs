//! `GET /v1/dealerships`: lists dealerships (super admin).

rylie_app::http_function!(rylie_app::routes::dealerships::list);
