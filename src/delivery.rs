//! Webhook delivery: signing [`WebhookEvent`]s as Wix does and POSTing them to apps, in the background.
//!
//! [`crate::App`] hands over the events the world emitted after every operation ([`Webhooks::enqueue`]).
//! Each delivery is recorded at once and sent by a tokio task: the body is an RS256 JWT signed with the
//! app's key ([`crate::keys`]), `Content-Type: text/plain`, exactly as Wix sends it (docs/fidelity.md F-37).
//! Each attempt has a timeout; a non-2xx answer, a refused connection or a timeout is retried with a
//! doubling backoff (real time: `tokio::time`), up to `webhooks.max_attempts`. Every attempt is
//! recorded for `GET /__admin/webhooks`, with virtual timestamps.
//!
//! Events of one operation (an `AppInstalled` and the scenario's events that follow it) travel in
//! order in one task; separate operations are delivered concurrently, as Wix's "may be delayed" allows.
//!
//! # Fault hooks
//!
//! Faults bend deliveries with plain data on the queue: [`Webhooks::arm_fault`] takes a
//! [`DeliveryFault`] (delay, duplicate, hold) applied to the next matching deliveries, and
//! [`Webhooks::release_held`] sends held ones in order or reversed (a reorder). A `revoke` fault
//! uninstalls with [`crate::App::uninstall`], which emits `AppRemoved` like the admin route.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::WixError;
use crate::ids::{Ids, rfc3339_millis};
use crate::keys::{AppKey, DEFAULT_KEY_BITS, KeyCache, KeySource};
use crate::scenario::{Scenario, WebhooksSpec};
use crate::world::WebhookEvent;

/// Lifetime of a webhook JWT: Wix's documented sample has `exp - iat = 300000` seconds (docs/fidelity.md F-50).
pub const WEBHOOK_JWT_TTL_SECS: i64 = 300_000;

/// How many deliveries the log keeps; beyond it the oldest finished ones are forgotten, so a load
/// test that installs forever keeps a flat memory (as the request journal does).
pub const LOG_CAPACITY: usize = 1000;

/// The longest wait between two attempts, whatever the backoff doubles to.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Queued or between attempts.
    Pending,
    /// Parked by a fault until released.
    Held,
    /// The app answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// The app has no webhook URL; set one and redeliver.
    NoWebhookUrl,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub n: u32,
    /// When it started, on the virtual clock.
    pub at: String,
    /// The app's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (refused, timed out, bad URL).
    pub error: Option<String>,
    /// Real time it took, in milliseconds.
    pub duration_ms: u64,
}

/// One webhook delivery, as `GET /__admin/webhooks` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Sequential id, for `POST /__admin/webhooks/{id}/redeliver`.
    pub id: u64,
    pub event_type: String,
    pub app_id: String,
    pub instance_id: String,
    /// Where it is sent; `None` when the app has no webhook URL.
    pub url: Option<String>,
    pub status: Status,
    /// When the event happened (the JWT's `iat`), on the virtual clock.
    pub created_at: String,
    /// The delivery this one resends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redelivery_of: Option<u64>,
    /// The delivery this one is a fault-made copy of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<u64>,
    /// A fault's wait before the first attempt, in milliseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
    /// The JWT payload's `data`, decoded for people: `{eventType, instanceId, data, identity}`.
    pub event: Value,
    /// The request body: the signed JWT, once signed.
    pub jwt: Option<String>,
    pub attempts: Vec<Attempt>,
    #[serde(skip)]
    source: WebhookEvent,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub use crate::scenario::faults::DeliveryFault;

/// The order [`Webhooks::release_held`] sends held deliveries in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// Oldest first.
    #[default]
    InOrder,
    /// Newest first: deliveries arrive in the reverse of the order their events happened.
    Reversed,
}

/// A delivery on its way: what a task needs to send it.
#[derive(Debug, Clone)]
struct Job {
    id: u64,
    event: WebhookEvent,
    url: Option<String>,
    delay_ms: u64,
}

/// The webhook sender of one mock. Cloning is shallow.
#[derive(Clone)]
pub struct Webhooks {
    shared: Arc<Shared>,
}

struct Shared {
    clock: Clock,
    ids: Ids,
    keys: KeyCache,
    client: Client<HttpConnector, Full<Bytes>>,
    config: RwLock<Config>,
    state: Mutex<State>,
}

struct Config {
    spec: WebhooksSpec,
    key_sources: HashMap<String, KeySource>,
}

#[derive(Default)]
struct State {
    /// Bumped by [`Webhooks::reset`]: tasks of an older generation stop recording and sending.
    generation: u64,
    next_id: u64,
    deliveries: Vec<Delivery>,
    faults: Vec<DeliveryFault>,
    held: Vec<Job>,
}

