//! `PATCH /v1/dealerships/{dealership_id}/personas/{persona_id}`: updates a persona.

rylie_app::http_function!(rylie_app::routes::personas::update);
