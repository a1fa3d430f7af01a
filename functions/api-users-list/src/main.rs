//! `GET /v1/dealerships/{dealership_id}/users`: lists the dealership's users.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "users",
        action: Action::Read
    },
    routes::users::list
);
