// The official SDK's normal flows, driven exactly as its docs say, must leave the conformance report
// empty (issue 16: the report used to list 81 warnings and several errors for such a run). Each flow
// is one test; the last one reads GET /__admin/conformance. Rules: docs/conformance.md.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { AppStrategy, OAuthStrategy, createClient } from '@wix/sdk';
import { appInstances, biEvents } from '@wix/app-management';
import { oAuthApps } from '@wix/auth-management';
import {
  API_KEY, APP_ID, APP_SECRET, HEADLESS_CLIENT_ID, LOGIN_EMAIL, LOGIN_PASSWORD, MOCK_URL, REDIRECT_URL,
  VERIFIED_CLIENT_ID, appAccessToken, followToRedirectUri, instanceAuth, outbox, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

test('AppStrategy with a refresh token: install, exchange, finish setup, call an API three times', async () => {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET });
  const state = 'clean-report-state';
  const callbackUrl = await followToRedirectUri(auth.getInstallUrl({ redirectUrl: REDIRECT_URL, state }), REDIRECT_URL);
  const { refreshToken } = await auth.handleOAuthCallback(callbackUrl, { state });

  // A new access token before every call, as AppStrategy({refreshToken}) does and Wix documents.
  const client = createClient({
    auth: AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, refreshToken }),
    modules: { appInstances, biEvents },
  });
  await client.biEvents.sendBiEvent({ eventName: 'APP_FINISHED_CONFIGURATION' });
  for (let i = 0; i < 3; i++) {
    const { instance } = await client.appInstances.getAppInstance();
    assert.ok(instance.instanceId);
  }
});

test('AppStrategy with an instance id: cached client credentials for module calls', async () => {
  const client = createClient({ auth: instanceAuth(), modules: { appInstances } });
  for (let i = 0; i < 3; i++) {
    const { instance } = await client.appInstances.getAppInstance();
    assert.ok(instance.instanceId);
  }
});

test('AppStrategy with an access token: strip_bound_session, getTokenInfo and elevated()', async () => {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, accessToken: await appAccessToken() });
  const info = await auth.getTokenInfo();
  assert.equal(info.clientId, APP_ID);
  const elevated = await auth.elevated();
  const client = createClient({ auth: elevated, modules: { appInstances } });
  const { instance } = await client.appInstances.getAppInstance();
  assert.ok(instance.instanceId);
});

test('OAuthStrategy: visitor tokens, renew, member login with PKCE, logout', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });
  const visitor = await auth.generateVisitorTokens();
  auth.setTokens(visitor);
  await auth.renewToken(visitor.refreshToken);

  const oauthData = auth.generateOAuthData(REDIRECT_URL);
  const { authUrl } = await auth.getAuthUrl(oauthData, { responseMode: 'query' });
  const callbackUrl = await followToRedirectUri(authUrl, REDIRECT_URL);
  const { code, state } = auth.parseFromUrl(callbackUrl, 'query');
  const member = await auth.getMemberTokens(code, state, oauthData);
  auth.setTokens(member);
  assert.ok(auth.loggedIn());

  const { logoutUrl } = await auth.logout('http://127.0.0.1:9/after-logout');
  assert.ok(logoutUrl);
});

test('OAuth Apps CRUD through the app client', async () => {
  const client = createClient({ auth: instanceAuth(), modules: { oAuthApps } });
  const created = await client.oAuthApps.createOAuthApp({
    name: 'clean-report app', allowedRedirectUris: [REDIRECT_URL], applicationType: 'WEB_APP',
  });
  const id = created._id;
  await client.oAuthApps.getOAuthApp(id);
  await client.oAuthApps.queryOAuthApps().eq('_id', id).find();
  await client.oAuthApps.updateOAuthApp(id, { name: 'clean-report app 2' }, ['name']);
  await client.oAuthApps.generateOAuthAppSecret(id);
  await client.oAuthApps.deleteOAuthApp(id);
});

test('Members with their own login form: register, verify with the code, log in, sign on (issue 14)', async () => {
  const verified = OAuthStrategy({ clientId: VERIFIED_CLIENT_ID });
  const email = 'clean-report@harness.example.com';
  const registered = await verified.register({ email, password: 'clean-pass-1' });
  assert.equal(registered.loginState, 'EMAIL_VERIFICATION_REQUIRED');
  const [mail] = await outbox(email);
  assert.equal((await verified.processVerification({ verificationCode: mail.code })).loginState, 'SUCCESS');
  assert.equal((await verified.login({ email, password: 'clean-pass-1' })).loginState, 'SUCCESS');
  const open = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });
  // One typo, then the right password: a person, not a loop.
  assert.equal((await open.login({ email: LOGIN_EMAIL, password: 'typo' })).errorCode, 'invalidPassword');
  assert.equal((await open.login({ email: LOGIN_EMAIL, password: LOGIN_PASSWORD })).loginState, 'SUCCESS');
  const tokens = await open.getMemberTokensForExternalLoginWithSession(LOGIN_EMAIL, API_KEY);
  assert.equal(tokens.refreshToken.role, 'member');
});

test('the conformance report of all these flows is empty', async () => {
  const res = await fetch(`${MOCK_URL}/__admin/conformance`);
  assert.equal(res.status, 200);
  const report = await res.json();

  assert.deepEqual(
    report.violations.map((v) => `${v.severity} ${v.kind}: ${v.message}`),
    [],
  );
  assert.equal(report.passed, true);
});
