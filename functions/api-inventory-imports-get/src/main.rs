//! `GET /v1/dealerships/{dealership_id}/inventory/imports/{import_id}`: reads an inventory import and its statistics.

rylie_app::http_function!(rylie_app::routes::inventory_imports::get);
