//! `DELETE /v1/dealerships/{dealership_id}/experiments/{experiment_id}`: deletes a draft or cancelled prompt experiment.

rylie_app::http_function!(rylie_app::routes::experiments::delete);
