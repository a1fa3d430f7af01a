//! `GET /v1/dealerships`: lists dealerships (super admin).

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "dealerships",
        action: Action::Admin
    },
    routes::dealerships::list
);
