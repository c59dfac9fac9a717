// A person in a browser: the install flow through the consent page (approve, deny), a member login
// through the login form, and the dashboard moving the clock until a token expires.
//
// Debian's Chromium, driven by playwright-core, against the mock started with scenario.yaml and an
// admin token. The consent and login pages run with JavaScript disabled: they must work without it.
// The app's own pages (App URL, redirect URLs) are answered by route interception, so the browser
// never leaves the mock. Screenshots go to artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const ARTIFACTS = path.join(root, 'artifacts');
const BIN = process.env.WIX_MOCK_BIN ?? path.resolve(root, '../../target/release/wix-oauth-mock');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'browser-test-token';

const APP_ID = '5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10';
const APP_SECRET = 'mock-app-secret-0001';
const APP_URL = 'http://localhost:3000/wix/app';
const REDIRECT = 'http://localhost:3000/wix/oauth/callback';
const INSTANCE_ID = '54f783ac-8c25-4a73-9ebf-a1125f71c5e3';
const REFRESH_TOKEN = 'OAUTH2.REFRESH.demo-site-refresh-token';
const CLIENT_ID = '0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5';
const CLIENT_REDIRECT = 'http://localhost:3000/callback';
const PKCE_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const PKCE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const SECOND_MEMBER_ID = '7d2e4c90-5d6f-4e70-a182-9c0d1e2f3041';

