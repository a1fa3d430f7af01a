//! `DELETE /v1/dealerships/{dealership_id}/personas/{persona_id}`: deletes a persona.

rylie_app::http_function!(rylie_app::routes::personas::delete);