impl Webhooks {
    /// A sender for `scenario`'s apps, stamping attempts with `clock` and deriving keys from `ids`.
    pub fn new(scenario: &Scenario, clock: Clock, ids: Ids) -> Webhooks {
        let config = Config::from_scenario(scenario, &ids);
        Webhooks {
            shared: Arc::new(Shared {
                clock,
                ids,
                keys: KeyCache::default(),
                // One connection per attempt, closed after it: a pooled keep-alive connection (or
                // the spare one the pool races open) kept a receiver's `server.close()` waiting
                // for as long as the mock ran, hanging the test runs of the apps it serves.
                client: Client::builder(TokioExecutor::new())
                    .pool_max_idle_per_host(0)
                    .build_http(),
                config: RwLock::new(config),
                state: Mutex::new(State {
                    faults: scenario.webhooks.faults.clone(),
                    ..State::default()
                }),
            }),
        }
    }

    /// Forgets every delivery, fault and held job, stops in-flight tasks, and rereads the scenario
    /// (whose `webhooks.faults` are armed again).
    pub fn reset(&self, scenario: &Scenario) {
        *self.shared.config.write() = Config::from_scenario(scenario, &self.shared.ids);
        let mut state = self.shared.state.lock();
        let generation = state.generation + 1;
        // The scenario's delivery faults are armed again, as the HTTP faults are.
        *state = State {
            generation,
            faults: scenario.webhooks.faults.clone(),
            ..State::default()
        };
    }

    /// The key that signs `app_id`'s webhooks, made on first use. `None` for an unknown app.
    pub async fn key(&self, app_id: &str) -> Option<Result<Arc<AppKey>, String>> {
        let source = self.shared.config.read().key_sources.get(app_id).cloned()?;
        Some(self.shared.keys.get(&source).await)
    }

    /// Records and sends events the world emitted; `url_of` gives each app's current webhook URL.
    pub fn enqueue(&self, events: Vec<WebhookEvent>, url_of: impl Fn(&str) -> Option<String>) {
        if events.is_empty() {
            return;
        }
        let jobs: Vec<(WebhookEvent, Option<String>)> = events
            .into_iter()
            .map(|e| {
                let url = url_of(&e.app_id);
                (e, url)
            })
            .collect();
        self.queue(jobs, None);
    }

