// The wix-oauth-mock dashboard: reads and drives the admin API only, polling every 2 seconds.
// Vanilla JavaScript, no build step. Every value is put in the page with textContent (never as
// HTML), so nothing the client sent can run here.
'use strict';

const POLL_MS = 2000;
const TOKEN_KEY = 'wix-oauth-mock.admin-token';
const JOURNAL_ROWS = 100;

// ---- The admin token: `?token=` once, then sessionStorage (this tab only). ----
(function takeTokenFromUrl() {
  const params = new URLSearchParams(location.search);
  if (!params.has('token')) return;
  sessionStorage.setItem(TOKEN_KEY, params.get('token'));
  params.delete('token');
  const rest = params.toString();
  // Out of the address bar and the history, so it is not shared by copying the URL.
  history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
})();

class NeedToken extends Error {}

// Opened as /__ns/NAME/__admin/ui, the dashboard shows (and drives) that namespace: every admin call
// goes through the same prefix, since a browser cannot add the X-Wix-Mock-Namespace header.
const BASE = location.pathname.replace(/\/__admin\/ui\/?$/, '');

async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.status === 401 && path.startsWith('/__admin/')) throw new NeedToken();
  if (!res.ok) throw new Error((data && data.message) || `${method} ${path}: ${res.status}`);
  return data;
}

// ---- DOM helpers ----
const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A table: columns are [heading, row => cell]; `empty` is shown when there are no rows. */
function table(columns, rows, empty, rowClass) {
  if (!rows.length) return el('p', { class: 'empty' }, empty);
  return el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, columns.map(([h]) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', { class: rowClass ? rowClass(r) : null },
      columns.map(([, cell]) => el('td', {}, cell(r))))))));
}

// Sections are only rebuilt when what they show changed, so a focused button keeps its focus.
const shown = new Map();
function render(id, signature, build) {
  const key = JSON.stringify(signature);
  if (shown.get(id) === key) return;
  shown.set(id, key);
  $(id).replaceChildren(build());
}

function short(s, n = 18) {
  if (typeof s !== 'string') return '';
  return s.length > n + 8 ? s.slice(0, n) + '…' + s.slice(-6) : s;
}
function code(s, n) { return el('code', { title: s }, short(s, n)); }

function duration(secs) {
  if (secs <= 0) return 'expired';
  const d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600);
  const m = Math.floor(secs % 3600 / 60), s = secs % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function yesNo(v) { return el('span', { class: v ? 'ok' : 'no' }, v ? 'yes' : 'no'); }

let statusTimer = null;
function say(message, isError) {
  const s = $('status');
  s.textContent = message;
  s.className = 'status ' + (isError ? 'bad' : 'good');
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { s.textContent = ''; s.className = 'status'; }, 6000);
}

// ---- Access tokens seen, so one that expires stays listed as expired (the API drops it). ----
const seenTokens = new Map();
function trackTokens(state) {
  const now = Date.parse(state.clock.now);
  const live = new Set();
  for (const t of state.access_tokens) {
    live.add(t.access_token);
    seenTokens.set(t.access_token, { ...t, expired: false });
  }
  for (const [token, t] of seenTokens) {
    if (live.has(token)) continue;
    // Gone before its expiry means revoked, uninstalled or reset: forget it.
    if (Date.parse(t.expires_at) <= now) seenTokens.set(token, { ...t, expires_in: 0, expired: true });
    else seenTokens.delete(token);
  }
  while (seenTokens.size > 50) seenTokens.delete(seenTokens.keys().next().value);
  return [...seenTokens.values()].sort((a, b) => (a.expired - b.expired) || a.expires_at.localeCompare(b.expires_at));
}

