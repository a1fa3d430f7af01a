//! `PATCH /v1/dealerships/{dealership_id}/users/{user_id}`: changes a user's name, role, availability or active flag.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "users",
        action: Action::Admin
    },
    routes::users::update
);
