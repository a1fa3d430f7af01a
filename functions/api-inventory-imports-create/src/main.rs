//! `POST /v1/dealerships/{dealership_id}/inventory/imports`: uploads an inventory feed, or asks for a pre-signed upload URL.

rylie_app::http_function!(rylie_app::routes::inventory_imports::create);
