//! `POST /v1/dealerships/{dealership_id}/personas/{persona_id}/default`: makes a persona the default.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "personas",
        action: Action::Write
    },
    routes::personas::set_default
);
