//! Benchmark (issue 15): a scenario with 1 000 stubs loads in under 100 ms, and matching a request
//! among them costs under 50 µs. Criterion-style without the crate: a warm-up, then N timed
//! iterations, reported as median / p95 / max; the process exits non-zero when a budget is missed.
//!
//! Run it with `cargo bench --bench stub_matching`.
//!
//! The stubs are what a team's stub folder looks like, scaled up: 10 API families × 90 endpoints
//! (a literal `POST …/query` with body patterns and a templated `GET …/{id}` with a query regex),
//! plus 100 stubs sharing one path template and told apart by a header regex — the worst case for
//! the index, since all 100 sit in one bucket.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use wix_oauth_mock::request::Incoming;
use wix_oauth_mock::stubs::{Found, Seen};
use wix_oauth_mock::{App, Overrides, Scenario};

const FAMILIES: usize = 10;
const PER_FAMILY: usize = 45;
const SHARED: usize = 100;
const WARMUP: usize = 200;
const RUNS: usize = 2_000;
const MATCH_BUDGET: Duration = Duration::from_micros(50);
const LOAD_BUDGET: Duration = Duration::from_millis(100);

/// The scenario; `run` goes into every pattern, so no load finds another's patterns compiled.
fn scenario_yaml(run: usize) -> (String, usize) {
    let mut out = String::from("name: bench\nstubs:\n");
    let mut n = 0;
    for f in 0..FAMILIES {
        for i in 0..PER_FAMILY {
            let (a, b) = (n + 2 + run * 10_000, n + 1002 + run * 10_000);
            out += &format!(
                r#"  - name: api{f}-query-{i}
    request:
      method: POST
      path: /api{f}/v1/items{i}/query
      body:
        - matchesJsonPath: {{expression: "$.query.paging.limit", matches: "[0-9]+|q{a}q"}}
        - equalToJson: {{query: {{filter: {{kind: k{i}}}}}}}
          ignoreExtraElements: true
    auth: {{scopes: [SCOPE.API{f}.READ]}}
    response: {{body: {{items: [], kind: "{{{{request.body.query.filter.kind}}}}"}}}}
  - name: api{f}-get-{i}
    request:
      method: GET
      path: /api{f}/v1/items{i}/{{itemId}}
      query: {{fields: {{matches: "[A-Z_,]+|r{b}r"}}}}
    response: {{body: {{item: {{id: "{{{{request.path.itemId}}}}"}}}}}}
"#
            );
            n += 2;
        }
    }
    // (`q{a}q` and `r{b}r` make every pattern distinct, so the regex cache cannot flatter the load;
    // a distinct counted repetition such as `{1,N}` would instead measure the regex compiler's
    // unrolling of large N.)
    for i in 0..SHARED {
        out += &format!(
            r#"  - name: shared-{i}
    request:
      method: GET
      path: /shared/v1/things/{{thingId}}
      headers: {{x-tenant: {{matches: "tenant-{i}(?:-{run})?"}}}}
    response: {{body: {{tenant: {i}}}}}
"#
        );
        n += 1;
    }
    (out, n)
}

fn request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Incoming {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
            HeaderValue::from_str(v).expect("a header value"),
        );
    }
    Incoming::new(
        Method::from_bytes(method.as_bytes()).expect("a method"),
        path.to_string(),
        query.to_string(),
        map,
        Bytes::from(body.to_string()),
    )
}

