// wix-oauth-mock from `node:test`: one mock per file, Wix's hosts sent to it, a clean conformance
// report at the end. Run: WIX_OAUTH_MOCK_BIN=/path/to/wix-oauth-mock node --test
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { ConformanceError, WixMockError, startWixMock } from 'wix-oauth-mock';

// The demo app and its installed instance in the built-in scenario (scenarios/default.yaml).
const APP_ID = '5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10';
const APP_SECRET = 'mock-app-secret-0001';
const INSTANCE_ID = '54f783ac-8c25-4a73-9ebf-a1125f71c5e3';

let mock;

before(async () => {
  mock = await startWixMock();
  // `register` reads WIX_MOCK_URL when it is imported, so import it once the mock is up.
  process.env.WIX_MOCK_URL = mock.url;
  await import('wix-oauth-mock/register');
});

afterEach(() => mock.admin.reset());

after(() => mock?.stop());

/** What an app does: an access token for its instance, from Wix's real URL. */
async function appToken() {
  const res = await fetch('https://www.wixapis.com/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: APP_ID,
      client_secret: APP_SECRET,
      instance_id: INSTANCE_ID,
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).access_token;
}

test('fetch to www.wixapis.com reaches the mock, which journals it', async () => {
  const token = await appToken();
  const seen = await mock.admin.waitForRequests({ path: '/oauth2/token', timeout_ms: 2000 });
  assert.match(token, /^OauthNG\.JWS\./);
  assert.equal(seen.matched, true);
  await mock.admin.assertClean();
});

test('a token expires on the virtual clock, not the wall clock', async () => {
  await mock.admin.freezeClock();
  const { access_token: token } = await mock.admin.mintToken({
    identity: 'app',
    instance_id: INSTANCE_ID,
    ttl_secs: 60,
  });
  const active = async () => {
    const res = await fetch('https://www.wixapis.com/oauth2/token-info', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    return (await res.json()).active;
  };
  const fresh = await active();
  await mock.admin.advanceClock(61);
  const stale = await active();
  assert.equal(fresh, true);
  assert.equal(stale, false);
});

test('an armed fault fires once', async () => {
  await mock.admin.armFaults({
    name: 'token-down',
    match: { endpoint: 'token' },
    when: { first: 1 },
    effects: [{ error: { preset: 'unavailable' } }],
  });
  const failed = await fetch('https://www.wixapis.com/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(failed.status, 503);
  assert.match(await appToken(), /^OauthNG\.JWS\./);
});

test('assertClean fails a test with a readable message when the client broke the protocol', async () => {
  // A buggy client: it redeems the same authorization code twice.
  const install = await fetch(
    `https://www.wix.com/installer/install?appId=${APP_ID}` +
      `&redirectUrl=${encodeURIComponent('http://localhost:3000/wix/oauth/callback')}&state=s`,
    { redirect: 'manual' },
  );
  const code = new URL(install.headers.get('location')).searchParams.get('code');
  for (let i = 0; i < 2; i++) {
    await fetch('https://www.wixapis.com/oauth/access', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'authorization_code',
        client_id: APP_ID,
        client_secret: APP_SECRET,
        code,
      }),
    });
  }
  await assert.rejects(mock.admin.assertClean(), (e) => {
    assert.ok(e instanceof ConformanceError);
    assert.match(e.message, /conformance: FAILED/);
    assert.match(e.message, /code_reused/);
    return true;
  });
});

test('a wait that times out says so', async () => {
  await assert.rejects(
    mock.admin.waitForRequests({ path: '/never', timeout_ms: 50 }),
    (e) => e instanceof WixMockError && e.status === 408,
  );
});

test('a namespace has its own clock', async () => {
  const suite = mock.admin.inNamespace('example-suite');
  await suite.freezeClock();
  const before = await mock.admin.clock();
  await suite.advanceClock(3600);
  const after = await mock.admin.clock();
  assert.equal((await suite.clock()).frozen, true);
  assert.ok(after.unix - before.unix < 3600);
  assert.match(suite.wixBaseUrl, /\/__ns\/example-suite$/);
});
