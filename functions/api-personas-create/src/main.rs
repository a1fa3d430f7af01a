//! `POST /v1/dealerships/{dealership_id}/personas`: creates a persona.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "personas",
        action: Action::Write
    },
    routes::personas::create
);
