// wix-oauth-mock from vitest: one mock per file, Wix's hosts sent to it, a clean conformance report
// after each test. Run: WIX_OAUTH_MOCK_BIN=/path/to/wix-oauth-mock npx vitest run vitest.test.mjs
// (or put the binary on PATH with `cargo install --path .` in the mock's repository).
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';

import { ConformanceError, startWixMock } from 'wix-oauth-mock';

// The demo app and its installed instance in the built-in scenario (scenarios/default.yaml).
const APP_ID = '5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10';
const APP_SECRET = 'mock-app-secret-0001';
const INSTANCE_ID = '54f783ac-8c25-4a73-9ebf-a1125f71c5e3';

let mock;

beforeAll(async () => {
  mock = await startWixMock();
  // `register` reads WIX_MOCK_URL when it is imported, so import it once the mock is up.
  process.env.WIX_MOCK_URL = mock.url;
  await import('wix-oauth-mock/register');
});

// Every test must leave a clean report; the reset then gives the next test a fresh world and clock.
afterEach(async () => {
  try {
    await mock.admin.assertClean();
  } finally {
    await mock.admin.reset();
  }
});

afterAll(() => mock?.stop());

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
  expect(res.status).toBe(200);
  return (await res.json()).access_token;
}

test('fetch to www.wixapis.com reaches the mock, which journals it', async () => {
  const token = await appToken();

  const { requests } = await mock.admin.requests({ path: '/oauth2/token' });

  expect(token).toMatch(/^OauthNG\.JWS\./);
  expect(requests.map((r) => r.status)).toEqual([200]);
});

test('a token expires on the virtual clock, not the wall clock', async () => {
  await mock.admin.freezeClock();
  const { access_token: token } = await mock.admin.mintToken({
    identity: 'app',
    instance_id: INSTANCE_ID,
    ttl_secs: 60,
  });
  const instance = () =>
    fetch('https://www.wixapis.com/apps/v1/instance', { headers: { authorization: token } });

  const fresh = await instance();
  await mock.admin.advanceClock(61);
  const stale = await instance();

  expect(fresh.status).toBe(200);
  expect(stale.status).toBe(401);
  expect((await stale.json()).details.applicationError.code).toBe('TOKEN_EXPIRED');
});

test('a client that waits out Retry-After after a 503 gets its token', async () => {
  await mock.admin.armFaults({
    name: 'token-down',
    match: { endpoint: 'token' },
    when: { first: 1 },
    effects: [{ error: { preset: 'unavailable', retry_after_secs: 30 } }],
  });

  const first = await fetch('https://www.wixapis.com/oauth2/token', { method: 'POST', body: '{}' });
  // Waiting on the virtual clock: retrying sooner would be an `ignored_retry_after` violation.
  await mock.admin.advanceClock(Number(first.headers.get('retry-after')));
  const token = await appToken();

  expect(first.status).toBe(503);
  expect(token).toMatch(/^OauthNG\.JWS\./);
});

test('assertClean names the protocol mistake', async () => {
  // A buggy client: it sends its secret in the query string.
  const query = new URLSearchParams({ client_secret: APP_SECRET });
  await fetch(`https://www.wixapis.com/oauth2/token?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: APP_ID, instance_id: INSTANCE_ID }),
  });

  const failure = await mock.admin.assertClean().catch((e) => e);

  expect(failure).toBeInstanceOf(ConformanceError);
  expect(failure.message).toMatch(/secret_in_url/);
  await mock.admin.reset(); // forget the mistake, so afterEach's check passes
});
