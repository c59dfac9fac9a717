//! The OAuth Apps query language: any JSON `query` parses to a query or a validation error, and a
//! parsed query runs over a few apps without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wix_oauth_mock::world::oauth_apps::SiteScope;
use wix_oauth_mock::world::query::Query;
use wix_oauth_mock::{App, Scenario};

fuzz_target!(|data: &[u8]| {
    static APP: OnceLock<App> = OnceLock::new();
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(query) = Query::parse(Some(&value)) {
        let app = APP.get_or_init(|| App::new(Scenario::builtin(), "<fuzz>", Default::default()));
        app.with_world(|w, _, _| {
            let page = w.query_oauth_apps(SiteScope(None), &query);
            let _ = page.items.len();
        });
    }
});
