//! `GET /v1/dealerships/{dealership_id}/vehicles/{vin}`: reads a vehicle by VIN.

rylie_app::http_function!(rylie_app::routes::vehicles::get);