let server;
let base;
let dashboardLine;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = spawn(BIN, ['serve', '--port', '0', '--scenario', path.join(root, 'scenario.yaml'),
    '--admin-token', ADMIN_TOKEN, '--no-watch'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up lines: ${seen.join(' | ')}`)), 20000);
    server.once('exit', (code) => reject(new Error(`the mock exited with ${code}: ${seen.join(' | ')}`)));
    lines.on('line', (line) => {
      seen.push(line);
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) base = m[1];
      if (line.startsWith('dashboard: ')) dashboardLine = line;
      if (base && dashboardLine) { clearTimeout(timer); resolve(); }
    });
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives each launch a fresh temporary profile (--user-data-dir) of its own; the rest
    // keeps Chromium off the network, which is closed here.
    // Local Network Access checks are off: the app pages here are answered by route interception and
    // so have no address space of their own, and Chromium would refuse to let them frame the mock
    // (a real app on localhost framing the mock on 127.0.0.1 is loopback to loopback, allowed).
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-features=LocalNetworkAccessChecks'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

/** A call to the admin API, with the admin token. */
async function admin(method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

/**
 * A context in which `arrived(prefix)` resolves with the first URL the browser asks for that starts
 * with `prefix`. The app (localhost:3000) is not running: the browser's request to it is seen here
 * and then fails, which is all a test of the mock needs. (Playwright's route handlers do not see the
 * targets of redirects, so requests are watched instead of answered.)
 */
async function appContext(options = {}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 }, ...options });
  const waiters = [];
  context.on('request', (request) => {
    for (const w of waiters) if (request.url().startsWith(w.prefix)) w.resolve(request.url());
  });
  // Nothing but the mock and the app's address may be asked for.
  await context.route((url) => !url.href.startsWith(base) && !url.href.startsWith('http://localhost:3000'),
    (route) => route.abort());
  const arrived = (prefix) => new Promise((resolve) => waiters.push({ prefix, resolve }));
  return { context, arrived };
}

/** Navigates to a URL whose redirect ends at the app, which is not running: that error is expected. */
async function gotoApp(page, url) {
  await page.goto(url).catch((e) => {
    if (!/ERR_CONNECTION_REFUSED|ERR_ABORTED|interrupted/.test(e.message)) throw e;
  });
  // Chromium then shows its error page; let that navigation finish before the next one starts.
  await page.waitForURL((u) => u.protocol === 'chrome-error:', { timeout: 5000 }).catch(() => {});
}

/** App Market click → App URL (with ?token=) → the installer, as the app would send the browser. */
async function openConsentPage(page, arrived, state) {
  const appUrl = arrived(APP_URL);
  await gotoApp(page, `${base}/app-market/install?appId=${APP_ID}`);
  const token = new URL(await appUrl).searchParams.get('token');
  const install = new URL(`${base}/installer/install`);
  install.search = new URLSearchParams({ appId: APP_ID, redirectUrl: REDIRECT, state, token }).toString();
  await page.goto(install.toString());
}

test('the install flow completes through the consent page, by keyboard, without JavaScript', async () => {
  // Arrange
  await admin('POST', '/__admin/reset');
  const { context, arrived } = await appContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await openConsentPage(page, arrived, 'state-approve');
  // Assert the page: the app, each permission's label beside its scope id, landmarks.
  await page.getByRole('heading', { level: 1, name: /Add Demo App to a new site\?/ }).waitFor();
  assert.equal(await page.getByRole('main').count(), 1);
  const permissions = page.getByRole('list', { name: /Demo App will be able to/ });
  assert.match(await permissions.innerText(), /Manage products\s+SCOPE\.DC-STORES\.MANAGE-PRODUCTS/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'consent.png'), fullPage: true });
  // Act: Tab reaches "Agree & Add" first; Enter presses it.
  const callback = arrived(REDIRECT);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Agree & Add');
  await page.keyboard.press('Enter');
  const url = new URL(await callback);
  // Assert: back at the app with a code that exchanges for tokens.
  assert.equal(url.searchParams.get('state'), 'state-approve');
  const code = url.searchParams.get('code');
  assert.match(code, /^OAUTH2\.CODE\./);
  const tokens = await (await fetch(`${base}/oauth/access`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', client_id: APP_ID, client_secret: APP_SECRET, code }),
  })).json();
  assert.match(tokens.access_token, /^OauthNG\.JWS\./);
  const state = await admin('GET', '/__admin/state');
  assert.ok(state.instances.some((i) => i.instance_id === url.searchParams.get('instanceId')));
  await context.close();
});

test('Cancel on the consent page sends access_denied back and installs nothing', async () => {
  // Arrange
  await admin('POST', '/__admin/reset');
  const { context, arrived } = await appContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await openConsentPage(page, arrived, 'state-deny');
  // Act
  const callback = arrived(REDIRECT);
  await page.getByRole('button', { name: 'Cancel' }).click();
  const url = new URL(await callback);
  // Assert
  assert.equal(url.searchParams.get('error'), 'access_denied');
  assert.equal(url.searchParams.get('state'), 'state-deny');
  assert.equal(url.searchParams.get('code'), null);
  const state = await admin('GET', '/__admin/state');
  assert.deepEqual(state.instances.map((i) => i.instance_id), [INSTANCE_ID]);
  await context.close();
});

test('a member picked on the login form logs in, after a wrong password is refused', async () => {
  // Arrange: a Headless client opens a member-login redirect session, as @wix/sdk does.
  await admin('POST', '/__admin/reset');
  const visitor = await admin('POST', '/__admin/tokens', { identity: 'visitor', client_id: CLIENT_ID });
  const session = await (await fetch(`${base}/_api/redirects-api/v1/redirect-session`, {
    method: 'POST',
    headers: { authorization: visitor.access_token, 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { authRequest: {
      redirectUri: CLIENT_REDIRECT, clientId: CLIENT_ID, codeChallenge: PKCE_CHALLENGE,
      codeChallengeMethod: 'S256', responseMode: 'query', responseType: 'code', state: 'member-state',
    } } }),
  })).json();
  const { context, arrived } = await appContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(session.redirectSession.fullUrl);
  // Act 1: the first member (preselected) with a wrong password.
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  await page.getByRole('button', { name: 'Log In' }).click();
  // Assert 1: the form again, with the error announced.
  assert.equal(await page.getByRole('alert').innerText(), 'wrong password');
  // Act 2: pick the second member (no password) by its label.
  await page.getByLabel(/Second Member/).check();
  await page.screenshot({ path: path.join(ARTIFACTS, 'member-login.png'), fullPage: true });
  const callback = arrived(CLIENT_REDIRECT);
  await page.getByRole('button', { name: 'Log In' }).click();
  const url = new URL(await callback);
  // Assert 2: the code is the second member's.
  assert.equal(url.searchParams.get('state'), 'member-state');
  const tokens = await (await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId: CLIENT_ID, grantType: 'authorization_code', redirectUri: CLIENT_REDIRECT,
      code: url.searchParams.get('code'), codeVerifier: PKCE_VERIFIER }),
  })).json();
  const info = await (await fetch(`${base}/oauth2/token-info`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: tokens.access_token }),
  })).json();
  assert.equal(info.subjectId, SECOND_MEMBER_ID);
  await context.close();
});

test('the dashboard advances the clock until a token expires, arms a fault and uninstalls', async () => {
  // Arrange: a 5-minute access token from the demo instance's refresh token.
  await admin('POST', '/__admin/reset');
  const refreshed = await (await fetch(`${base}/oauth/access`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', client_id: APP_ID, client_secret: APP_SECRET, refresh_token: REFRESH_TOKEN }),
  })).json();
  const biEvent = () => fetch(`${base}/apps/v1/bi-event`, {
    method: 'POST',
    headers: { authorization: refreshed.access_token, 'content-type': 'application/json' },
    body: JSON.stringify({ eventName: 'APP_FINISHED_CONFIGURATION' }),
  });
  assert.match(dashboardLine, /^dashboard: http:\/\/127\.0\.0\.1:\d+\/__admin\/ui \(add \?token=<admin token> once\)$/);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Act 1: open the dashboard with the token once; it leaves the address bar.
  await page.goto(`${base}/__admin/ui?token=${ADMIN_TOKEN}`);
  await page.waitForSelector('body[data-loaded="true"]');
  assert.equal(new URL(page.url()).search, '');
  const tokenRow = page.locator('#access-body tbody tr').first();
  // Assert 1: the live token, five minutes left on the frozen clock.
  assert.equal(await tokenRow.locator('[data-token-status]').innerText(), '5m 0s');
  assert.equal(await page.locator('#clock-mode').innerText(), 'frozen');
  // Act 2: advance four minutes, then one more.
  await page.getByRole('button', { name: '+1 min' }).click();
  await page.getByLabel('Advance by seconds').fill('180');
  await page.getByRole('button', { name: 'Advance', exact: true }).click();
  await page.locator('#access-body [data-token-status="live"]', { hasText: '1m 0s' }).waitFor();
  await page.getByRole('button', { name: '+1 min' }).click();
  // Assert 2: the dashboard marks it expired, and the API agrees.
  await page.locator('#access-body [data-token-status="expired"]').waitFor();
  const expired = await biEvent();
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).details.applicationError.code, 'TOKEN_EXPIRED');
  await page.locator('#journal-body tbody tr', { hasText: '/apps/v1/bi-event' }).first().waitFor();
  // Act 3: arm a fault from the library; the next request fires it and the journal says so.
  await page.getByLabel('Fault from the scenario library').selectOption('error/unavailable');
  await page.getByRole('button', { name: 'Arm', exact: true }).click();
  await page.locator('#faults-body tbody tr', { hasText: 'once-unavailable' }).waitFor();
  assert.equal((await biEvent()).status, 503);
  await page.locator('#journal-body tbody tr', { hasText: 'once-unavailable' }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1300 } });
  // Act 4: resume and freeze the clock; uninstall the demo instance.
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('#clock-mode', { hasText: 'running' }).waitFor();
  await page.getByRole('button', { name: 'Freeze' }).click();
  await page.locator('#clock-mode', { hasText: 'frozen' }).waitFor();
  await page.getByRole('button', { name: `Uninstall instance ${INSTANCE_ID} of Demo App` }).click();
  await page.locator('#instances-body tr.gone', { hasText: 'uninstalled' }).waitFor();
  await page.locator('#webhooks-body tbody tr', { hasText: 'AppRemoved' }).waitFor();
  // Assert 4
  const state = await admin('GET', '/__admin/state');
  assert.equal(state.instances.length, 0);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  await context.close();
});

test('the dashboard asks for the admin token when it has none', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/__admin/ui`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.waitForSelector('body[data-loaded="true"]');
  assert.equal(await page.locator('#scenario-name').innerText(), 'browser');
  await context.close();
});

