//! Benchmark (issue 18): the time of one install against the number of installs already made.
//!
//! The whole legacy install flow runs in-process on a [`World`], as `App` drives it under its lock:
//! the App Market click (`app_market_install`), the installer (`start_install`, automatic consent, a
//! new site each time), the code exchange (`exchange_code`) and the hand-off of the webhook outbox.
//! No HTTP, no JSON: what is measured is the domain's own cost, which must not grow with the number
//! of sites and instances. The virtual clock moves one second per install, so codes expire and are
//! collected as they would be on a long-lived dev server.
//!
//! Run it with `cargo bench --bench install_scaling` (or, quicker to build, without fat LTO:
//! `CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 cargo bench --bench install_scaling`).
//! `INSTALLS_MAX=10000` skips the larger sizes. Prints a Markdown table for `benches/RESULTS.md`; exits
//! non-zero when the median at the largest size is over three times the median at the smallest.

use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, Utc};
use wix_oauth_mock::Scenario;
use wix_oauth_mock::ids::Ids;
use wix_oauth_mock::world::{InstallRequest, InstallStep, World};

const APP: &str = "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10";
const REDIRECT: &str = "http://localhost:3000/wix/oauth/callback";
const SIZES: &[usize] = &[10, 1_000, 10_000, 100_000];
/// Installs timed one by one at each size, after the installs that set the size.
const SAMPLE: usize = 2_000;

fn query(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).expect("a URL");
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .expect("the parameter")
}

/// One whole install on a new site; returns the instance id.
fn install(w: &mut World, ids: &Ids, now: DateTime<Utc>) -> String {
    let app_url = w
        .app_market_install(APP, None, now, ids)
        .expect("App Market");
    let req = InstallRequest {
        app_id: Some(APP.into()),
        redirect_url: Some(REDIRECT.into()),
        state: Some("bench".into()),
        token: Some(query(&app_url, "token")),
        site_id: None,
    };
    let InstallStep::Redirect(callback) = w.start_install(req, now, ids).expect("installer") else {
        panic!("the built-in scenario consents automatically");
    };
    let (instance, _refresh) = w
        .exchange_code(APP, &query(&callback, "code"), None, now, ids)
        .expect("exchange");
    // `App` hands the webhook events to delivery after every operation.
    w.take_outbox();
    instance
}

fn at(times: &[Duration], q: f64) -> Duration {
    times[((times.len() as f64 - 1.0) * q).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let max: usize = std::env::var("INSTALLS_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("a time");
    println!("| installs before | median | p99 | mean | sites | instances | fill time |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut medians = Vec::new();
    for &n in SIZES.iter().filter(|&&n| n <= max) {
        let ids = Ids::new(Some(42));
        let mut now = start;
        let mut w = World::from_scenario(&Scenario::builtin(), now, &ids);
        let fill = Instant::now();
        for _ in 0..n {
            install(&mut w, &ids, now);
            now += Span::seconds(1);
        }
        let fill = fill.elapsed();
        let mut times = Vec::with_capacity(SAMPLE);
        for _ in 0..SAMPLE {
            let t = Instant::now();
            std::hint::black_box(install(&mut w, &ids, now));
            times.push(t.elapsed());
            now += Span::seconds(1);
        }
        let mean = times.iter().sum::<Duration>() / SAMPLE as u32;
        times.sort();
        let median = at(&times, 0.5);
        medians.push(median);
        println!(
            "| {n} | {} | {} | {} | {} | {} | {:.2} s |",
            micros(median),
            micros(at(&times, 0.99)),
            micros(mean),
            w.counts().0,
            w.counts().1,
            fill.as_secs_f64()
        );
    }
    if let (Some(first), Some(last)) = (medians.first(), medians.last())
        && *last > *first * 3
    {
        eprintln!("install time is not flat: {first:?} → {last:?}");
        std::process::exit(1);
    }
}