// ---- Rendering each section ----
function renderState(state) {
  $('scenario-name').textContent = state.scenario;
  $('clock-now').textContent = state.clock.now;
  const mode = $('clock-mode');
  mode.textContent = state.clock.frozen ? 'frozen' : 'running';
  mode.className = 'pill ' + (state.clock.frozen ? 'frozen' : 'running');

  const appName = (id) => (state.apps.find((a) => a.id === id) || {}).name || id;
  const siteName = (id) => (state.sites.find((s) => s.id === id) || {}).name || id;

  render('apps-body', state.apps, () => table([
    ['App', (a) => el('span', {}, el('strong', {}, a.name), el('br'), code(a.id, 36))],
    ['Consent', (a) => a.consent],
    ['Scopes', (a) => el('ul', { class: 'plain' }, a.scopes.map((s) => el('li', {}, el('code', {}, s))))],
    ['Webhook URL', (a) => a.webhook_url || '—'],
  ], state.apps, 'No apps in this scenario.'));

  const instances = state.instances.map((i) => ({ ...i, removed: false }))
    .concat((state.removed_instances || []).map((i) => ({ ...i, removed: true })));
  render('instances-body', [instances, state.apps.length, state.sites.length], () => table([
    ['Instance', (i) => code(i.instance_id, 36)],
    ['App', (i) => appName(i.app_id)],
    ['Site', (i) => siteName(i.site_id)],
    ['Installed', (i) => i.installed_at || '—'],
    ['Setup complete', (i) => (i.removed ? '—' : yesNo(i.setup_complete))],
    ['Window closed', (i) => (i.removed ? '—' : i.window_closed_at || 'no')],
    ['', (i) => (i.removed
      ? el('span', { class: 'no' }, 'uninstalled')
      : el('button', {
        type: 'button', class: 'danger small',
        'aria-label': `Uninstall instance ${i.instance_id} of ${appName(i.app_id)}`,
        onclick: () => act(() => api('POST', `/__admin/instances/${encodeURIComponent(i.instance_id)}/uninstall`),
          `Instance ${i.instance_id} uninstalled`),
      }, 'Uninstall'))],
  ], instances, 'No instances yet: install an app through /app-market/install.',
  (i) => (i.removed ? 'gone' : null)));

  render('oauth-apps-body', state.oauth_apps, () => table([
    ['OAuth app', (o) => el('span', {}, el('strong', {}, o.name), el('br'), code(o.id, 36))],
    ['Type', (o) => o.applicationType || '—'],
    ['Allowed redirect URIs', (o) => el('ul', { class: 'plain' }, (o.allowedRedirectUris || []).map((u) => el('li', {}, u)))],
  ], state.oauth_apps, 'No OAuth apps.'));

  const ids = state.identities || {};
  render('members-body', [ids.members, ids.member_login], () => el('div', {},
    el('p', { class: 'muted' }, `Member login: ${ids.member_login || '—'}`),
    table([
      ['Member', (m) => m.nickname],
      ['E-mail', (m) => m.email],
      ['Site', (m) => siteName(m.site_id)],
      ['Status', (m) => m.status || '—'],
      ['Verified', (m) => yesNo(m.email_verified)],
      ['Wrong passwords', (m) => String(m.wrong_passwords ?? 0)],
      ['Joined', (m) => (m.registered ? 'registered' : 'scenario')],
      ['Id', (m) => code(m.id, 36)],
    ], ids.members || [], 'No members.')));

  const tokens = trackTokens(state);
  render('access-body', tokens, () => table([
    ['Token', (t) => code(t.access_token)],
    ['Kind', (t) => t.kind],
    ['App', (t) => appName(t.app_id)],
    ['Instance', (t) => (t.instance_id ? code(t.instance_id, 8) : '—')],
    ['Expires at', (t) => t.expires_at],
    ['Time left', (t) => el('span', { class: t.expired ? 'expired' : 'ok', 'data-token-status': t.expired ? 'expired' : 'live' }, duration(t.expires_in))],
  ], tokens, 'No access tokens issued yet.', (t) => (t.expired ? 'gone' : null)));

  render('codes-body', state.codes, () => table([
    ['Code', (c) => code(c.code)],
    ['App', (c) => appName(c.app_id)],
    ['Instance', (c) => code(c.instance_id, 8)],
    ['Used', (c) => yesNo(c.used)],
    ['Time left', (c) => duration(c.expires_in)],
  ], state.codes, 'No live authorization codes.'));

  render('refresh-body', state.refresh_tokens, () => table([
    ['Refresh token', (r) => code(r.refresh_token, 24)],
    ['App', (r) => appName(r.app_id)],
    ['Instance', (r) => code(r.instance_id, 8)],
    ['Issued', (r) => r.issued_at],
  ], state.refresh_tokens, 'No refresh tokens.'));
}

function effectText(effect) {
  return Object.entries(effect).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
}

function renderFaults(faults) {
  render('faults-body', faults, () => table([
    ['Fault', (f) => el('span', {}, el('strong', {}, f.name), el('br'), el('span', { class: 'muted' }, `from ${f.source}`))],
    ['Matches', (f) => (Object.keys(f.spec.match || {}).length ? JSON.stringify(f.spec.match) : 'any request')],
    ['When', (f) => JSON.stringify(Object.fromEntries(Object.entries(f.spec.when || {}).filter(([, v]) => v !== null)))],
    ['Effects', (f) => (f.spec.effects || []).map(effectText).join('; ')],
    ['Fired / matched', (f) => `${f.fired} / ${f.matched}`],
  ], faults, 'No faults armed.'));
}