test('the dashboard opened under /__ns/NAME shows and drives that namespace only', async () => {
  // Arrange: the namespace is made on first use; the default one keeps its own clock.
  await admin('POST', '/__admin/clock', { freeze: true });
  const outsideBefore = (await admin('GET', '/__admin/state')).clock.unix;
  const insideBefore = (await admin('GET', '/__ns/team-a/__admin/state')).clock.unix;
  const context = await browser.newContext();
  const page = await context.newPage();
  // Act
  await page.goto(`${base}/__ns/team-a/__admin/ui?token=${ADMIN_TOKEN}`);
  await page.waitForSelector('body[data-loaded="true"]');
  await page.getByRole('button', { name: '+1 hour' }).click();
  await page.locator('#status', { hasText: 'Clock advanced by 3600 s' }).waitFor();
  // Assert
  assert.equal(await page.locator('#ns-name').innerText(), 'team-a');
  const inside = (await admin('GET', '/__ns/team-a/__admin/state')).clock;
  const outside = (await admin('GET', '/__admin/state')).clock;
  assert.equal(inside.frozen, true);
  assert.equal(inside.unix - insideBefore, 3600);
  assert.equal(outside.unix, outsideBefore);
  await context.close();
});

test('the dashboard lists stubs with the requests each answered, and near misses', async () => {
  // Arrange: a stub added at run time, one call it answers and one that narrowly misses it.
  await admin('POST', '/__admin/stubs', {
    name: 'browser-ping', request: { method: 'GET', path: '/ping/v1/{id}' },
    auth: { anonymous: true }, response: { body: { pong: '{{request.path.id}}' } },
  });
  assert.equal((await fetch(`${base}/ping/v1/a`)).status, 200);
  assert.equal((await fetch(`${base}/ping/v1/a`, { method: 'POST' })).status, 404);
  const context = await browser.newContext();
  const page = await context.newPage();
  // Act
  await page.goto(`${base}/__admin/ui?token=${ADMIN_TOKEN}`);
  await page.waitForSelector('body[data-loaded="true"]');
  // Assert
  const row = page.locator('#stubs-body tr', { hasText: 'browser-ping' });
  await row.waitFor();
  assert.match(await row.innerText(), /GET \/ping\/v1\/\{id\}[\s\S]*anyone[\s\S]*\b1\b[\s\S]*#\d+ 200/);
  const miss = page.locator('#near-misses-body tr', { hasText: 'POST /ping/v1/a' });
  assert.match(await miss.innerText(), /browser-ping: method is POST, the stub wants GET/);
  await page.locator('#stubs').screenshot({ path: path.join(ARTIFACTS, 'dashboard-stubs.png') });
  await context.close();
});

// ---- Direct login with the real @wix/sdk (issue 14) ----

/** The real @wix/sdk, bundled for the browser by esbuild from this package's devDependencies. */
async function sdkBundle() {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    stdin: {
      contents: "import { OAuthStrategy } from '@wix/sdk'; window.WixSdk = { OAuthStrategy };",
      resolveDir: root,
      loader: 'js',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'error',
  });
  return out.outputFiles[0].text;
}

