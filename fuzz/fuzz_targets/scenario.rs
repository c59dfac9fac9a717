//! The scenario parser (YAML or JSON): any text gives a scenario or a `file:line:col` error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(scenario) = wix_oauth_mock::Scenario::parse(&text, "<fuzz>") {
        // A scenario that loads must also start.
        let _ = wix_oauth_mock::App::new(scenario, "<fuzz>", Default::default());
    }
});
