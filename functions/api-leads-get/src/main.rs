//! `GET /v1/dealerships/{dealership_id}/leads/{lead_id}`: reads a lead.

rylie_app::http_function!(rylie_app::routes::leads::get);
