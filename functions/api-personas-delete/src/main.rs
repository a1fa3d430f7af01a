//! `DELETE /v1/dealerships/{dealership_id}/personas/{persona_id}`: deletes a persona.

use rylie_app::{http::Access, routes};
use rylie_domain::Action;

rylie_app::http_function!(
    Access::Caller {
        resource: "personas",
        action: Action::Delete
    },
    routes::personas::delete
);
