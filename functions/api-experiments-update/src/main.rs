//! `PATCH /v1/dealerships/{dealership_id}/experiments/{experiment_id}`: changes a prompt experiment: dates, traffic, status, winner.

rylie_app::http_function!(rylie_app::routes::experiments::update);
