//! rylie-domain: the types and rules of the product, with no I/O and no async, so they are
//! tested in microseconds and can be fuzzed.
//!
//! Values from outside (HTTP bodies, feeds, mail) are parsed into these types at the edge;
//! code past the edge never re-checks them.

pub mod access;
pub mod adf;
pub mod api_key;
pub mod assistant;
mod content_hash;
pub mod dealership;
pub mod feed;
pub mod mail;
pub mod prompt;
pub mod report;
pub mod vin;
pub mod webhook;

pub use access::{Action, Principal, Role};
pub use api_key::ApiKey;
pub use dealership::{DealershipId, Subdomain};
pub use vin::Vin;
