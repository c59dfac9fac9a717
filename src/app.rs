//! The `App` handle: the shared state of one running mock, and the only place that takes its lock.
//!
//! Cloning an `App` is shallow (an `Arc` increment), as with mini-redis's `Db`. One
//! `parking_lot::RwLock<World>` guards the simulated state: a code exchange must be atomic across
//! several maps, and lookups (token checks, token info, reports) share the read lock. The guards
//! are `!Send`, so none can be held across an `.await` in a handler. The clock is read once per
//! operation and passed in.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::conformance::Conformance;
use crate::delivery::Webhooks;
use crate::error::WixError;
use crate::faults::Faults;
use crate::ids::{Ids, rfc3339_millis};
use crate::journal::Journal;
use crate::scenario::Scenario;
use crate::state_file::StateFile;
use crate::world::identity::{Minted, Subject, TokenInfo};
use crate::world::oauth_apps::{OAuthAppFields, SiteScope};
use crate::world::query::{PagingMetadata, Query};
use crate::world::{OAuthApp, RemovedInstance, World};

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
    /// (256, `namespaces::DEFAULT_LIMIT`, when unset).
    pub max_namespaces: Option<usize>,
    /// Record mode (`wix-oauth-mock record`): requests no endpoint serves go to the upstream.
    pub recorder: Option<Arc<crate::record::Recorder>>,
    /// The journal bytes of the server, shared by every namespace (`journal::Budget::default()`
    /// per app when unset).
    pub journal_budget: Option<Arc<crate::journal::Budget>>,
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
    /// Read by token checks, token info, lookups and the grants that only mint; written by the
    /// operations that change it (codes redeemed, installs, members, ...).
    world: RwLock<World>,
    /// The newest access tokens for `GET /__admin/state`, recorded after the world's lock is
    /// released, so a grant that only mints never takes the write lock.
    issued: parking_lot::Mutex<crate::world::IssuedTokens>,
    clock: Clock,
    ids: Ids,
    journal: Journal,
    faults: Faults,
    conformance: Conformance,
    webhooks: Webhooks,
    /// The stubs of the rest of wixapis.com (issue 15).
    stubs: crate::stubs::Stubs,
    /// How many API answers carried a request id since the last reset.
    answered: std::sync::atomic::AtomicU64,
    /// This app's namespace; `None` for the default one.
    namespace: Option<String>,
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
        App::build(Arc::new(scenario), origin.into(), overrides, None, state)
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
            // Recording belongs to the server's own namespace: one upstream, one folder.
            recorder: _,
            journal_budget,
        } = self.inner.overrides.clone();
        let overrides = Overrides {
            // 53 bits, so the seed `/__admin/state` shows survives a JavaScript client's JSON parser.
            seed: Some(u64::from_le_bytes(seed) >> 11),
            clock_start,
            frozen,
            admin_token,
            max_namespaces: None,
            recorder: None,
            // One budget for the whole server: every namespace counts against the same total.
            journal_budget,
        };
        let loaded = self.inner.scenario.read();
        App::build(
            loaded.scenario.clone(),
            loaded.origin.clone(),
            overrides,
            Some(name.to_string()),
            // A state file belongs to the default namespace alone.
            None,
        )
    }

    fn build(
        scenario: Arc<Scenario>,
        origin: String,
        overrides: Overrides,
        namespace: Option<String>,
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
        let stubs = crate::stubs::Stubs::new(&scenario.stubs);
        match state {
            Some(s) => {
                // A fresh stream, so no code or id of the earlier run comes back.
                ids.fork(s.stream + 1);
                s.apply(&mut world);
            }
            None => webhooks.enqueue(start_events, |app_id| world.webhook_url(app_id)),
        }
        let journal = Journal::with_budget(
            crate::journal::DEFAULT_CAPACITY,
            overrides.journal_budget.clone().unwrap_or_default(),
        );
        App {
            inner: Arc::new(Inner {
                scenario: RwLock::new(Loaded { scenario, origin }),
                overrides,
                world: RwLock::new(world),
                issued: Default::default(),
                clock,
                ids,
                journal,
                faults,
                conformance: Conformance::default(),
                webhooks,
                stubs,
                answered: std::sync::atomic::AtomicU64::new(0),
                namespace,
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

    /// The stubs: add, list and remove at run time (`/__admin/stubs`); requests go through
    /// [`App::match_stub`] and [`App::answer_stub`].
    pub fn stubs(&self) -> &crate::stubs::Stubs {
        &self.inner.stubs
    }

    /// The recorder, in record mode.
    pub fn recorder(&self) -> Option<&crate::record::Recorder> {
        self.inner.overrides.recorder.as_deref()
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

    /// Replaces this namespace's scenario (already validated) and resets it to its initial state.
    /// For the default namespace, `Namespaces::replace_scenario` also remakes the named ones.
    pub fn replace_scenario(&self, scenario: Scenario, origin: impl Into<String>) {
        *self.inner.scenario.write() = Loaded {
            scenario: Arc::new(scenario),
            origin: origin.into(),
        };
        self.reset();
    }

    /// `--max-namespaces`, if given.
    pub fn max_namespaces(&self) -> Option<usize> {
        self.inner.overrides.max_namespaces
    }

    /// The namespace this app serves; `None` for the default one.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.namespace.as_deref()
    }

    /// The path prefix that keeps a browser inside this app's namespace (`/__ns/NAME`), empty for the
    /// default namespace. URLs the mock builds for itself start with it.
    pub fn base_path(&self) -> String {
        match &self.inner.namespace {
            Some(name) => format!("{}{name}", crate::request::NAMESPACE_PREFIX),
            None => String::new(),
        }
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

    /// Runs `f` on the world under the write lock, with the time read once for the whole operation.
    /// Webhook events the operation emitted are handed to delivery before returning, so no path can
    /// forget them. Routes never call this: they call the named operations below, which choose the
    /// lock (tests and benchmarks use it to set up a world).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World, DateTime<Utc>, &Ids) -> R) -> R {
        let now = self.now();
        let mut world = self.inner.world.write();
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
        let mut world = self.inner.world.write();
        self.inner.ids.reseed(seed);
        self.inner.clock.reset();
        *world = World::from_scenario(&scenario, self.inner.clock.now(), &self.inner.ids);
        self.inner.issued.lock().clear();
        self.inner.journal.reset();
        self.inner
            .answered
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.inner.faults.reset(&scenario);
        self.inner.conformance.reset();
        self.inner.stubs.replace(&scenario.stubs);
        self.inner.webhooks.reset(&scenario);
        let start_events = world.take_outbox();
        self.inner
            .webhooks
            .enqueue(start_events, |app_id| world.webhook_url(app_id));
    }

    /// The `x-wix-request-id` for the next API answer (seeded, so a run replays with the same ids).
    pub fn next_request_id(&self) -> crate::ids::RequestId {
        let n = self
            .inner
            .answered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.ids.request_id(n + 1)
    }

    /// Appends a request to the journal, stamped with the virtual time.
    pub fn journal_request(&self, method: &str, path: &str, raw_query: &str, status: u16) {
        self.inner.journal.record(
            crate::journal::Stamp(self.now()),
            method,
            path,
            raw_query,
            status,
        );
    }

    /// The state to save in the state file, taken under the lock.
    pub fn capture_state(&self) -> StateFile {
        let name = self.scenario().name.clone();
        let world = self.inner.world.read();
        StateFile::capture(&world, &name, &self.inner.ids, self.inner.clock.position())
    }

    /// Everything live, for `GET /__admin/state`.
    pub fn state(&self) -> Value {
        let mut state = self.read(|w, now| w.snapshot(now, &self.inner.issued.lock()));
        state["clock"] = json!(self.inner.clock.status());
        state["seed"] = json!(self.inner.ids.seed());
        state["scenario"] = json!(self.scenario().name);
        state
    }
}

/// A legacy `/oauth/access` grant, read from the request after the client authenticated.
#[derive(Debug, Clone, Copy)]
pub enum LegacyGrant<'a> {
    /// `authorization_code`: the installer's code, and the redirect URI if the client sent one.
    Code {
        code: &'a str,
        redirect_uri: Option<&'a str>,
    },
    /// `refresh_token`: Wix answers with the same refresh token.
    Refresh(&'a str),
}

/// The `/oauth/access` 200 body: exactly these two fields, no `expires_in` or `token_type`.
#[derive(Debug, serde::Serialize)]
pub struct AccessResponse {
    /// Signed when the answer is serialised, after the world lock is released.
    pub access_token: crate::jwt::Token,
    pub refresh_token: String,
}

impl crate::jwt::WriteJson for AccessResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::jwt::write_json_str;
        out.extend_from_slice(b"{\"access_token\":");
        self.access_token.write_json(out);
        out.extend_from_slice(b",\"refresh_token\":");
        write_json_str(out, &self.refresh_token);
        out.push(b'}');
    }
}

/// The named operations routes call. Each decides its own lock scope: a read takes the world lock
/// for the lookup alone, a change holds it for exactly the updates that must be atomic (a code is
/// redeemed once, a secret generated once), and what an answer needs is copied out before the
/// response is built.
impl App {
    /// Runs a read-only look at the world, with the time read once.
    fn read<R>(&self, f: impl FnOnce(&World, DateTime<Utc>) -> R) -> R {
        let now = self.now();
        let world = self.inner.world.read();
        f(&world, now)
    }

    /// A grant that only mints (it changes nothing in the world): under the read lock, and its
    /// access token listed for the admin API once the lock is released.
    fn mint(
        &self,
        f: impl FnOnce(&World, DateTime<Utc>, &Ids) -> Result<Minted, WixError>,
    ) -> Result<Minted, WixError> {
        let now = self.now();
        let minted = f(&self.inner.world.read(), now, &self.inner.ids)?;
        self.inner
            .issued
            .lock()
            .record(&minted.access_token, minted.kind, now, minted.expires_in);
        Ok(minted)
    }

    /// A grant that also changes the world (a code redeemed): under the write lock, listed after.
    fn mint_changing(
        &self,
        f: impl FnOnce(&mut World, DateTime<Utc>, &Ids) -> Result<Minted, WixError>,
    ) -> Result<Minted, WixError> {
        let (minted, now) = self.with_world(|w, now, ids| f(w, now, ids).map(|m| (m, now)))?;
        self.inner
            .issued
            .lock()
            .record(&minted.access_token, minted.kind, now, minted.expires_in);
        Ok(minted)
    }

    /// Who an access token speaks for (`MISSING_TOKEN`, `TOKEN_EXPIRED`, ... when it speaks for no
    /// one).
    pub fn authorize(&self, token: Option<&str>) -> Result<crate::world::Caller, WixError> {
        self.read(|w, now| w.authorize(token, now))
    }

    /// Whether a site exists.
    pub fn has_site(&self, site_id: &str) -> bool {
        self.read(|w, _| w.site(site_id).is_some())
    }

    /// Fills the ids a request carries indirectly (through its token, code or refresh token), for
    /// fault and `expect:` matchers.
    pub fn derive_ids(&self, req: &mut crate::request::Incoming) {
        self.read(|w, _| crate::faults::derive_ids(req, w));
    }

    /// The request-side fault effects and the standing checks of earlier faults; an error replaces
    /// the handler.
    pub fn fault_before(
        &self,
        req: &crate::request::Incoming,
        plan: &crate::faults::Plan,
    ) -> Option<WixError> {
        if plan.revokes.is_empty() {
            self.inner.faults.before(None, req, plan, self.now())
        } else {
            self.with_world(|w, now, _| self.inner.faults.before(Some(w), req, plan, now))
        }
    }

    /// The conformance report, with the world's view of what the client left unfinished.
    pub fn conformance_report(&self) -> crate::conformance::Report {
        let scenario = self.scenario();
        self.read(|w, _| self.inner.conformance.report(&scenario, w))
    }

    // ---- Stubs (issue 15) ----

    /// The stub that matches a request no endpoint serves (named in `req.stub`, for `match.stub`
    /// faults), or the nearest misses. Takes the stubs' read lock only.
    pub fn match_stub(&self, req: &mut crate::request::Incoming) -> crate::stubs::Found {
        let found = self.inner.stubs.find(&crate::stubs::Seen::new(req));
        if let crate::stubs::Found::Stub { stub, .. } = &found {
            req.stub = Some(stub.name.clone());
        }
        found
    }

    /// A matched stub's answer: the caller is checked as Wix checks tokens (401 for a token that
    /// speaks for no one, 403 for a wrong kind or a missing scope), the stub's sequence and
    /// scenario state advance, and the answer is rendered in the caller's name. The world is read
    /// once, under its read lock; rendering happens after.
    pub fn answer_stub(
        &self,
        req: &crate::request::Incoming,
        stub: &crate::stubs::Compiled,
        params: &[(String, String)],
    ) -> crate::stubs::Answer {
        use crate::stubs::{Answer, Context, Rendered, Seen};
        let scenario = self.scenario();
        let checked = self.read(|w, now| {
            stub_caller(w, now, &scenario, req, &stub.spec.auth)
                .map(|(who, member)| (who, member, now))
        });
        let (who, member, now) = match checked {
            Ok(x) => x,
            Err((e, why)) => return Answer::Refused(e, why),
        };
        let Some(response) = self.inner.stubs.advance(stub) else {
            return Answer::Refused(WixError::RouteNotFound, crate::stubs::Refusal::Token);
        };
        let n = self.inner.stubs.next_render();
        // Derived from the seed and a count (not drawn from the stream), so stubs never shift the
        // tokens and codes a run issues.
        let random_id = self.inner.ids.request_id(n | 1 << 62).to_string();
        let seen = Seen::new(req);
        let now = rfc3339_millis(now);
        let ctx = Context {
            req: &seen,
            params,
            who: who.as_ref(),
            member: member.as_ref(),
            now: &now,
            random_id: &random_id,
        };
        Answer::Sent(Rendered::new(&response, &ctx))
    }

    // ---- The legacy install flow ----

    /// The App Market click: a single-use install token, on `site_id` or a new site; answers the
    /// App URL to redirect to.
    pub fn app_market_install(
        &self,
        app_id: &str,
        site_id: Option<&str>,
    ) -> Result<String, WixError> {
        self.with_world(|w, now, ids| w.app_market_install(app_id, site_id, now, ids))
    }

    /// `/installer/install`: the consent page, or straight back to the app with a code.
    pub fn start_install(
        &self,
        req: crate::world::InstallRequest,
    ) -> Result<crate::world::InstallStep, WixError> {
        self.with_world(|w, now, ids| w.start_install(req, now, ids))
    }

    /// The consent page's decision; answers where to redirect.
    pub fn decide_consent(&self, consent_id: &str, approve: bool) -> Result<String, WixError> {
        self.with_world(|w, now, ids| w.decide_consent(consent_id, approve, now, ids))
    }

    /// Close-window with an access token: records that the flow was closed. `false` when the token
    /// is not valid (the page shows either way).
    pub fn close_window(&self, token: Option<&str>) -> bool {
        self.with_world(|w, now, _| match w.authorize(token, now) {
            Ok(caller) => {
                w.close_window(&caller, now);
                true
            }
            Err(_) => false,
        })
    }

    /// `/oauth/access`: the client authenticates, then the code is redeemed (once) or the refresh
    /// token checked, and a legacy access token is minted.
    pub fn legacy_access(
        &self,
        client_id: &str,
        client_secret: &str,
        grant: Result<LegacyGrant<'_>, WixError>,
    ) -> Result<AccessResponse, WixError> {
        // A legacy access token for an instance, with the refresh token the answer carries.
        let legacy_token =
            |w: &World, instance_id: &str, refresh_token: String, now: DateTime<Utc>| {
                let ttl = w.ttl().legacy_access_token_secs;
                let access_token = w.mint_access_token(instance_id, ttl, now)?;
                let answer = AccessResponse {
                    access_token,
                    refresh_token,
                };
                Ok::<_, WixError>((answer, now, ttl))
            };
        let (answer, now, ttl) = match grant {
            // A refresh only reads the world; a code is redeemed once, under the write lock.
            Ok(LegacyGrant::Refresh(refresh_token)) => self.read(|w, now| {
                w.authenticate_client(client_id, client_secret)?;
                let instance_id = w.check_refresh(client_id, refresh_token)?;
                // Wix returns the refresh token "identical to the one ... sent".
                legacy_token(w, &instance_id, refresh_token.to_string(), now)
            })?,
            Ok(LegacyGrant::Code { code, redirect_uri }) => self.with_world(|w, now, ids| {
                w.authenticate_client(client_id, client_secret)?;
                let (instance_id, refresh_token) =
                    w.exchange_code(client_id, code, redirect_uri, now, ids)?;
                legacy_token(w, &instance_id, refresh_token, now)
            })?,
            // The client's credentials are checked before what it asked for.
            Err(e) => {
                return Err(self
                    .read(|w, _| w.authenticate_client(client_id, client_secret).err())
                    .unwrap_or(e));
            }
        };
        self.inner
            .issued
            .lock()
            .record(&answer.access_token, "legacy", now, ttl);
        Ok(answer)
    }

    /// `POST /apps/v1/bi-event` for an authorized caller (`APP_FINISHED_CONFIGURATION` finishes setup).
    pub fn record_bi_event(&self, caller: &crate::world::Caller, event: &crate::world::BiEvent) {
        self.with_world(|w, _, _| w.record_bi_event(caller, event));
    }

    /// Get App Instance: the caller (with `scope`), its instance, app and site, copied out.
    pub fn app_instance(
        &self,
        token: Option<&str>,
        scope: &str,
    ) -> Result<
        (
            crate::world::Caller,
            crate::world::Instance,
            crate::world::WixApp,
            crate::world::Site,
        ),
        WixError,
    > {
        self.read(|w, now| {
            let caller = w.authorize(token, now)?;
            caller.require_app_instance()?;
            caller.require_scope(&[scope])?;
            let instance = w.instance(&caller.instance_id).cloned();
            let app = w.app(&caller.app_id).cloned();
            let site = w.site(&caller.site_id).cloned();
            match (instance, app, site) {
                (Some(instance), Some(app), Some(site)) => Ok((caller, instance, app, site)),
                _ => Err(WixError::NotFound {
                    code: "INSTANCE_NOT_FOUND",
                    message: "app instance not found".into(),
                }),
            }
        })
    }

    // ---- /oauth2/token ----

    /// `client_credentials`: an app's token for an instance, or with an OAuth app's credentials and
    /// no instance, a Headless admin token.
    pub fn client_credentials(
        &self,
        id: &str,
        secret: &str,
        instance_id: Option<&str>,
    ) -> Result<Minted, WixError> {
        self.mint(|w, now, ids| match instance_id {
            Some(instance_id) => w.instance_token(id, secret, instance_id, now),
            None if w.is_oauth_app(id) => w.headless_admin_token(id, secret, now, ids),
            None if w.app(id).is_some() => Err(WixError::InvalidRequest(
                "missing required parameter `instance_id`".into(),
            )),
            None => Err(WixError::InvalidClient(format!("unknown client_id `{id}`"))),
        })
    }

    /// `anonymous`: a new visitor's tokens for a Headless client.
    pub fn visitor_tokens(&self, client_id: &str) -> Result<Minted, WixError> {
        self.mint(|w, now, ids| w.visitor_tokens(client_id, now, ids))
    }

    /// `refresh_token`: the client's kind (Headless OAuth app or Wix app) decides which grant it
    /// is; a Wix app's legacy refresh token needs the app's credentials.
    pub fn refresh(
        &self,
        client_id: Option<&str>,
        credentials: Result<(&str, &str), WixError>,
        refresh_token: &str,
    ) -> Result<Minted, WixError> {
        self.mint(|w, now, ids| w.refresh(client_id, credentials, refresh_token, now, ids))
    }

    /// `authorization_code` + PKCE: a member's code from the login page, redeemed once.
    pub fn exchange_member_code(
        &self,
        client_id: &str,
        code: &str,
        verifier: &str,
        redirect_uri: Option<&str>,
    ) -> Result<Minted, WixError> {
        self.mint_changing(|w, now, ids| {
            w.exchange_member_code(client_id, code, verifier, redirect_uri, now, ids)
        })
    }

    /// `strip_bound_session`: an app token without the session binding.
    pub fn strip_bound_session(
        &self,
        access_token: &str,
        client_id: Option<&str>,
        secret: &str,
    ) -> Result<Minted, WixError> {
        self.mint(|w, now, ids| w.strip_bound_session(access_token, client_id, secret, now, ids))
    }

    /// `authorized_client`: a member's tokens for a visitor token plus an API key.
    pub fn authorized_client(
        &self,
        visitor_token: &str,
        api_key: &str,
        member_id: &str,
    ) -> Result<Minted, WixError> {
        self.mint(|w, now, ids| w.authorized_client(visitor_token, api_key, member_id, now, ids))
    }

    /// What a token says (`/oauth2/token-info`).
    pub fn token_info(&self, token: &str) -> TokenInfo {
        self.read(|w, now| w.token_info(token, now))
    }

    /// `POST /__admin/tokens`: tokens for any identity; `ttl_secs` defaults to the scenario's.
    pub fn mint_token(&self, subject: Subject, ttl_secs: Option<u64>) -> Result<Minted, WixError> {
        self.mint(|w, now, ids| {
            let ttl = ttl_secs.unwrap_or(w.ttl().access_token_secs);
            w.mint_for(subject, ttl, now, ids)
        })
    }

    // ---- Headless redirect sessions ----

    /// A login redirect session; answers its id and a session token.
    pub fn create_login_session(
        &self,
        auth_request: &crate::world::member_login::AuthRequest,
    ) -> Result<(String, String), WixError> {
        self.with_world(|w, now, ids| {
            let id = w.create_login_session(auth_request, now, ids)?;
            Ok((id, ids.token("SESSION.", 24)))
        })
    }

    /// A logout redirect session: the member is logged out now (the SDK drops its tokens as soon as
    /// it has the URL); answers the session's id and token.
    pub fn create_logout_session(
        &self,
        caller: &crate::world::Caller,
        client_id: &str,
        post_flow_url: Option<&str>,
    ) -> Result<(String, String), WixError> {
        self.with_world(|w, _, ids| {
            w.logout(Some(caller), client_id, post_flow_url)?;
            Ok((ids.guid(), ids.token("SESSION.", 24)))
        })
    }

    // ---- Headless members with credentials (issue 14) ----

    /// `register`: a new member of the caller's site, in the state the site's policy says.
    pub fn register_member(
        &self,
        token: Option<&str>,
        reg: crate::world::members::Registration,
    ) -> Result<crate::world::members::AuthOutcome, WixError> {
        self.with_world(|w, now, ids| w.register_member(token, reg, now, ids))
    }

    /// `login` with e-mail and password.
    pub fn login_with_password(
        &self,
        token: Option<&str>,
        email: &str,
        password: &str,
        captcha: Option<&str>,
    ) -> Result<crate::world::members::AuthOutcome, WixError> {
        self.with_world(|w, now, ids| {
            w.login_with_password(token, email, password, captcha, now, ids)
        })
    }

    /// `verify`: the e-mailed code for a state token.
    pub fn verify_code(
        &self,
        token: Option<&str>,
        code: &str,
        state_token: &str,
    ) -> Result<crate::world::members::AuthOutcome, WixError> {
        self.with_world(|w, now, ids| w.verify_code(token, code, state_token, now, ids))
    }

    /// `resend`: a new code for a state token.
    pub fn resend_code(&self, token: Option<&str>, state_token: &str) -> Result<(), WixError> {
        self.with_world(|w, now, ids| w.resend_code(token, state_token, now, ids))
    }

    /// `send-email`: a recovery link to the outbox; `link_base` is the mock's origin and base path.
    pub fn send_recovery_email(
        &self,
        token: Option<&str>,
        email: &str,
        redirect_url: Option<&str>,
        link_base: &str,
    ) -> Result<(), WixError> {
        self.with_world(|w, now, ids| {
            w.send_recovery_email(token, email, redirect_url, link_base, now, ids)
        })
    }

    /// `activation-email`: an activation link to the outbox.
    pub fn send_activation_email(
        &self,
        token: Option<&str>,
        member_id: &str,
        redirect_url: Option<&str>,
        link_base: &str,
    ) -> Result<(), WixError> {
        self.with_world(|w, now, ids| {
            w.send_activation_email(token, member_id, redirect_url, link_base, now, ids)
        })
    }

    /// The live recovery link `token` and the e-mail of its member (for the reset page).
    pub fn recovery_link(&self, token: &str) -> Result<String, WixError> {
        self.read(|w, now| {
            let rec = w.recovery_link(token, now)?;
            Ok(w.member(&rec.member_id)
                .map(|m| m.email.clone())
                .unwrap_or_default())
        })
    }

    /// `recover`: a new password through a recovery link; also answers the link's redirect URL.
    pub fn recover_password(
        &self,
        recovery_token: &str,
        password: &str,
    ) -> Result<(crate::world::members::AuthOutcome, Option<String>), WixError> {
        self.with_world(|w, now, ids| w.recover_password(recovery_token, password, now, ids))
    }

    /// `sign-on`: a session token for the member with this e-mail (visitor token + API key).
    pub fn sign_on(
        &self,
        visitor_token: &str,
        api_key: &str,
        email: &str,
        profile: crate::world::members::Registration,
        verify_email: bool,
    ) -> Result<(String, crate::world::identity::Member), WixError> {
        self.with_world(|w, now, ids| {
            w.sign_on(
                visitor_token,
                api_key,
                email,
                profile,
                verify_email,
                now,
                ids,
            )
        })
    }

    /// `authorized_client` with a `session_token` from `sign-on`.
    pub fn authorized_client_with_session(
        &self,
        visitor_token: &str,
        api_key: &str,
        member_id: &str,
        session_token: &str,
    ) -> Result<Minted, WixError> {
        self.mint_changing(|w, now, ids| {
            w.authorized_client_with_session(
                visitor_token,
                api_key,
                member_id,
                session_token,
                now,
                ids,
            )
        })
    }

    /// `change-password` with a member token.
    pub fn change_password(&self, token: Option<&str>, new_password: &str) -> Result<(), WixError> {
        self.with_world(|w, now, ids| w.change_password(token, new_password, now, ids))
    }

    /// `GET .../v1/logout` with a member token.
    pub fn logout_member(
        &self,
        token: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect: Option<&str>,
    ) -> Result<(), WixError> {
        self.with_world(|w, now, _| w.logout_member(token, client_id, post_logout_redirect, now))
    }

    /// `GET /__admin/outbox`: what Wix would have e-mailed, newest first.
    pub fn outbox(&self, email: Option<&str>) -> Vec<crate::world::members::Mail> {
        self.read(|w, _| w.outbox(email))
    }

    /// The login page's step for a redirect session.
    pub fn login_member(
        &self,
        session_id: &str,
        login: crate::world::member_login::Login,
    ) -> Result<crate::world::member_login::LoginStep, WixError> {
        self.with_world(|w, now, ids| w.login_member(session_id, login, now, ids))
    }

    /// `/oauth2/logout`: checks the client and `postFlowUrl`, and ends the caller's session if any.
    pub fn logout(
        &self,
        caller: Option<&crate::world::Caller>,
        client_id: &str,
        post_flow_url: Option<&str>,
    ) -> Result<(), WixError> {
        self.with_world(|w, _, _| w.logout(caller, client_id, post_flow_url))
    }

    // ---- OAuth Apps API ----

    /// Creates an OAuth app on a site; answers it with its secret (shown this once).
    pub fn create_oauth_app(
        &self,
        site_id: &str,
        fields: &OAuthAppFields,
    ) -> Result<(OAuthApp, String), WixError> {
        self.with_world(|w, now, ids| w.create_oauth_app(site_id, fields, now, ids))
    }

    /// An OAuth app the caller's scope can see, copied out.
    pub fn get_oauth_app(&self, scope: SiteScope, id: &str) -> Result<OAuthApp, WixError> {
        self.read(|w, _| w.get_oauth_app(scope, id).cloned())
    }

    /// A page of OAuth apps, copied out so the answer is serialised after the lock.
    pub fn query_oauth_apps(
        &self,
        scope: SiteScope,
        query: &Query,
    ) -> (Vec<OAuthApp>, PagingMetadata) {
        self.read(|w, _| {
            let page = w.query_oauth_apps(scope, query);
            (
                page.items.into_iter().cloned().collect(),
                page.paging_metadata,
            )
        })
    }

    /// Updates the masked fields of an OAuth app.
    pub fn update_oauth_app(
        &self,
        scope: SiteScope,
        id: &str,
        fields: &OAuthAppFields,
        mask: &[&str],
    ) -> Result<OAuthApp, WixError> {
        self.with_world(|w, _, _| w.update_oauth_app(scope, id, fields, mask))
    }

    /// Deletes an OAuth app.
    pub fn delete_oauth_app(&self, scope: SiteScope, id: &str) -> Result<(), WixError> {
        self.with_world(|w, _, _| w.delete_oauth_app(scope, id))
    }

    /// Generates an OAuth app's secret, once.
    pub fn generate_oauth_app_secret(
        &self,
        scope: SiteScope,
        id: &str,
    ) -> Result<String, WixError> {
        self.with_world(|w, _, ids| w.generate_oauth_app_secret(scope, id, ids))
    }

    // ---- Webhooks and instances (admin) ----

    /// Sets (or with `None` clears) where an app's webhooks go.
    pub fn set_webhook_url(&self, app_id: &str, url: Option<String>) -> Result<(), WixError> {
        self.with_world(|w, _, _| w.set_webhook_url(app_id, url))
    }

    /// Sends a delivery's event again, to its app's current webhook URL.
    pub fn redeliver(&self, delivery: u64) -> Result<crate::delivery::Delivery, WixError> {
        let urls: std::collections::HashMap<String, Option<String>> = self.read(|w, _| {
            w.apps()
                .map(|a| (a.id.clone(), a.webhook_url.clone()))
                .collect()
        });
        self.inner
            .webhooks
            .redeliver(delivery, |app_id| urls.get(app_id).cloned().flatten())
    }

    /// Sends any event to an instance's app.
    pub fn emit_event(
        &self,
        instance_id: &str,
        event_type: &str,
        data: Value,
        identity: Option<Value>,
    ) -> Result<(), WixError> {
        self.with_world(|w, now, _| w.emit_event(instance_id, event_type, data, identity, now))
    }

    /// The signed `instance` parameter of an instance as `viewer` sees it, with its payload.
    pub fn signed_instance(
        &self,
        instance_id: &str,
        viewer: crate::world::signed::Viewer,
    ) -> Result<(String, Value), WixError> {
        self.with_world(|w, now, ids| w.signed_instance(instance_id, viewer, now, ids))
    }
}

/// Who calls a stub, checked against its `auth`: `None` for an anonymous stub. An API key (any
/// `Authorization` that is not an `OauthNG.` token and is a scenario key) acts on its own site or
/// the one `wix-site-id` names, as for the OAuth Apps API (docs/fidelity.md I-26).
#[allow(clippy::type_complexity)]
fn stub_caller(
    w: &World,
    now: DateTime<Utc>,
    scenario: &Scenario,
    req: &crate::request::Incoming,
    auth: &crate::scenario::stubs::AuthSpec,
) -> Result<(Option<crate::stubs::Who>, Option<Value>), (WixError, crate::stubs::Refusal)> {
    use crate::scenario::stubs::IdentityKind;
    use crate::stubs::{Refusal, Who};
    use crate::world::identity::Identity;
    if auth.anonymous {
        return Ok((None, None));
    }
    let token = req.access_token();
    let key = token
        .as_deref()
        .filter(|t| !t.starts_with("OauthNG."))
        .and_then(|t| crate::scenario::api_keys::find(&scenario.api_keys, t));
    let (who, app_scopes) = if let Some(key) = key {
        let asked = req.header("wix-site-id");
        let site = match (key.site_id.as_ref(), asked) {
            (Some(own), Some(asked)) if own.value != asked => {
                return Err((
                    WixError::PermissionDenied(format!("the API key cannot act on site {asked}")),
                    Refusal::Identity,
                ));
            }
            (Some(own), _) => own.value.clone(),
            (None, Some(asked)) => asked.to_string(),
            (None, None) => {
                return Err((
                    WixError::BadRequest(
                        "an API key call to a site-level API needs the wix-site-id header".into(),
                    ),
                    Refusal::Identity,
                ));
            }
        };
        let who = Who {
            kind: IdentityKind::ApiKey,
            instance_id: None,
            app_id: None,
            site_id: Some(site),
            user_id: None,
            member_id: None,
            visitor_id: None,
            scopes: key.scopes.clone(),
        };
        (who, None)
    } else {
        let caller = w
            .authorize(token.as_deref(), now)
            .map_err(|e| (e, Refusal::Token))?;
        let (kind, user, member, visitor) = match &caller.identity {
            Identity::App => (IdentityKind::App, None, None, None),
            Identity::User { user_id } => (IdentityKind::User, Some(user_id.clone()), None, None),
            Identity::Visitor { visitor_id } => {
                (IdentityKind::Visitor, None, None, Some(visitor_id.clone()))
            }
            Identity::Member { member_id } => {
                (IdentityKind::Member, None, Some(member_id.clone()), None)
            }
            Identity::HeadlessAdmin => (IdentityKind::OauthApp, None, None, None),
        };
        let app_scopes = w.app(&caller.app_id).map(|a| a.scopes.clone());
        let nonempty = |s: &String| (!s.is_empty()).then(|| s.clone());
        let who = Who {
            kind,
            instance_id: nonempty(&caller.instance_id),
            app_id: nonempty(&caller.app_id),
            site_id: nonempty(&caller.site_id),
            user_id: user,
            member_id: member,
            visitor_id: visitor,
            scopes: caller.scopes.clone(),
        };
        (who, app_scopes)
    };
    // INFERRED (docs/fidelity.md I-41): Wix's answer to a token of another identity kind.
    if !auth.identities.is_empty() && !auth.identities.contains(&who.kind) {
        let allowed: Vec<&str> = auth.identities.iter().map(|k| k.as_str()).collect();
        return Err((
            WixError::PermissionDenied(format!(
                "this API does not accept a token of kind `{}` (it accepts: {})",
                who.kind.as_str(),
                allowed.join(", ")
            )),
            Refusal::Identity,
        ));
    }
    // Visitors and members get their permissions from site roles, not from scopes (INFERRED, I-40).
    let scoped = !matches!(who.kind, IdentityKind::Visitor | IdentityKind::Member);
    if scoped && !auth.scopes.is_empty() {
        let has = |scopes: &[String]| auth.scopes.iter().any(|s| scopes.contains(s));
        if !has(&who.scopes) {
            let why = match &app_scopes {
                Some(app) if !has(app) => Refusal::ScopeNotRequested,
                _ => Refusal::ScopeNotGranted,
            };
            let needed: Vec<&str> = auth.scopes.iter().map(String::as_str).collect();
            return Err((
                WixError::PermissionDenied(format!(
                    "the access token lacks the required permission ({})",
                    needed.join(" or ")
                )),
                why,
            ));
        }
    }
    let member = who.member_id.as_ref().and_then(|id| {
        w.member(id).map(|m| {
            let slug: String = m
                .nickname
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            serde_json::json!({
                "id": m.id,
                "loginEmail": m.email,
                "contactId": m.id,
                "profile": {"nickname": m.nickname, "slug": slug},
            })
        })
    });
    Ok((Some(who), member))
}
