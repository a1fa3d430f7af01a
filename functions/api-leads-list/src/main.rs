//! `GET /v1/dealerships/{dealership_id}/leads`: lists leads by status and source.

rylie_app::http_function!(rylie_app::routes::leads::list);
