// Shared fixtures and helpers for the SDK compatibility tests. Lives outside test/
// because `node --test test/` runs every .mjs file under a directory named test.
//
// The SDK itself never sees the mock's address: preload.mjs rewrites its fetch
// calls. Only the admin helpers below talk to WIX_MOCK_URL directly.
import { randomUUID } from 'node:crypto';
import { AppStrategy, createClient } from '@wix/sdk';
import { oAuthApps } from '@wix/auth-management';

export const MOCK_URL = process.env.WIX_MOCK_URL?.replace(/\/+$/, '');
if (!MOCK_URL) throw new Error('WIX_MOCK_URL is not set: run the suite through run.sh');
if (!globalThis.fetch[Symbol.for('wix-oauth-mock.fetch-rewrite')]) {
  throw new Error('fetch is not wrapped: run node with --import ./preload.mjs');
}

// These mirror scenario.yaml; keep the two in step.
export const APP_ID = '5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10';
export const APP_SECRET = 'mock-app-secret-0001';
export const SITE_ID = '6354435d-e875-4113-8645-ccc901f07efd';
export const INSTANCE_ID = '54f783ac-8c25-4a73-9ebf-a1125f71c5e3';
export const REDIRECT_URL = 'http://127.0.0.1:9/harness/oauth-callback';
/** The Headless OAuth app declared in scenario.yaml (allows REDIRECT_URL). */
export const HEADLESS_CLIENT_ID = '0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5';
export const HEADLESS_CLIENT_SECRET = 'mock-oauth-app-secret-0001';
/** The site member the authorize page logs in (member_login: auto picks the first). */
export const MEMBER_ID = 'e63bf15d-beaa-4319-a09f-41be2512f0c3';
/** Members with credentials (issue 14). */
export const LOGIN_EMAIL = 'login@harness.example.com';
export const LOGIN_PASSWORD = 'login-pass-0001';
export const BLOCKED_EMAIL = 'blocked@harness.example.com';
export const RESET_EMAIL = 'reset@harness.example.com';
export const RESET_PASSWORD = 'reset-pass-0001';
/** The OAuth app of the site whose new members wait for the owner's approval. */
export const APPROVAL_CLIENT_ID = 'a02c4e6f-8b0d-4f2a-84e6-80c2e4a6c8e0';
/** The OAuth app of the site that e-mails a code on sign-up. */
export const VERIFIED_CLIENT_ID = 'b13d5f70-9c1e-4a3b-95f7-91d3f5b7d9f1';

/** E-mails the mock did not send, newest first; `wait` ms for the first one to arrive. */
export async function outbox(email, wait = 0) {
  const q = new URLSearchParams({ email, ...(wait && { wait: String(wait) }) });
  return (await admin('GET', `outbox?${q}`)).messages;
}

/** An API key of the scenario's site (for the authorized_client grant). */
export const API_KEY = 'mock-api-key-0001';

