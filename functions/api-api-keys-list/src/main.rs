//! `GET /v1/dealerships/{dealership_id}/api-keys`: lists API keys without their secrets.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "api-keys",
        action: Action::Admin
    },
    routes::api_keys::list
);
