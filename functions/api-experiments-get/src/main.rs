//! `GET /v1/dealerships/{dealership_id}/experiments/{experiment_id}`: reads a prompt experiment with its variants.

rylie_app::http_function!(rylie_app::routes::experiments::get);
