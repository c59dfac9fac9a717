//! The `App` handle: the shared state of one running mock, and the only place that takes its lock.
//!
//! Cloning an `App` is shallow (an `Arc` increment), as with mini-redis's `Db`. One
//! `parking_lot::Mutex<World>` guards the simulated state: a code exchange must be atomic across
//! several maps and a mock has no contention worth splitting for. The guard is `!Send`, so it can
//! never be held across an `.await` in a handler. The clock is read once per operation and passed in.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::conformance::Conformance;
use crate::delivery::Webhooks;
use crate::error::WixError;
use crate::faults::Faults;
use crate::ids::{Ids, rfc3339_millis};
use crate::journal::Journal;
use crate::namespaces::{DEFAULT_LIMIT, Namespaces};
use crate::scenario::Scenario;
use crate::state_file::StateFile;
use crate::world::{RemovedInstance, World};

/// Start-up choices that override the scenario (from the command line, or a test).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Seed of the random generator (beats the scenario's).
    pub seed: Option<u64>,
    /// Clock start (beats the scenario's).
    pub clock_start: Option<DateTime<Utc>>,
    /// Whether the clock starts frozen (beats the scenario's).
    pub frozen: Option<bool>,
    /// When set, `/__admin/*` (but health, ready and version) requires this token.
    pub admin_token: Option<String>,
    /// How many namespaces live at once before the least recently used is evicted
    /// ([`crate::namespaces::DEFAULT_LIMIT`] when unset).
    pub max_namespaces: Option<usize>,
}

/// Compares two secrets in constant time (for equal lengths; the length itself is not secret).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Handle to one running mock. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    scenario: RwLock<Loaded>,
    overrides: Overrides,
    world: Mutex<World>,
    clock: Clock,
    ids: Ids,
    journal: Journal,
    faults: Faults,
    conformance: Conformance,
    webhooks: Webhooks,
    /// This app's namespace; `None` for the default one.
    namespace: Option<String>,
    /// The named namespaces; only the default app has them (namespaces do not nest).
    namespaces: Option<Namespaces>,
}

struct Loaded {
    scenario: Arc<Scenario>,
    origin: String,
}

impl App {
    /// A mock serving `scenario` (read from `origin`, a file path or a label like `built-in`).
    pub fn new(scenario: Scenario, origin: impl Into<String>, overrides: Overrides) -> App {
        App::with_state(scenario, origin, overrides, None)
    }

    /// A mock serving `scenario` that starts from a saved state (`--state-file`) instead of the
    /// scenario's initial one. The state's seed beats any other; no start-up webhooks are sent again.
    pub fn from_state(
        scenario: Scenario,
        origin: impl Into<String>,
        overrides: Overrides,
        state: StateFile,
    ) -> App {
        App::with_state(scenario, origin, overrides, Some(state))
    }

