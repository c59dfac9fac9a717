//! Namespaces: independent copies of the mock on one server, so parallel test suites never meet.
//!
//! A request names its namespace with the `X-Wix-Mock-Namespace: NAME` header or the path prefix
//! `/__ns/NAME/...` (for browsers and clients that cannot add headers; the prefix is stripped before
//! routing). Each namespace is a whole [`App`] (world, clock, seed sequence, faults, journal,
//! conformance observer, webhook log) with its own route tree, made on first use from the loaded
//! scenario. Requests without either go to the default app, which owns this registry.
//!
//! The registry is an LRU map bounded by [`DEFAULT_LIMIT`] (or `--max-namespaces`): making one more
//! namespace evicts the least recently used. Evicting is a delete; the next request under that name
//! starts again from the scenario. A request costs one header lookup and, in a namespace, one map
//! lookup under a short lock; the namespace's route tree then runs on a task of its own, because
//! warp's request context cannot nest (the same reason as in `routes/layer.rs`).
//!
//! This module owns naming, the registry and the dispatching filter; it must not know any route.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures_util::{Stream, TryStreamExt};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use parking_lot::Mutex;
use tower_service::Service;
use tracing::Instrument;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method, Request, Uri};
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::App;
use crate::error::{FieldViolation, WixError};

/// The header that names a namespace.
pub const HEADER: &str = "x-wix-mock-namespace";
/// The path prefix that names a namespace: `/__ns/NAME/...`.
pub const PREFIX: &str = "/__ns/";
/// How many namespaces live at once unless configured otherwise (`WIX_MOCK_MAX_NAMESPACES`).
pub const DEFAULT_LIMIT: usize = 256;
/// The longest namespace name.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a namespace name: 1 to 64 of `A-Z a-z 0-9 . _ -`, and not `.` or `..` (which a browser
/// would fold away in a path).
pub fn validate(name: &str) -> Result<(), WixError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(WixError::Validation(vec![FieldViolation::new(
            "namespace",
            "INVALID_FORMAT",
            format!(
                "a namespace name is 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 . _ - (not . or ..); got `{}`",
                name.chars().take(80).collect::<String>()
            ),
        )]))
    }
}

/// The registry of named namespaces. Cloning is shallow.
#[derive(Clone)]
pub struct Namespaces {
    shared: Arc<Shared>,
}

struct Shared {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bumped on every use; an entry's `used` is the tick of its last use (the LRU order).
    tick: u64,
    entries: HashMap<String, Entry>,
    evicted: u64,
}

#[derive(Clone)]
struct Entry {
    app: App,
    routes: BoxedFilter<(Response,)>,
    used: u64,
}

/// One namespace as `GET /__admin/namespaces` lists it.
#[derive(Clone)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its app.
    pub app: App,
}

