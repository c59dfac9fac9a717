//! Integration tests over the HTTP surface: one binary, one module per area.

mod helpers;

// The legacy install flow's browser side: App Market, installer, consent, close-window.
mod installer;
// POST /oauth/access: code exchange and refresh.
mod oauth_access;
// POST /apps/v1/bi-event and the shared access-token check.
mod bi_event;
// The OAuth Apps API: CRUD, the query language, masks, one-time secrets, who may call.
mod oauth_apps;
// The admin API: clock, reset, scenario, state, journal.
mod admin;
// Every class of bad input gets a Wix-shaped 4xx and leaves the state unchanged.
mod bad_input;
// POST /oauth2/token: every grant, its errors, expiry on the virtual clock.
mod oauth2_token;
// POST /oauth2/token-info for every kind of token.
mod token_info;
// Headless member login: redirect sessions, the authorize page, PKCE codes, logout.
mod member_login;
// Headless members with their own login form: register, login, verify, recover, sign-on, outbox.
mod members;
// Users and scopes, GET /apps/v1/instance and POST /__admin/tokens.
mod identities;
// Webhooks (AppInstalled, AppRemoved, retries, redelivery, faults), uninstall, the signed instance.
mod webhooks;
// Scenario files: every shipped one loads; `check` reports line and column.
mod scenarios;
// Journal filters and waiting for requests.
mod verification;
// Live reload and the schema command.
mod reload;
// The shipped scenario library, one test per scenario.
mod library;
// The conformance report and its CLI.
mod conformance;
// Fault effects, one test each.
mod faults;
// The real binary on a real socket.
mod binary;
// Operations: readiness, version, the admin token, library mode.
mod ops;
// The dashboard's files, its guard and the fault presets it arms.
mod dashboard;
// Namespaces: isolation under concurrency, the /__ns/ prefix, eviction, reset, delete, bad names.
mod namespaces;
// HTTPS for unmodified clients: a real TLS client trusting only the mock's CA.
mod tls;
// --state-file: save, restore, atomic writes, unusable files.
mod state_file;
// Races over a real socket: one code, one secret, 64 install flows at once.
mod races;
// The bad-input matrix: every endpoint × every class of bad input, table-driven.
mod bad_input_matrix;
// docs/fidelity.md against the code: rows, their tests and fixtures, INFERRED comments.
mod fidelity;
// fixtures/: every documented example and captured SDK request, driven and compared by shape.
mod fixtures;
// The endpoint tables of docs/endpoints.md and docs/admin-api.md against src/endpoints.rs.
mod readme;
// Stubs for the rest of wixapis.com: matchers, auth, templates, near misses, admin API (issue 15).
mod stubs;
// Record and replay with a second mock as the upstream (issue 15).
mod record;
// The command line: environment booleans, exit codes, logs, start-up lines, --version, --help.
mod cli;
// Relative links of the README, docs/ and the other READMEs name files in the repository.
mod docs_links;
// Every runnable shell example of README.md and docs/*.md, run as printed against a fresh mock.
mod doc_examples;
// Issue 18: every URL the mock redirects or posts to passes one check (no script schemes, userinfo, backslashes).
mod redirect_hygiene;
// Issue 18: state files at the edges (clock offsets out of range, endless files).
mod state_file_limits;
// Issue 18: expired sessions, codes and dead grants are collected on the virtual clock.
mod collected_state;
// Issue 18: tokens used after the clock moved back before their iat.
mod clock_moved_back;
// Issue 18: cross-site admin requests, repeated namespace headers, framing, secret spellings.
mod hardening;
// Issue 18: header and body timeouts, the connection limit.
mod connections;
// Issue 17: the admin API's OpenAPI description agrees with the code and the npm client.
mod openapi;
// The container build's context holds every file the crate compiles in (issue 17).
mod dockerignore;
