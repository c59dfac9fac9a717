// Legacy custom authentication (install redirect + /oauth/access), driven through
// AppStrategy exactly as an app backend would. Wire shapes: fixtures/sdk/01-* to 03-*, 09-*.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { AppStrategy, createClient } from '@wix/sdk';
import { biEvents } from '@wix/app-management';
import {
  APP_ID, APP_SECRET, APP_TOKEN_PREFIX, REDIRECT_URL,
  adminState, countRequests, findInstance, followToRedirectUri, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

/** Runs the install redirect for a fresh state; returns the strategy and the callback URL. */
async function install(state = `legacy-${Math.random().toString(36).slice(2)}`) {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET });
  const installUrl = auth.getInstallUrl({ redirectUrl: REDIRECT_URL, state });
  const callbackUrl = await followToRedirectUri(installUrl, REDIRECT_URL);
  return { auth, state, callbackUrl };
}

/** Install + code exchange; returns {instanceId, accessToken, refreshToken}. */
async function installAndExchange() {
  const { auth, state, callbackUrl } = await install();
  return auth.handleOAuthCallback(callbackUrl, { state });
}

test('the install URL redirects to the registered redirect URL with code, state and instanceId', async () => {
  const { state, callbackUrl } = await install('state-1');

  const params = new URL(callbackUrl).searchParams;
  assert.ok(params.get('code'), `no code in ${callbackUrl}`);
  assert.equal(params.get('state'), state);
  assert.ok(params.get('instanceId'), `no instanceId in ${callbackUrl}`);
});

test('handleOAuthCallback exchanges the code for an access token and a refresh token', async () => {
  const { auth, state, callbackUrl } = await install();

  const tokens = await auth.handleOAuthCallback(callbackUrl, { state });

  assert.equal(tokens.instanceId, new URL(callbackUrl).searchParams.get('instanceId'));
  assert.ok(tokens.accessToken.startsWith(APP_TOKEN_PREFIX), tokens.accessToken);
  assert.ok(tokens.refreshToken, 'no refresh token');
});

test('an authorization code can be exchanged only once', async () => {
  const { auth, state, callbackUrl } = await install();
  await auth.handleOAuthCallback(callbackUrl, { state });

  await assert.rejects(
    AppStrategy({ appId: APP_ID, appSecret: APP_SECRET }).handleOAuthCallback(callbackUrl, { state }),
    /Unexpected status code from Wix OAuth API/,
  );
});

test('a refresh token yields an OauthNG.JWS access token on every getAuthHeaders call', async () => {
  const { refreshToken } = await installAndExchange();
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, refreshToken });
  const sentBefore = await countRequests('POST', '/oauth/access');

  const first = await auth.getAuthHeaders();
  const second = await auth.getAuthHeaders();

  assert.ok(first.headers.Authorization.startsWith(APP_TOKEN_PREFIX), first.headers.Authorization);
  assert.ok(second.headers.Authorization.startsWith(APP_TOKEN_PREFIX), second.headers.Authorization);
  // AppStrategy does not cache refresh-token access tokens: one /oauth/access per call.
  assert.equal(await countRequests('POST', '/oauth/access') - sentBefore, 2);
});

test('a wrong app secret cannot use a refresh token', async () => {
  const { refreshToken } = await installAndExchange();

  await assert.rejects(
    AppStrategy({ appId: APP_ID, appSecret: 'wrong-secret', refreshToken }).getAuthHeaders(),
    /Unexpected status code from Wix OAuth API/,
  );
});

test('getTokenInfo on a refresh-token strategy describes the app and its instance', async () => {
  const { instanceId, refreshToken } = await installAndExchange();
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, refreshToken });

  // The SDK posts the refresh token itself to /oauth2/token-info.
  const info = await auth.getTokenInfo();

  assert.equal(String(info.active), 'true');
  assert.equal(info.clientId, APP_ID);
  assert.equal(info.instanceId, instanceId);
});

test('sending APP_FINISHED_CONFIGURATION through biEvents marks the instance setup complete', async () => {
  const { instanceId, refreshToken } = await installAndExchange();
  const client = createClient({
    auth: AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, refreshToken }),
    modules: { biEvents },
  });

  await client.biEvents.sendBiEvent({ eventName: 'APP_FINISHED_CONFIGURATION' });

  const instance = findInstance(await adminState(), instanceId);
  assert.ok(instance, `instance ${instanceId} not found in /__admin/state`);
  assert.equal(instance.setup_complete, true, JSON.stringify(instance));
});
