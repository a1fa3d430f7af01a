//! `OPTIONS /v1/dealerships/{dealership_id}/{proxy+}`: CORS preflight for the dealership's allowed origins.

rylie_app::http_function!(rylie_app::routes::cors::preflight);
