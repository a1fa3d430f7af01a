//! `POST /v1/dealerships/{dealership_id}/inventory/imports/{import_id}/confirm`: applies an import held for confirmation.

rylie_app::http_function!(rylie_app::routes::inventory_imports::confirm);
