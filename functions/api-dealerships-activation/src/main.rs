//! `POST /v1/dealerships/{dealership_id}/activate`: activates or deactivates a dealership (super admin).

rylie_app::http_function!(rylie_app::routes::dealerships::set_active);
