//! `GET /v1/dealerships/{dealership_id}/personas`: lists personas.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "personas",
        action: Action::Read
    },
    routes::personas::list
);
