//! `GET /v1/dealerships/{dealership_id}/vehicles`: searches the dealership's vehicles.

rylie_app::http_function!(rylie_app::routes::vehicles::list);
