//! `POST /v1/dealerships/{dealership_id}/activate`: activates or deactivates a dealership (super admin).

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "dealerships",
        action: Action::Admin
    },
    routes::dealerships::set_active
);