let presets = [];
function renderPresets(list) {
  presets = list;
  const select = $('fault-preset');
  const groups = new Map();
  for (const p of list) {
    if (!groups.has(p.group)) groups.set(p.group, el('optgroup', { label: p.group }));
    const label = p.faults.length > 1 ? `${p.id} (all ${p.faults.length} faults)` : p.id;
    groups.get(p.group).append(el('option', { value: p.id }, label));
  }
  select.replaceChildren(...groups.values());
  describePreset();
}
function describePreset() {
  const p = presets.find((x) => x.id === $('fault-preset').value);
  $('fault-about').textContent = p ? p.description : '';
}

function renderJournal(journal) {
  const onlyFaults = $('journal-faults-only').checked;
  const rows = journal.requests.filter((r) => !onlyFaults || (r.faults && r.faults.length))
    .slice(-JOURNAL_ROWS).reverse();
  render('journal-body', [rows, journal.count], () => el('div', {},
    el('p', { class: 'muted' }, `${journal.count} request(s) journaled; newest first, at most ${JOURNAL_ROWS} shown. Secrets are redacted.`),
    table([
      ['#', (r) => r.id],
      ['Time', (r) => el('span', { class: 'nowrap', title: r.time }, r.time.replace('T', ' ').replace('Z', ''))],
      ['Request', (r) => el('code', { class: 'nowrap' }, `${r.method} ${r.path}`)],
      ['Status', (r) => el('span', { class: r.status >= 400 ? 'bad-status' : 'ok' }, r.status)],
      ['Fault fired', (r) => (r.faults && r.faults.length ? el('span', { class: 'fault' }, r.faults.join(', ')) : '—')],
      ['Stub', (r) => r.stub || (r.near_misses && r.near_misses.length ? el('span', { class: 'muted' }, 'near miss') : '—')],
      ['Parameters', (r) => el('code', { class: 'params' }, JSON.stringify({ ...r.query, ...(r.body || {}) }))],
    ], rows, 'No requests yet.', (r) => (r.faults && r.faults.length ? 'faulted' : null))));
}

function renderStubs(stubs, journal) {
  const answered = new Map();
  for (const r of journal.requests) {
    if (r.stub) answered.set(r.stub, [...(answered.get(r.stub) || []), `#${r.id} ${r.status}`]);
  }
  render('stubs-body', [stubs, journal.count], () => el('div', {},
    Object.keys(stubs.states || {}).length
      ? el('p', { class: 'muted' }, 'Scenario states: ' + Object.entries(stubs.states).map(([k, v]) => `${k} = ${v}`).join(', '))
      : '',
    table([
      ['Stub', (s) => el('span', {}, el('strong', {}, s.name), s.source ? el('br') : '', s.source ? el('span', { class: 'muted' }, s.source) : '')],
      ['Request', (s) => el('code', { class: 'nowrap' }, `${s.request.method} ${s.request.path}`)],
      ['Who', (s) => (s.auth && s.auth.anonymous ? 'anyone' : [
        (s.auth && s.auth.identities && s.auth.identities.length ? s.auth.identities.join(', ') : 'any token'),
        ...(s.auth && s.auth.scopes && s.auth.scopes.length ? ['needs ' + s.auth.scopes.join(' or ')] : []),
      ].join('; '))],
      ['Matched', (s) => s.matched],
      ['Requests in the journal', (s) => (answered.get(s.name) || []).slice(-8).join(', ') || '—'],
    ], stubs.stubs, 'No stubs loaded.')));
  const misses = journal.requests.filter((r) => r.near_misses && r.near_misses.length).slice(-JOURNAL_ROWS).reverse();
  render('near-misses-body', [misses, journal.count], () => table([
    ['#', (r) => r.id],
    ['Request', (r) => el('code', { class: 'nowrap' }, `${r.method} ${r.path}`)],
    ['Nearest stubs, and why they missed', (r) => el('span', {}, ...r.near_misses.flatMap((m, i) => [
      i ? el('br') : '', el('strong', {}, m.stub), ': ', m.why.join('; '),
    ]))],
  ], misses, 'No request missed a stub narrowly.'));
}

function renderConformance(report) {
  render('conformance-body', report, () => el('div', {},
    el('p', {}, el('span', { class: 'pill ' + (report.passed ? 'running' : 'frozen') }, report.passed ? 'passed' : 'failed'),
      ` ${report.errors} error(s), ${report.warnings} warning(s)`,
      report.unlisted ? `, ${report.unlisted} more not listed` : ''),
    table([
      ['Severity', (v) => v.severity],
      ['Kind', (v) => v.kind],
      ['What the client did', (v) => v.message],
      ['Requests', (v) => (v.requests || []).map((r) => `#${r.id} ${r.method} ${r.path}`).join(', ')],
    ], report.violations, 'No protocol violations.'),
    report.expectations.length ? table([
      ['Expectation', (x) => x.name],
      ['Count', (x) => x.count],
      ['Range', (x) => `${x.min}${x.max !== undefined ? '..' + x.max : '+'}`],
      ['Met', (x) => yesNo(x.passed)],
    ], report.expectations, '') : ''));
}