/**
 * A page of the app at http://localhost:3000 (the origin of the OAuth app's registered redirect URI)
 * running the bundled SDK. The SDK calls https://www.wixapis.com; an init script sends those calls to
 * the page's own origin under /__wixapis/, which the route below forwards to the mock, so no CORS is
 * involved. The mock's pages (the direct-login iframe) load from the mock itself.
 */
async function sdkPage(bundle, origin = 'http://localhost:3000') {
  const context = await browser.newContext();
  await context.route((url) => !url.href.startsWith(base) && !url.href.startsWith(origin),
    (route) => route.abort());
  await context.route(`${origin}/__wixapis/**`, async (route) => {
    const url = new URL(route.request().url());
    // Host is the mock's, so the redirect session's fullUrl (built from Host) points at the mock.
    const headers = { ...route.request().headers(), host: new URL(base).host };
    const response = await route.fetch({ url: `${base}${url.pathname.replace('/__wixapis', '')}${url.search}`, headers });
    await route.fulfill({ response });
  });
  await context.route(`${origin}/app`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><html><head><title>App</title></head><body><h1>Headless app</h1></body></html>',
  }));
  await context.addInitScript(() => {
    const real = window.fetch.bind(window);
    window.fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const local = url.replace(/^https:\/\/www\.wixapis\.com\//, `${location.origin}/__wixapis/`);
      if (local === url) return real(input, init);
      return typeof input === 'string' || input instanceof URL ? real(local, init) : real(new Request(local, input), init);
    };
  });
  const page = await context.newPage();
  if (process.env.DEBUG_SDK_PAGE) {
    context.on('request', (r) => console.error('request', r.method(), r.url().slice(0, 160)));
    context.on('requestfailed', (r) => console.error('failed', r.url().slice(0, 160), r.failure()?.errorText));
    page.on('console', (m) => console.error('console', m.text()));
  }
  await page.goto(`${origin}/app`);
  if (bundle) await page.addScriptTag({ content: bundle });
  return { context, page };
}

