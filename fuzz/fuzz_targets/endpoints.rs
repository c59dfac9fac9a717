//! Every endpoint's request decoding through the real routes (and the fault/journal layer): the first
//! byte picks an endpoint, the next line is the Authorization header, the rest the body. Whatever
//! arrives, the answer is never a 5xx and nothing panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warp::Filter as _;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use wix_oauth_mock::{App, Scenario};

const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/oauth/access"),
    ("POST", "/oauth2/token"),
    ("POST", "/oauth2/token-info"),
    ("POST", "/apps/v1/bi-event"),
    ("GET", "/apps/v1/instance"),
    ("POST", "/redirect-session/v1/redirect-session"),
    ("POST", "/oauth2/authorize"),
    ("POST", "/installer/consent"),
    ("POST", "/oauth-app/v1/oauth-apps"),
    ("POST", "/oauth-app/v1/oauth-apps/query"),
    (
        "PATCH",
        "/oauth-app/v1/oauth-apps/0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5",
    ),
    (
        "POST",
        "/oauth-app/v1/oauth-apps/0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5/generate-secret",
    ),
    ("GET", "/installer/install"),
    ("GET", "/app-market/install"),
    ("GET", "/oauth2/authorize"),
    ("GET", "/oauth2/logout"),
];

struct Target {
    runtime: tokio::runtime::Runtime,
    routes: BoxedFilter<(Response,)>,
}

fuzz_target!(|data: &[u8]| {
    static TARGET: OnceLock<Target> = OnceLock::new();
    let t = TARGET.get_or_init(|| {
        let app = App::new(Scenario::builtin(), "<fuzz>", Default::default());
        Target {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            routes: wix_oauth_mock::routes::routes(wix_oauth_mock::namespaces::Namespaces::new(app)).boxed(),
        }
    });
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (method, path) = ENDPOINTS[pick as usize % ENDPOINTS.len()];
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let mut req = warp::test::request().method(method);
    // GET endpoints take the body as their query string, when it makes a valid URI.
    let uri = if method == "GET" {
        format!("{path}?{}", String::from_utf8_lossy(body))
    } else {
        path.to_string()
    };
    if uri.parse::<warp::http::Uri>().is_err() {
        return;
    }
    req = req.path(&uri).body(body.to_vec());
    if let Ok(value) = warp::http::HeaderValue::from_bytes(header) {
        req = req.header("authorization", value);
    }
    let res = t.runtime.block_on(req.reply(&t.routes));
    assert!(
        !res.status().is_server_error(),
        "{method} {path}: {} {:?}",
        res.status(),
        res.body()
    );
});
