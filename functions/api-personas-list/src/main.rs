//! `GET /v1/dealerships/{dealership_id}/personas`: lists personas.

rylie_app::http_function!(rylie_app::routes::personas::list);
