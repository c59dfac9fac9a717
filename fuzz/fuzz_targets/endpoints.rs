//! Every endpoint's request decoding through the real routes (and the fault/journal layer): the first
//! byte picks an endpoint path of the endpoint table (all 8 bits: the table outgrew 5 bits with the
//! member endpoints of issue 14) and the second byte the credentials (low 2 bits), the next line is
//! the Authorization header, the rest the body. Whatever arrives, the answer is never a 5xx and
//! nothing panics.
//!
//! Credentials (issue 18): without a valid token, 7 of the 16 endpoints only ever answered 401, so
//! their bodies were never decoded. Valid app, visitor and member tokens are minted once at start;
//! the low 2 bits of the second byte choose the input's own header line (0) or one of them (1–3), so the
//! fuzzer reaches every endpoint's body handling as well as its token checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warp::Filter as _;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use wix_oauth_mock::world::identity::Subject;
use wix_oauth_mock::{App, Scenario};


struct Target {
    runtime: tokio::runtime::Runtime,
    routes: BoxedFilter<(Response,)>,
    /// Every endpoint of Wix's surface, from the one endpoint table (`src/endpoints.rs`), with the
    /// scenario's OAuth app in the `{id}` of a path.
    endpoints: Vec<(&'static str, String)>,
    /// An app token, a Headless visitor token and a Headless member token, valid for ten years.
    tokens: [String; 3],
}

/// The built-in scenario's demo instance, Headless client and first member.
const INSTANCE_ID: &str = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3";
const CLIENT_ID: &str = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5";
const MEMBER_ID: &str = "e63bf15d-beaa-4319-a09f-41be2512f0c3";
const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;

fn mint(app: &App, subject: Subject) -> String {
    app.with_world(|w, now, ids| w.mint_for(subject, TEN_YEARS, now, ids))
        .expect("the built-in scenario has this identity")
        .access_token
        .as_str()
        .to_string()
}

fuzz_target!(|data: &[u8]| {
    static TARGET: OnceLock<Target> = OnceLock::new();
    let t = TARGET.get_or_init(|| {
        let app = App::new(Scenario::builtin(), "<fuzz>", Default::default());
        let tokens = [
            mint(
                &app,
                Subject::App {
                    instance_id: INSTANCE_ID.into(),
                },
            ),
            mint(
                &app,
                Subject::Visitor {
                    client_id: CLIENT_ID.into(),
                    visitor_id: None,
                },
            ),
            mint(
                &app,
                Subject::Member {
                    client_id: CLIENT_ID.into(),
                    member_id: MEMBER_ID.into(),
                },
            ),
        ];
        Target {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            routes: wix_oauth_mock::routes::routes(wix_oauth_mock::namespaces::Namespaces::new(app))
                .boxed(),
            endpoints: wix_oauth_mock::endpoints::TABLE
                .iter()
                .filter(|e| !e.is_admin())
                .flat_map(|e| e.paths.iter().map(move |p| (e.method.as_str(), p.replace("{id}", CLIENT_ID))))
                .collect(),
            tokens,
        }
    });
    let [pick, creds, rest @ ..] = data else {
        return;
    };
    let (method, path) = &t.endpoints[*pick as usize % t.endpoints.len()];
    let (method, path) = (*method, path.as_str());
    let credentials = creds & 0b11;
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
    match credentials {
        0 => {
            if let Ok(value) = warp::http::HeaderValue::from_bytes(header) {
                req = req.header("authorization", value);
            }
        }
        n => req = req.header("authorization", t.tokens[n as usize - 1].as_str()),
    }
    let res = t.runtime.block_on(req.reply(&t.routes));
    assert!(
        !res.status().is_server_error(),
        "{method} {path}: {} {:?}",
        res.status(),
        res.body()
    );
});