/** POST /oauth2/token-info straight to the mock, as any backend would. */
export async function tokenInfo(token) {
  const res = await fetch(`${MOCK_URL}/oauth2/token-info`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.status !== 200) throw new Error(`token-info answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Prefix of every Wix app access token (header {"kid","alg":"HS256"} after it). */
export const APP_TOKEN_PREFIX = 'OauthNG.JWS.';

// ---------------------------------------------------------------------------
// Admin API

async function admin(method, path, body) {
  const res = await fetch(`${MOCK_URL}/__admin/${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /__admin/${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** Puts the mock back to the scenario's initial state. Call it in each file's before(). */
export const resetMock = () => admin('POST', 'reset');

/** The mock's whole world as JSON. */
export const adminState = () => admin('GET', 'state');

/** The request journal, as an array of {method, path, ...} entries. */
export async function journal() {
  const body = await admin('GET', 'requests');
  const entries = Array.isArray(body) ? body : body?.entries ?? body?.requests;
  if (!Array.isArray(entries)) throw new Error(`unexpected /__admin/requests body: ${JSON.stringify(body).slice(0, 300)}`);
  return entries;
}

/** How many journal entries are `method path` (query string ignored). */
export async function countRequests(method, path) {
  const entries = await journal();
  return entries.filter((e) => String(e.method).toUpperCase() === method && pathOf(e) === path).length;
}

function pathOf(entry) {
  const raw = String(entry.path ?? entry.uri ?? entry.url ?? '');
  return new URL(raw, 'http://journal.invalid').pathname;
}

/**
 * The state object that describes `instanceId`: the first object anywhere in
 * `state` that names the instance (instance_id / instanceId / id), preferring
 * one that carries `setup_complete`.
 */
export function findInstance(state, instanceId) {
  const hits = [];
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    if ([node.instance_id, node.instanceId, node.id].includes(instanceId)) hits.push(node);
    Object.values(node).forEach(walk);
  };
  walk(state);
  return hits.find((h) => 'setup_complete' in h) ?? hits[0];
}

// ---------------------------------------------------------------------------
// SDK fixtures

/** AppStrategy for the scenario's installed instance (client credentials). */
export const instanceAuth = (instanceId = INSTANCE_ID) =>
  AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, instanceId });

/** A fresh app access token for the scenario's instance. */
export async function appAccessToken() {
  const { headers } = await instanceAuth().getAuthHeaders();
  return headers.Authorization;
}

/** A client acting as the app on the scenario's instance, with the OAuth apps module (one per file; its token is cached). */
let sharedOAuthAppsClient;
export const oAuthAppsClient = () =>
  (sharedOAuthAppsClient ??= createClient({ auth: instanceAuth(), modules: { oAuthApps } }));

/** Creates an OAuth app (headless client) on the scenario's site; returns it with its one-time secret. */
export async function createOAuthApp(fields = {}) {
  return oAuthAppsClient().oAuthApps.createOAuthApp({
    name: `sdk-js ${randomUUID().slice(0, 8)}`,
    description: 'created by the sdk-js suite',
    allowedRedirectUris: [REDIRECT_URL],
    applicationType: 'WEB_APP',
    ...fields,
  });
}

// ---------------------------------------------------------------------------
// Browser stand-in

/**
 * Walks a browser flow (install page, authorize page) without following the final
 * redirect: fetches `startUrl` with redirect:'manual', follows 3xx Locations,
 * submits the first <form> of any HTML page (e.g. a consent page) with its
 * default values, keeps cookies, and returns the first URL on `redirectUri`
 * (same origin and path) with its query. Throws with the trail if it gets stuck.
 */
export async function followToRedirectUri(startUrl, redirectUri, { maxHops = 10 } = {}) {
  const target = new URL(redirectUri);
  const cookies = new Map();
  const trail = [];
  let url = new URL(startUrl);
  let init = {};
  for (let hop = 0; hop < maxHops; hop++) {
    if (url.origin === target.origin && url.pathname === target.pathname) return url.toString();
    trail.push(`${init.method ?? 'GET'} ${url}`);
    const headers = { ...init.headers };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      init = {};
      continue;
    }
    const body = await res.text();
    const form = res.ok ? firstForm(body) : null;
    if (!form) {
      throw new Error(`browser flow stopped at ${res.status} ${url}: ${body.slice(0, 300)}\ntrail: ${trail.join(' -> ')}`);
    }
    url = new URL(form.action || url.toString(), url);
    const data = new URLSearchParams(form.fields);
    if (form.method === 'GET') {
      url.search = data.toString();
      init = {};
    } else {
      init = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: data.toString(),
      };
    }
  }
  throw new Error(`no redirect to ${redirectUri} after ${maxHops} hops: ${trail.join(' -> ')}`);
}

/** The first <form> in `html`: action, method and its named fields (first named submit included). */
function firstForm(html) {
  const m = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!m) return null;
  const attrs = attributes(m[1]);
  const fields = [];
  let submitted = false;
  for (const tag of m[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
    const a = attributes(tag[2]);
    if (!a.name) continue;
    const type = (a.type ?? (tag[1].toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
    if (type === 'submit' || type === 'image') {
      if (submitted) continue;
      submitted = true;
    }
    if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
    fields.push([a.name, a.value ?? (type === 'checkbox' ? 'on' : '')]);
  }
  return { action: attrs.action, method: (attrs.method ?? 'GET').toUpperCase(), fields };
}

function attributes(src) {
  const out = {};
  for (const [, name, dq, sq, bare] of src.matchAll(/([^\s=\/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[name.toLowerCase()] = decodeEntities(dq ?? sq ?? bare ?? '');
  }
  return out;
}

function decodeEntities(s) {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return named[e.toLowerCase()] ?? all;
  });
}
