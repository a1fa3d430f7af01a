//! `GET /v1/dealerships/{dealership_id}/experiments`: lists prompt experiments.

rylie_app::http_function!(rylie_app::routes::experiments::list);
