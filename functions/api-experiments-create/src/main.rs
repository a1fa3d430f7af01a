//! `POST /v1/dealerships/{dealership_id}/experiments`: creates a prompt experiment (a draft) with its variants.

rylie_app::http_function!(rylie_app::routes::experiments::create);
