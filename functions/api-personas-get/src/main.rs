//! `GET /v1/dealerships/{dealership_id}/personas/{persona_id}`: reads a persona.

rylie_app::http_function!(rylie_app::routes::personas::get);
