//! `GET /v1/dealerships/{dealership_id}/audit-logs`: lists the audit trail.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "audit-logs",
        action: Action::Admin
    },
    routes::audit_logs::list
);
