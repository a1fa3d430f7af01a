//! `PATCH /v1/dealerships/{dealership_id}`: updates a dealership.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "dealerships",
        action: Action::Admin
    },
    routes::dealerships::update
);
