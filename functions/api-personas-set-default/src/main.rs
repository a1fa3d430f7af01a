//! `POST /v1/dealerships/{dealership_id}/personas/{persona_id}/default`: makes a persona the default.

rylie_app::http_function!(rylie_app::routes::personas::set_default);
