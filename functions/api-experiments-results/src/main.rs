//! `GET /v1/dealerships/{dealership_id}/experiments/{experiment_id}/results`: compares an experiment's variants with its control (z-test).

rylie_app::http_function!(rylie_app::routes::experiments::results);
