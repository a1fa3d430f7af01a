//! `GET /v1/dealerships/{dealership_id}/personas/{persona_id}`: reads a persona.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "personas",
        action: Action::Read
    },
    routes::personas::get
);
