//! Any bytes through the ADF parser: it must answer (leads or an error), never panic, and
//! every lead it returns must produce its operator report.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(leads) = rylie_domain::adf::parse(&text) {
        for lead in &leads {
            let _ = lead.report();
            let _ = lead.content_hash();
        }
    }
});
