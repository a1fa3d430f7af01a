//! Route handlers, one module per resource family. Each handler is what one function in
//! functions/ serves; the pipeline in [`crate::http`] has already authenticated the caller,
//! applied the rate limit and checked the permission matrix and the tenant.

pub mod api_keys;
pub mod audit_logs;
pub mod auth;
pub mod conversations;
pub mod cors;
pub mod dealerships;
pub mod experiments;
pub mod inbound_emails;
pub mod inventory_imports;
pub mod leads;
pub mod openapi;
pub mod password_reset;
pub mod personas;
pub mod registry;
pub mod reports;
pub mod settings;
pub mod users;
pub mod vehicles;
pub mod webhooks;