    /// Sends delivery `id` again as a new delivery, signed at `now` for the app's current URL.
    pub fn redeliver(
        &self,
        id: u64,
        url_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Delivery, WixError> {
        let mut event = {
            let state = self.shared.state.lock();
            state
                .deliveries
                .iter()
                .find(|d| d.id == id)
                .map(|d| d.source.clone())
                .ok_or_else(|| WixError::NotFound {
                    code: "WEBHOOK_NOT_FOUND",
                    message: format!("no webhook delivery `{id}`"),
                })?
        };
        event.at = self.shared.clock.now();
        let url = url_of(&event.app_id);
        let ids = self.queue(vec![(event, url)], Some(id));
        self.get(ids[0]).ok_or(WixError::RouteNotFound)
    }

    /// Arms a fault for the next matching deliveries.
    pub fn arm_fault(&self, fault: DeliveryFault) {
        self.shared.state.lock().faults.push(fault);
    }

    /// Disarms every fault that has not fired yet.
    pub fn clear_faults(&self) {
        self.shared.state.lock().faults.clear();
    }

    /// Sends every held delivery, in one task, in `order`. Returns their ids in the order sent.
    pub fn release_held(&self, order: Release) -> Vec<u64> {
        let (mut jobs, generation) = {
            let mut state = self.shared.state.lock();
            let jobs = std::mem::take(&mut state.held);
            for job in &jobs {
                if let Some(d) = state.deliveries.iter_mut().find(|d| d.id == job.id) {
                    d.status = Status::Pending;
                }
            }
            (jobs, state.generation)
        };
        if order == Release::Reversed {
            jobs.reverse();
        }
        let ids = jobs.iter().map(|j| j.id).collect();
        self.spawn(jobs, generation);
        ids
    }

    /// Every delivery, oldest first.
    pub fn list(&self) -> Vec<Delivery> {
        self.shared.state.lock().deliveries.clone()
    }

    /// One delivery.
    pub fn get(&self, id: u64) -> Option<Delivery> {
        let state = self.shared.state.lock();
        state.deliveries.iter().find(|d| d.id == id).cloned()
    }

    /// Forgets finished deliveries (in-flight ones keep going and stay listed).
    pub fn clear(&self) {
        self.shared
            .state
            .lock()
            .deliveries
            .retain(|d| matches!(d.status, Status::Pending | Status::Held));
    }

    /// Records `events` as deliveries, applies armed faults, and starts a task for what is not held.
    fn queue(
        &self,
        events: Vec<(WebhookEvent, Option<String>)>,
        redelivery_of: Option<u64>,
    ) -> Vec<u64> {
        let mut state = self.shared.state.lock();
        let generation = state.generation;
        let mut run = Vec::new();
        let mut ids = Vec::new();
        for (event, url) in events {
            let fault = take_fault(&mut state.faults, &event.event_type);
            let copies = 1 + fault.as_ref().map_or(0, |f| f.duplicates);
            let mut original = None;
            for copy in 0..copies {
                state.next_id += 1;
                let id = state.next_id;
                let delay_ms = if copy == 0 {
                    fault.as_ref().map_or(0, |f| f.delay_ms)
                } else {
                    0
                };
                let held = fault.as_ref().is_some_and(|f| f.hold) && url.is_some();
                let status = match (&url, held) {
                    (None, _) => Status::NoWebhookUrl,
                    (Some(_), true) => Status::Held,
                    (Some(_), false) => Status::Pending,
                };
                state.deliveries.push(Delivery {
                    id,
                    event_type: event.event_type.clone(),
                    app_id: event.app_id.clone(),
                    instance_id: event.instance_id.clone(),
                    url: url.clone(),
                    status,
                    created_at: rfc3339_millis(event.at),
                    redelivery_of,
                    duplicate_of: original,
                    delay_ms,
                    event: json!({
                        "eventType": event.event_type,
                        "instanceId": event.instance_id,
                        "data": event.data,
                        "identity": event.identity,
                    }),
                    jwt: None,
                    attempts: Vec::new(),
                    source: event.clone(),
                });
                original.get_or_insert(id);
                ids.push(id);
                let job = Job {
                    id,
                    event: event.clone(),
                    url: url.clone(),
                    delay_ms,
                };
                match status {
                    Status::Held => state.held.push(job),
                    Status::Pending => run.push(job),
                    _ => {}
                }
            }
        }
        let excess = state.deliveries.len().saturating_sub(LOG_CAPACITY);
        if excess > 0 {
            let mut dropped = 0;
            state.deliveries.retain(|d| {
                let finished = !matches!(d.status, Status::Pending | Status::Held);
                if finished && dropped < excess {
                    dropped += 1;
                    false
                } else {
                    true
                }
            });
        }
        drop(state);
        self.spawn(run, generation);
        ids
    }

    /// Runs `jobs` in order in one background task. Without a tokio runtime (a plain unit test) they
    /// stay pending.
    fn spawn(&self, jobs: Vec<Job>, generation: u64) {
        if jobs.is_empty() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.clone();
        handle.spawn(async move {
            for job in jobs {
                this.deliver(job, generation).await;
            }
        });
    }

    /// Signs and sends one delivery, retrying as configured.
    async fn deliver(&self, job: Job, generation: u64) {
        if job.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job.delay_ms)).await;
        }
        let Some(url) = job.url.clone() else { return };
        let jwt = match self.sign(&job.event).await {
            Ok(jwt) => jwt,
            Err(e) => {
                self.record(generation, job.id, Some(Status::Failed), |d| {
                    d.attempts.push(Attempt {
                        n: 1,
                        at: rfc3339_millis(d.source.at),
                        status: None,
                        error: Some(format!("cannot sign: {e}")),
                        duration_ms: 0,
                    })
                });
                return;
            }
        };
        self.record(generation, job.id, None, |d| d.jwt = Some(jwt.clone()));
        let (timeout, max_attempts, backoff_ms) = {
            let config = self.shared.config.read();
            (
                Duration::from_millis(config.spec.timeout_ms),
                config.spec.max_attempts.max(1),
                config.spec.backoff_ms,
            )
        };
        for n in 1..=max_attempts {
            if self.shared.state.lock().generation != generation {
                return;
            }
            let at = rfc3339_millis(self.shared.clock.now());
            let started = Instant::now();
            let outcome = self.post(&url, &jwt, timeout).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            let (status, error) = match outcome {
                Ok(code) => (Some(code), None),
                Err(e) => (None, Some(e)),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            let last = n == max_attempts;
            let new_status = if ok {
                Some(Status::Delivered)
            } else if last {
                Some(Status::Failed)
            } else {
                None
            };
            self.record(generation, job.id, new_status, |d| {
                d.attempts.push(Attempt {
                    n,
                    at,
                    status,
                    error,
                    duration_ms,
                })
            });
            if ok || last {
                return;
            }
            let factor = 1u64 << (n - 1).min(20);
            let wait = Duration::from_millis(backoff_ms.saturating_mul(factor)).min(MAX_BACKOFF);
            tokio::time::sleep(wait).await;
        }
    }

    /// The webhook JWT for `event`: `{data, iat, exp, iss: "wix.com", aud: appId}`, header `{kid, alg: RS256}`.
    async fn sign(&self, event: &WebhookEvent) -> Result<String, String> {
        let key = self
            .key(&event.app_id)
            .await
            .ok_or_else(|| format!("app `{}` is not declared", event.app_id))??;
        let iat = event.at.timestamp();
        key.sign(&json!({
            "data": event.envelope(),
            "iat": iat,
            "exp": iat + WEBHOOK_JWT_TTL_SECS,
            // `iss` and `aud` are what `AppStrategy.decodeJWT(token, true)` checks (INFERRED, docs/fidelity.md I-27).
            "iss": "wix.com",
            "aud": event.app_id,
        }))
    }

    /// POSTs `jwt` to `url` as Wix does; the app's status, or why there was none.
    async fn post(&self, url: &str, jwt: &str, timeout: Duration) -> Result<u16, String> {
        let req = hyper::Request::post(url)
            .header(hyper::header::CONTENT_TYPE, "text/plain")
            .body(Full::new(Bytes::from(jwt.to_string())))
            .map_err(|e| format!("invalid webhook URL: {e}"))?;
        let exchange = async {
            let res = self
                .shared
                .client
                .request(req)
                .await
                .map_err(|e| crate::client::describe(&e))?;
            let status = res.status().as_u16();
            // Read the answer to the end so the connection can be reused.
            let _ = res.into_body().collect().await;
            Ok(status)
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
        }
    }

    /// Updates delivery `id` unless a reset happened since its task started.
    fn record(
        &self,
        generation: u64,
        id: u64,
        status: Option<Status>,
        f: impl FnOnce(&mut Delivery),
    ) {
        let mut state = self.shared.state.lock();
        if state.generation != generation {
            return;
        }
        if let Some(d) = state.deliveries.iter_mut().find(|d| d.id == id) {
            f(d);
            if let Some(s) = status {
                d.status = s;
            }
        }
    }
}

