//! Integration tests over the HTTP surface: one binary, one module per area.

mod helpers;

// The legacy install flow's browser side: App Market, installer, consent, close-window.
mod installer;
// POST /oauth/access: code exchange and refresh.
mod oauth_access;
// POST /apps/v1/bi-event and the shared access-token check.
mod bi_event;
// The admin API: clock, reset, scenario, state, journal.
mod admin;
// Every class of bad input gets a Wix-shaped 4xx and leaves the state unchanged.
mod bad_input;
// Webhooks (AppInstalled, AppRemoved, retries, redelivery, faults), uninstall, the signed instance.
mod webhooks;
// Scenario files: every shipped one loads; `check` reports line and column.
mod scenarios;
// The real binary on a real socket.
mod binary;
