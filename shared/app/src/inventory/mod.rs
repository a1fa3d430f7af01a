//! Inventory: applying feeds to a dealership's vehicles (from an upload, an S3 drop, an e-mail
//! attachment or the operator's CLI) and the import job that does it.

pub mod drop;
pub mod import;
pub mod job;
pub mod search;