test('the real @wix/sdk registers, verifies with the outbox code, logs in and gets member tokens by direct login', async () => {
  // Arrange
  await admin('POST', '/__admin/reset');
  const bundle = await sdkBundle();
  const { context, page } = await sdkPage(bundle);
  const email = 'browser-member@demo-site.example.com';

  // Act 1: register on a site that verifies e-mails.
  const registered = await page.evaluate(async ([clientId, email]) => {
    window.auth = window.WixSdk.OAuthStrategy({ clientId });
    return window.auth.register({ email, password: 'browser-pass-1' });
  }, [CLIENT_ID, email]);
  const outbox = await admin('GET', `/__admin/outbox?email=${encodeURIComponent(email)}`);
  const code = outbox.messages[0].code;
  // Act 2: the code, a login, and direct login (hidden iframe + postMessage + PKCE exchange).
  const result = await page.evaluate(async ([code, email]) => {
    const verified = await window.auth.processVerification({ verificationCode: code });
    const login = await window.auth.login({ email, password: 'browser-pass-1' });
    // The SDK waits two minutes for the iframe's message; fail faster than that.
    const tokens = await Promise.race([
      window.auth.getMemberTokensForDirectLogin(login.data.sessionToken),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no message from the direct-login iframe')), 20000)),
    ]);
    return { verified: verified.loginState, login: login.loginState, tokens };
  }, [code, email]);

  // Assert
  assert.equal(registered.loginState, 'EMAIL_VERIFICATION_REQUIRED');
  assert.equal(result.verified, 'SUCCESS');
  assert.equal(result.login, 'SUCCESS');
  assert.equal(result.tokens.refreshToken.role, 'member');
  const info = await (await fetch(`${base}/oauth2/token-info`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: result.tokens.accessToken.value }),
  })).json();
  const state = await admin('GET', '/__admin/state');
  const member = state.identities.members.find((m) => m.email === email);
  assert.equal(info.subjectType, 'MEMBER');
  assert.equal(info.subjectId, member.id);
  assert.equal(member.email_verified, true);
  await context.close();
});

