//! Any bytes through the MIME front end, then every ADF document it finds through the ADF
//! parser: what mail-inbound does with a received message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = rylie_domain::mail::read_message(data) {
        for source in &message.adf_documents {
            let _ = rylie_domain::adf::parse(&source.xml);
        }
    }
});