    fn with_state(
        scenario: Scenario,
        origin: impl Into<String>,
        overrides: Overrides,
        state: Option<StateFile>,
    ) -> App {
        let namespaces = Namespaces::new(overrides.max_namespaces.unwrap_or(DEFAULT_LIMIT));
        App::build(
            Arc::new(scenario),
            origin.into(),
            overrides,
            None,
            Some(namespaces),
            state,
        )
    }
    /// A fresh app for namespace `name` (already validated): this app's scenario and overrides, but a
    /// seed derived from this app's seed and the name. So a namespace replays the same way every run,
    /// and no two namespaces share codes, tokens or the key that signs access tokens.
    pub(crate) fn for_namespace(&self, name: &str) -> App {
        let derived = self.inner.ids.derived(&format!("namespace/{name}"));
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&derived[..8]);
        // Spelled out with no `..`: a new override must be placed here on purpose, since some belong
        // to the server alone (a state file, say) and must not be copied into every namespace.
        let Overrides {
            seed: _,
            clock_start,
            frozen,
            admin_token,
            max_namespaces: _,
        } = self.inner.overrides.clone();
        let overrides = Overrides {
            // 53 bits, so the seed `/__admin/state` shows survives a JavaScript client's JSON parser.
            seed: Some(u64::from_le_bytes(seed) >> 11),
            clock_start,
            frozen,
            admin_token,
            max_namespaces: None,
        };
        let loaded = self.inner.scenario.read();
        App::build(
            loaded.scenario.clone(),
            loaded.origin.clone(),
            overrides,
            Some(name.to_string()),
            None,
            // A state file belongs to the default namespace alone.
            None,
        )
    }

    fn build(
        scenario: Arc<Scenario>,
        origin: String,
        overrides: Overrides,
        namespace: Option<String>,
        namespaces: Option<Namespaces>,
        state: Option<StateFile>,
    ) -> App {
        let seed = state
            .as_ref()
            .map(|s| s.seed)
            .or(overrides.seed)
            .or(scenario.seed);
        let ids = Ids::new(seed);
        let clock = Clock::new(
            overrides.clock_start.or(scenario.clock.start),
            overrides.frozen.unwrap_or(scenario.clock.frozen),
        );
        if let Some(s) = &state {
            clock.restore(s.clock);
        }
        // Made from the scenario first even when restoring: the signing key is the seed's first draw,
        // so tokens issued before the restart still verify, and the configured parts stay current.
        let mut world = World::from_scenario(&scenario, clock.now(), &ids);
        let faults = Faults::new(&scenario);
        let webhooks = Webhooks::new(&scenario, clock.clone(), ids.clone());
        let start_events = world.take_outbox();
        match state {
            Some(s) => {
                // A fresh stream, so no code or id of the earlier run comes back.
                ids.fork(s.stream + 1);
                s.apply(&mut world);
            }
            None => webhooks.enqueue(start_events, |app_id| world.webhook_url(app_id)),
        }
        App {
            inner: Arc::new(Inner {
                scenario: RwLock::new(Loaded { scenario, origin }),
                overrides,
                world: Mutex::new(world),
                clock,
                ids,
                journal: Journal::new(crate::journal::DEFAULT_CAPACITY),
                faults,
                conformance: Conformance::default(),
                webhooks,
                namespace,
                namespaces,
            }),
        }
    }

    /// The virtual clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The admin token, if the admin API is protected.
    pub fn admin_token(&self) -> Option<String> {
        self.inner.overrides.admin_token.clone()
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// The armed faults.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The conformance observer.
    pub fn conformance(&self) -> &Conformance {
        &self.inner.conformance
    }

    /// Replaces the scenario (already validated) and resets everything to its initial state. On the
    /// default app this reaches every live namespace too: each starts again from the new scenario.
    /// On a namespace's app it changes that namespace only.
    pub fn replace_scenario(&self, scenario: Scenario, origin: impl Into<String>) {
        *self.inner.scenario.write() = Loaded {
            scenario: Arc::new(scenario),
            origin: origin.into(),
        };
        self.reset();
        if let Some(namespaces) = &self.inner.namespaces {
            namespaces.rebuild_all(self);
        }
    }

    /// The namespace this app serves; `None` for the default one.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.namespace.as_deref()
    }

    /// The path prefix that keeps a browser inside this app's namespace (`/__ns/NAME`), empty for the
    /// default namespace. URLs the mock builds for itself start with it.
    pub fn base_path(&self) -> String {
        match &self.inner.namespace {
            Some(name) => format!("{}{name}", crate::namespaces::PREFIX),
            None => String::new(),
        }
    }

    /// The app of namespace `name` (made on first use, marked used), as a request carrying
    /// `X-Wix-Mock-Namespace: name` would reach it. Fails for a bad name, or on a namespace's own app.
    pub fn in_namespace(&self, name: &str) -> Result<App, WixError> {
        crate::namespaces::validate(name)?;
        let registry = self.namespaces().ok_or_else(|| {
            WixError::BadRequest("namespaces do not nest: ask the default app".into())
        })?;
        Ok(registry.app(self, name))
    }

    /// The registry of named namespaces; `None` on a namespace's own app.
    pub fn namespaces(&self) -> Option<&Namespaces> {
        self.inner.namespaces.as_ref()
    }

    /// The seeded generator.
    pub fn ids(&self) -> &Ids {
        &self.inner.ids
    }

    /// The virtual time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The loaded scenario.
    pub fn scenario(&self) -> Arc<Scenario> {
        self.inner.scenario.read().scenario.clone()
    }

    /// Where the loaded scenario came from.
    pub fn scenario_origin(&self) -> String {
        self.inner.scenario.read().origin.clone()
    }

    /// The webhook sender (deliveries, redelivery, fault hooks).
    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// Runs `f` on the world under the lock, with the time read once for the whole operation. Webhook
    /// events the operation emitted are handed to delivery before returning, so no path can forget them.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World, DateTime<Utc>, &Ids) -> R) -> R {
        let now = self.now();
        let mut world = self.inner.world.lock();
        let result = f(&mut world, now, &self.inner.ids);
        let events = world.take_outbox();
        // Recording is quick and keeps deliveries in the order their events happened; the sending
        // happens in background tasks.
        self.inner
            .webhooks
            .enqueue(events, |app_id| world.webhook_url(app_id));
        result
    }

    /// Uninstalls an instance: its tokens stop working and the app gets `AppRemoved`. Also the hook for
    /// a `revoke` fault.
    pub fn uninstall(&self, instance_id: &str) -> Result<RemovedInstance, WixError> {
        self.with_world(|w, now, _| w.uninstall(instance_id, now))
    }

    /// Back to the scenario's initial state: world, clock, seed and journal.
    pub fn reset(&self) {
        let scenario = self.scenario();
        let seed = self
            .inner
            .overrides
            .seed
            .or(scenario.seed)
            .unwrap_or_else(|| self.inner.ids.seed());
        // Hold the world lock across the whole reset so no request sees half of it.
        let mut world = self.inner.world.lock();
        self.inner.ids.reseed(seed);
        self.inner.clock.reset();
        *world = World::from_scenario(&scenario, self.inner.clock.now(), &self.inner.ids);
        self.inner.journal.reset();
        self.inner.faults.reset(&scenario);
        self.inner.conformance.reset();
        self.inner.webhooks.reset(&scenario);
        let start_events = world.take_outbox();
        self.inner
            .webhooks
            .enqueue(start_events, |app_id| world.webhook_url(app_id));
    }

    /// Appends a request to the journal, stamped with the virtual time.
    pub fn journal_request(&self, method: &str, path: &str, raw_query: &str, status: u16) {
        self.inner
            .journal
            .record(rfc3339_millis(self.now()), method, path, raw_query, status);
    }

    /// The state to save in the state file, taken under the lock.
    pub fn capture_state(&self) -> StateFile {
        let name = self.scenario().name.clone();
        let world = self.inner.world.lock();
        StateFile::capture(&world, &name, &self.inner.ids, self.inner.clock.position())
    }

    /// Everything live, for `GET /__admin/state`.
    pub fn state(&self) -> Value {
        let mut state = self.with_world(|w, now, _| w.snapshot(now));
        state["clock"] = json!(self.inner.clock.status());
        state["seed"] = json!(self.inner.ids.seed());
        state["scenario"] = json!(self.scenario().name);
        state
    }
}
