//! `GET /v1/dealerships/{dealership_id}/inventory/imports`: lists inventory imports.

rylie_app::http_function!(rylie_app::routes::inventory_imports::list);
