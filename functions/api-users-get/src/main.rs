//! `GET /v1/dealerships/{dealership_id}/users/{user_id}`: reads a user.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "users",
        action: Action::Read
    },
    routes::users::get
);