test('the direct-login page posts to the registered origin only', async () => {
  // Arrange: a session token, and a direct-login session for it, from the test itself.
  await admin('POST', '/__admin/reset');
  const visitor = await admin('POST', '/__admin/tokens', { identity: 'visitor', client_id: CLIENT_ID });
  const call = async (p, body) => (await fetch(base + p, {
    method: 'POST',
    headers: { authorization: visitor.access_token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })).json();
  const login = await call('/_api/iam/authentication/v2/login',
    { loginId: { email: 'member@demo-site.example.com' }, password: 'member-password-0001' });
  const session = await call('/_api/redirects-api/v1/redirect-session', { auth: { authRequest: {
    redirectUri: CLIENT_REDIRECT, clientId: CLIENT_ID, codeChallenge: PKCE_CHALLENGE,
    codeChallengeMethod: 'S256', responseMode: 'web_message', responseType: 'code', state: 'only-mine',
    sessionToken: login.sessionToken,
  }, prompt: 'none' } });
  // Act: a page of another origin opens the authorize page as a popup (frame-ancestors would stop
  // an iframe before its script ran) and listens.
  const { context, page } = await sdkPage('', 'http://localhost:3001');
  const popup = context.waitForEvent('page');
  const listening = page.evaluate(async (src) => {
    const messages = [];
    window.addEventListener('message', (e) => messages.push(e.data));
    window.open(src, 'direct-login');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return messages;
  }, session.redirectSession.fullUrl);
  const opened = await popup;
  await opened.waitForLoadState();
  // Assert: the page ran (the code is in it) and still nothing reached the other origin.
  assert.match(await opened.content(), /"state":"only-mine"/);
  assert.deepEqual(await listening, []);
  await context.close();
});

test('a recovery link from the outbox opens the reset page, which works without JavaScript, once', async () => {
  // Arrange: the e-mail Wix would send, from the outbox.
  await admin('POST', '/__admin/reset');
  const visitor = await admin('POST', '/__admin/tokens', { identity: 'visitor', client_id: CLIENT_ID });
  const sent = await fetch(`${base}/_api/iam/recovery/v1/send-email`, {
    method: 'POST',
    headers: { authorization: visitor.access_token, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'member@demo-site.example.com', redirect: { url: CLIENT_REDIRECT, clientId: CLIENT_ID } }),
  });
  assert.equal(sent.status, 200);
  const { messages } = await admin('GET', '/__admin/outbox?email=member%40demo-site.example.com');
  const { context, arrived } = await appContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // Act: a person opens the link, types a new password and presses Enter.
  await page.goto(messages[0].link);
  await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'reset-password.png'), fullPage: true });
  const callback = arrived(CLIENT_REDIRECT);
  await page.getByLabel('New password').fill('chosen-in-chromium');
  await page.getByLabel('New password').press('Enter');
  // Assert: on to the app; the new password logs in; the link is spent.
  assert.equal(await callback, CLIENT_REDIRECT);
  const login = await (await fetch(`${base}/_api/iam/authentication/v2/login`, {
    method: 'POST',
    headers: { authorization: visitor.access_token, 'content-type': 'application/json' },
    body: JSON.stringify({ loginId: { email: 'member@demo-site.example.com' }, password: 'chosen-in-chromium' }),
  })).json();
  assert.equal(login.state, 'SUCCESS');
  const again = await context.newPage();
  const res = await again.goto(messages[0].link);
  assert.equal(res.status(), 400);
  await context.close();
  // The dashboard lists the e-mail, with a link to the page.
  const dashboard = await browser.newContext();
  const ui = await dashboard.newPage();
  await ui.goto(`${base}/__admin/ui?token=${ADMIN_TOKEN}`);
  const row = ui.locator('#outbox-body tbody tr', { hasText: 'PASSWORD_RECOVERY' });
  await row.waitFor();
  assert.match(await row.innerText(), /member@demo-site\.example\.com/);
  assert.equal(await row.getByRole('link', { name: 'reset page' }).getAttribute('href'), messages[0].link);
  await dashboard.close();
});
