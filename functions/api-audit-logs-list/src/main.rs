//! `GET /v1/dealerships/{dealership_id}/audit-logs`: lists the audit trail.

rylie_app::http_function!(rylie_app::routes::audit_logs::list);
