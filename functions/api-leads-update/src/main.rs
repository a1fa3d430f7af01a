//! `PATCH /v1/dealerships/{dealership_id}/leads/{lead_id}`: moves a lead to another status (contacted, qualified, appointment, sold, lost, duplicate).

rylie_app::http_function!(rylie_app::routes::leads::update);