fn summary(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    (pct(50), pct(95), times[times.len() - 1])
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let (yaml, count) = scenario_yaml(0);
    let overrides = Overrides {
        seed: Some(42),
        clock_start: Some("2026-01-01T00:00:00Z".parse().expect("a valid start")),
        frozen: Some(true),
        ..Default::default()
    };
    let mut failed = false;

    // ---- Loading: parse + check + compile (Scenario::parse), then the App's compiled set ----
    let mut loads = Vec::new();
    let mut parses = Vec::new();
    let mut app = None;
    for run in 0..13 {
        let (yaml, _) = scenario_yaml(run + 1);
        let start = Instant::now();
        let scenario = Scenario::parse(&yaml, "<bench>").unwrap_or_else(|e| panic!("{e}"));
        let parsed = start.elapsed();
        let built = App::new(scenario, "<bench>", overrides.clone());
        let took = start.elapsed();
        assert_eq!(built.stubs().len(), count);
        if run >= 3 {
            loads.push(took);
            parses.push(parsed);
        }
        app = Some(built);
    }
    let (parse_median, _, _) = summary(parses);
    // The parts of Scenario::parse: the YAML reader alone, then naming and checking the stubs.
    let (mut yamls, mut checks) = (Vec::new(), Vec::new());
    for run in 0..5 {
        let (yaml, _) = scenario_yaml(100 + run);
        let start = Instant::now();
        let scenario: Scenario = serde_saphyr::from_str(&yaml).expect("valid YAML");
        yamls.push(start.elapsed());
        let mut specs = scenario.stubs;
        let start = Instant::now();
        assert!(wix_oauth_mock::stubs::name_and_check(&mut specs, &[]).is_empty());
        checks.push(start.elapsed());
    }
    let ((yaml_median, _, _), (check_median, _, _)) = (summary(yamls), summary(checks));
    let app = app.expect("an app");
    let (median, p95, max) = summary(loads);
    println!(
        "{count} stubs ({} bytes of YAML), 10 loads after 3 warm-up loads",
        yaml.len()
    );
    println!(
        "  load (parse, check, compile, index)\n    median {:>9.2} ms   p95 {:>9.2} ms   max {:>9.2} ms",
        us(median) / 1000.0,
        us(p95) / 1000.0,
        us(max) / 1000.0
    );
    println!(
        "    of which Scenario::parse (YAML, checks) median {:>9.2} ms",
        us(parse_median) / 1000.0
    );
    println!(
        "    of which the YAML reader alone {:>9.2} ms, naming and checking the stubs {:>9.2} ms",
        us(yaml_median) / 1000.0,
        us(check_median) / 1000.0
    );
    if median > LOAD_BUDGET {
        eprintln!("loading is over {} ms", LOAD_BUDGET.as_millis());
        failed = true;
    }

    // ---- Matching ----
    let cases = [
        (
            "POST literal path, 2 body patterns (JSONPath regex + JSON subset), last family",
            request(
                "POST",
                &format!("/api{}/v1/items{}/query", FAMILIES - 1, PER_FAMILY - 1),
                "",
                &[("content-type", "application/json")],
                &format!(
                    r#"{{"query":{{"filter":{{"kind":"k{}"}},"paging":{{"limit":50}}}}}}"#,
                    PER_FAMILY - 1
                ),
            ),
            true,
        ),
        (
            "GET path template + query regex",
            request(
                "GET",
                "/api5/v1/items30/0b6a7c1e-3d2f-4e5a-8b9c-0d1e2f3a4b5c",
                "fields=URL,CURRENCY",
                &[],
                "",
            ),
            true,
        ),
        (
            "GET among 100 stubs of one template, header regex, the last one matches",
            request(
                "GET",
                "/shared/v1/things/t-1",
                "",
                &[("x-tenant", &format!("tenant-{}", SHARED - 1))],
                "",
            ),
            true,
        ),
        (
            "unmatched (a typo): near-miss report over every stub (not budgeted)",
            request("POST", "/api3/v1/items7/qurey", "", &[], "{}"),
            false,
        ),
    ];
    println!("  matching among {count} stubs, {RUNS} runs after {WARMUP} warm-up runs");
    for (label, req, budgeted) in &cases {
        let mut times = Vec::with_capacity(RUNS);
        for run in 0..WARMUP + RUNS {
            let start = Instant::now();
            let found = app.stubs().find(&Seen::new(req));
            let took = start.elapsed();
            match (&found, budgeted) {
                (Found::Stub { .. }, true) | (Found::Unmatched(_), false) => {}
                _ => panic!("{label}: unexpected outcome"),
            }
            if run >= WARMUP {
                times.push(took);
            }
        }
        let (median, p95, max) = summary(times);
        println!(
            "  {label}\n    median {:>8.2} µs   p95 {:>8.2} µs   max {:>8.2} µs",
            us(median),
            us(p95),
            us(max)
        );
        if *budgeted && median > MATCH_BUDGET {
            eprintln!("{label}: matching is over {} µs", MATCH_BUDGET.as_micros());
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
