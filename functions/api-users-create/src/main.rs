//! `POST /v1/dealerships/{dealership_id}/users`: creates a staff user.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "users",
        action: Action::Admin
    },
    routes::users::create
);
