//! `PATCH /v1/dealerships/{dealership_id}/settings`: changes the dealership's settings: hours, assignment, quiet hours, disclosure, reports.

rylie_app::http_function!(rylie_app::routes::settings::update);