impl Config {
    fn from_scenario(scenario: &Scenario, ids: &Ids) -> Config {
        let key_sources = scenario
            .apps
            .iter()
            .map(|a| {
                let source = crate::keys::source_for(
                    &a.id.value,
                    a.webhook_private_key.as_deref(),
                    a.webhook_key_id.as_deref(),
                    DEFAULT_KEY_BITS,
                    ids,
                );
                (a.id.value.clone(), source)
            })
            .collect();
        Config {
            spec: scenario.webhooks.clone(),
            key_sources,
        }
    }
}

/// Takes the first armed fault that matches `event_type`, counting down its `times`.
fn take_fault(faults: &mut Vec<DeliveryFault>, event_type: &str) -> Option<DeliveryFault> {
    let i = faults
        .iter()
        .position(|f| f.event_type.as_deref().is_none_or(|t| t == event_type))?;
    let fault = faults[i].clone();
    if faults[i].times <= 1 {
        faults.remove(i);
    } else {
        faults[i].times -= 1;
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> WebhookEvent {
        WebhookEvent {
            event_type: "Custom".into(),
            app_id: "a".into(),
            instance_id: format!("i{n}"),
            data: json!({}),
            identity: json!({}),
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_log_keeps_the_newest_deliveries_only() {
        // No runtime here, so nothing is sent: deliveries without a URL finish at once.
        let webhooks = Webhooks::new(
            &Scenario::builtin(),
            Clock::frozen_at("2026-01-01T00:00:00Z".parse().unwrap()),
            Ids::new(Some(1)),
        );
        let events = (0..LOG_CAPACITY + 5).map(event).collect();
        webhooks.enqueue(events, |_| None);
        let list = webhooks.list();
        assert_eq!(list.len(), LOG_CAPACITY);
        assert_eq!(list[0].id, 6);
        assert!(list.iter().all(|d| d.status == Status::NoWebhookUrl));
    }

    #[test]
    fn a_fault_applies_to_matching_events_as_many_times_as_armed() {
        let mut faults = vec![
            DeliveryFault {
                event_type: Some("AppRemoved".into()),
                hold: true,
                ..Default::default()
            },
            DeliveryFault {
                duplicates: 1,
                times: 2,
                ..Default::default()
            },
        ];
        assert!(take_fault(&mut faults, "AppInstalled").is_some_and(|f| f.duplicates == 1));
        assert!(take_fault(&mut faults, "AppRemoved").is_some_and(|f| f.hold));
        assert!(take_fault(&mut faults, "AppRemoved").is_some_and(|f| f.duplicates == 1));
        assert!(take_fault(&mut faults, "AppRemoved").is_none());
    }
}