impl Namespaces {
    /// An empty registry holding at most `limit` namespaces (at least one).
    pub fn new(limit: usize) -> Namespaces {
        Namespaces {
            shared: Arc::new(Shared {
                limit: limit.max(1),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// How many namespaces live at once.
    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// How many namespaces were evicted to make room since start.
    pub fn evicted(&self) -> u64 {
        self.shared.state.lock().evicted
    }

    /// The app of namespace `name` (validated by the caller), made from `parent` on first use.
    pub(crate) fn app(&self, parent: &App, name: &str) -> App {
        self.resolve(parent, name).0
    }

    /// The app and route tree of namespace `name`, made on first use; marks it used.
    fn resolve(&self, parent: &App, name: &str) -> (App, BoxedFilter<(Response,)>) {
        let mut state = self.shared.state.lock();
        state.tick += 1;
        let tick = state.tick;
        if let Some(entry) = state.entries.get_mut(name) {
            entry.used = tick;
            return (entry.app.clone(), entry.routes.clone());
        }
        if state.entries.len() >= self.shared.limit {
            // O(n) over at most `limit` entries, and only when a namespace is made.
            if let Some(oldest) = state
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            {
                if let Some(gone) = state.entries.remove(&oldest) {
                    retire(&gone.app);
                }
                state.evicted += 1;
            }
        }
        // Made under the lock, so two first requests for one name cannot make two apps (a discarded
        // one could already have queued the scenario's webhooks).
        let entry = fresh(parent, name, tick);
        state.entries.insert(name.to_string(), entry.clone());
        (entry.app, entry.routes)
    }

    /// The app of namespace `name` if it lives, without marking it used.
    pub fn get(&self, name: &str) -> Option<App> {
        self.shared
            .state
            .lock()
            .entries
            .get(name)
            .map(|e| e.app.clone())
    }

    /// The live namespaces, most recently used first.
    pub fn list(&self) -> Vec<Listed> {
        let state = self.shared.state.lock();
        let mut entries: Vec<(&String, &Entry)> = state.entries.iter().collect();
        entries.sort_by_key(|(_, e)| std::cmp::Reverse(e.used));
        entries
            .into_iter()
            .map(|(name, e)| Listed {
                name: name.clone(),
                app: e.app.clone(),
            })
            .collect()
    }

    /// Deletes namespace `name`; the next request under that name starts from the scenario again.
    /// `false` if it did not live.
    pub fn remove(&self, name: &str) -> bool {
        let gone = self.shared.state.lock().entries.remove(name);
        match gone {
            Some(entry) => {
                retire(&entry.app);
                true
            }
            None => false,
        }
    }

    /// Deletes every namespace; returns how many there were.
    pub fn clear(&self) -> usize {
        let gone: Vec<Entry> = self
            .shared
            .state
            .lock()
            .entries
            .drain()
            .map(|(_, e)| e)
            .collect();
        for entry in &gone {
            retire(&entry.app);
        }
        gone.len()
    }

    /// Remakes every live namespace from `parent`'s (new) scenario, keeping names and LRU order.
    /// Called when the default app's scenario is replaced (`PUT /__admin/scenario`, the file watcher).
    pub(crate) fn rebuild_all(&self, parent: &App) {
        let mut state = self.shared.state.lock();
        for (name, entry) in state.entries.iter_mut() {
            retire(&entry.app);
            *entry = fresh(parent, name, entry.used);
        }
    }
}

fn fresh(parent: &App, name: &str, used: u64) -> Entry {
    let app = parent.for_namespace(name);
    let routes = crate::routes::tree(app.clone());
    Entry { app, routes, used }
}

/// Stops what a dropped namespace still runs in the background (webhook retries).
fn retire(app: &App) {
    app.webhooks().reset(&app.scenario());
}

/// Which namespace a request names: `None` for the default one, else the name (or why it is not
/// one) and the path with any `/__ns/NAME` prefix removed.
pub fn select(path: &str, header: Option<&str>) -> Option<Result<(String, String), WixError>> {
    let prefixed = path.strip_prefix(PREFIX).map(|rest| match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    });
    let (name, rest) = match (prefixed, header) {
        (None, None) => return None,
        (Some((name, rest)), None) => (name, rest),
        (None, Some(name)) => (name, path),
        (Some((a, rest)), Some(b)) if a == b => (a, rest),
        (Some((a, _)), Some(b)) => {
            return Some(Err(WixError::Validation(vec![FieldViolation::new(
                "namespace",
                "CONFLICT",
                format!(
                    "the path names namespace `{a}` but the {HEADER} header names `{}`",
                    b.chars().take(80).collect::<String>()
                ),
            )])));
        }
    };
    Some(validate(name).map(|()| (name.to_string(), rest.to_string())))
}

/// The request body as a stream, unread: the namespace's own layer applies the size limit.
fn stream_body<S, B>(stream: S) -> BoxBody<Bytes, warp::Error>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Sync + 'static,
    B: Buf,
{
    let frames = stream.map_ok(|mut b| http_body::Frame::data(b.copy_to_bytes(b.remaining())));
    StreamBody::new(frames).boxed()
}

/// The outermost filter of the default app's routes: requests for a namespace are answered by that
/// namespace's route tree; every other request is rejected (cheaply) so the default tree runs.
pub fn dispatch(app: App) -> BoxedFilter<(Response,)> {
    // A header value that is not visible ASCII cannot be a valid name: say so instead of passing it on.
    let header = warp::header::optional::<String>(HEADER)
        .or_else(|_| async { Ok::<_, Rejection>((Some("\u{fffd}".to_string()),)) });
    warp::path::full()
        .and(header)
        .and_then(|path: FullPath, header: Option<String>| async move {
            select(path.as_str(), header.as_deref()).ok_or_else(warp::reject::not_found)
        })
        .and(warp::method())
        .and(crate::routes::raw_query())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream().map(stream_body))
        .then(
            move |selected: Result<(String, String), WixError>,
                  method: Method,
                  query: String,
                  headers: HeaderMap,
                  body: BoxBody<Bytes, warp::Error>| {
                let app = app.clone();
                async move {
                    let (name, path) = match selected {
                        Ok(selected) => selected,
                        Err(e) => return e.into_response(),
                    };
                    let Some(namespaces) = app.namespaces() else {
                        return WixError::RouteNotFound.into_response();
                    };
                    let (_, routes) = namespaces.resolve(&app, &name);
                    let uri = if query.is_empty() {
                        path
                    } else {
                        format!("{path}?{query}")
                    };
                    let mut req = Request::new(body);
                    *req.method_mut() = method;
                    *req.uri_mut() = uri.parse::<Uri>().unwrap_or_else(|_| Uri::from_static("/"));
                    *req.headers_mut() = headers;
                    let mut service = warp::service(routes);
                    // The layer's one log line per request then names the namespace.
                    let span = tracing::info_span!("namespace", name = name.as_str());
                    let call = async move { service.call(req).await }.instrument(span);
                    match tokio::spawn(call).await {
                        Ok(Ok(res)) => res,
                        Ok(Err(never)) => match never {},
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(_) => {
                            WixError::BadRequest("the request was cancelled".into()).into_response()
                        }
                    }
                }
            },
        )
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_words() {
        for ok in ["a", "suite-1", "ci_run.42", &"x".repeat(64)] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü", "%41", &"x".repeat(65)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_prefix_or_the_header_selects_a_namespace() {
        assert!(select("/oauth/access", None).is_none());
        let ok = |p, h| select(p, h).unwrap().unwrap();
        assert_eq!(
            ok("/__ns/a/oauth/access", None),
            ("a".into(), "/oauth/access".into())
        );
        assert_eq!(ok("/__ns/a", None), ("a".into(), "/".into()));
        assert_eq!(
            ok("/oauth/access", Some("b")),
            ("b".into(), "/oauth/access".into())
        );
        assert_eq!(ok("/__ns/a/x", Some("a")), ("a".into(), "/x".into()));
        assert!(select("/__ns/a/x", Some("b")).unwrap().is_err());
        assert!(select("/__ns//x", None).unwrap().is_err());
        assert!(select("/x", Some("")).unwrap().is_err());
        // Only the exact prefix counts.
        assert!(select("/__nsa/x", None).is_none());
    }
}