function renderWebhooks(hooks) {
  render('webhooks-body', hooks.webhooks, () => table([
    ['#', (d) => d.id],
    ['Event', (d) => d.event_type],
    ['Instance', (d) => code(d.instance_id, 8)],
    ['URL', (d) => d.url || '—'],
    ['Status', (d) => d.status],
    ['Attempts', (d) => (d.attempts || []).length],
    ['Created', (d) => d.created_at],
  ], hooks.webhooks, 'No webhook deliveries.'));
}

function renderOutbox(outbox) {
  // Links point at the mock; one on another origin (a Host header the mock was called with) is
  // shown as text, never as a link.
  const link = (m) => {
    if (!m.link) return '—';
    return m.link.startsWith(`${location.origin}/`) ? el('a', { href: m.link }, 'reset page') : code(m.link, 40);
  };
  render('outbox-body', outbox.messages, () => table([
    ['Kind', (m) => m.kind],
    ['To', (m) => m.to],
    ['Code', (m) => (m.code ? el('code', {}, m.code) : '—')],
    ['Link', link],
    ['Sent', (m) => m.created_at],
  ], outbox.messages, 'No e-mails.'));
}

// ---- Polling ----
let polling = false;
async function refresh() {
  if (polling) return;
  polling = true;
  try {
    const [state, faults, journal, report, hooks, stubs, outbox] = await Promise.all([
      api('GET', '/__admin/state'),
      api('GET', '/__admin/faults'),
      api('GET', '/__admin/requests'),
      api('GET', '/__admin/conformance'),
      api('GET', '/__admin/webhooks'),
      api('GET', '/__admin/stubs'),
      api('GET', '/__admin/outbox'),
    ]);
    if (!presets.length) renderPresets((await api('GET', '/__admin/faults/presets')).presets);
    $('token-form').hidden = true;
    renderState(state);
    renderFaults(faults.faults);
    renderJournal(journal);
    renderStubs(stubs, journal);
    renderConformance(report);
    renderWebhooks(hooks);
    renderOutbox(outbox);
    document.body.dataset.loaded = 'true';
  } catch (e) {
    if (e instanceof NeedToken) {
      $('token-form').hidden = false;
      say('The admin API needs the admin token.', true);
    } else {
      say(`Cannot reach the mock: ${e.message}`, true);
    }
  } finally {
    polling = false;
  }
}

/** Runs an action, says how it went, and refreshes at once. */
async function act(action, done) {
  try {
    await action();
    say(done);
  } catch (e) {
    say(e instanceof NeedToken ? 'The admin API needs the admin token.' : e.message, true);
  }
  await refresh();
}

function advance(secs) {
  return act(() => api('POST', '/__admin/clock', { advance_secs: secs }), `Clock advanced by ${secs} s`);
}

document.addEventListener('DOMContentLoaded', () => {
  const ns = /^\/__ns\/([^/]+)$/.exec(BASE);
  if (ns) {
    $('ns-name').textContent = decodeURIComponent(ns[1]);
    $('ns').hidden = false;
  }
  for (const b of document.querySelectorAll('[data-advance]')) {
    b.addEventListener('click', () => advance(Number(b.dataset.advance)));
  }
  $('advance-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const secs = Math.trunc(Number($('advance-secs').value));
    if (Number.isFinite(secs)) advance(secs);
  });
  $('freeze').addEventListener('click', () => act(() => api('POST', '/__admin/clock', { freeze: true }), 'Clock frozen'));
  $('resume').addEventListener('click', () => act(() => api('POST', '/__admin/clock', { resume: true }), 'Clock running'));
  $('reset').addEventListener('click', () => act(async () => {
    await api('POST', '/__admin/reset');
    seenTokens.clear();
  }, 'Reset to the scenario'));
  $('fault-preset').addEventListener('change', describePreset);
  $('fault-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const p = presets.find((x) => x.id === $('fault-preset').value);
    if (p) act(() => api('POST', '/__admin/faults', p.faults), `Armed ${p.id}`);
  });
  $('disarm').addEventListener('click', () => act(() => api('DELETE', '/__admin/faults'), 'Every fault disarmed'));
  $('journal-faults-only').addEventListener('change', refresh);
  $('journal-clear').addEventListener('click', () => act(() => api('DELETE', '/__admin/requests'), 'Journal cleared'));
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token-input').value);
    $('token-input').value = '';
    refresh();
  });
  refresh();
  setInterval(refresh, POLL_MS);
});
