//! `GET /v1/dealerships/{dealership_id}`: reads a dealership.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "dealerships",
        action: Action::Read
    },
    routes::dealerships::get
);
