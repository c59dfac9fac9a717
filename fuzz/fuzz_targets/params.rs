//! Request decoding shared by every endpoint: JSON or form bodies (`routes::Params`), query strings,
//! parameter names and the Authorization header's `Bearer` prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wix_oauth_mock::routes::{Params, query_params, snake_case, strip_bearer};

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = Params::parse(data) {
        for name in ["grant_type", "client_id", "code", "refresh_token", "token"] {
            let _ = params.optional(name);
            let _ = params.required(name);
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = query_params(&text);
    let _ = snake_case(&text);
    let _ = strip_bearer(&text);
});
