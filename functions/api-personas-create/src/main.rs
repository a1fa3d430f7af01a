//! `POST /v1/dealerships/{dealership_id}/personas`: creates a persona.

rylie_app::http_function!(rylie_app::routes::personas::create);
