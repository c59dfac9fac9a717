// AppStrategy with an instance ID (client credentials), with an access token
// from a Wix extension (strip_bound_session, elevated()), and module calls made
// with the resulting token. Wire shapes: fixtures/sdk/04-*, 06-* to 08-*.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AppStrategy, createClient } from '@wix/sdk';
import { appInstances } from '@wix/app-management';
import {
  APP_ID, APP_SECRET, APP_TOKEN_PREFIX, INSTANCE_ID,
  appAccessToken, countRequests, instanceAuth, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

test('client credentials for the installed instance give an OauthNG.JWS access token', async () => {
  const { headers } = await instanceAuth().getAuthHeaders();

  assert.ok(headers.Authorization.startsWith(APP_TOKEN_PREFIX), headers.Authorization);
});

test('the client-credentials token is cached: a second getAuthHeaders sends no token request', async () => {
  const auth = instanceAuth();
  const start = await countRequests('POST', '/oauth2/token');

  const first = await auth.getAuthHeaders();
  const afterFirst = await countRequests('POST', '/oauth2/token');
  const second = await auth.getAuthHeaders();
  const afterSecond = await countRequests('POST', '/oauth2/token');

  assert.equal(afterFirst - start, 1);
  assert.equal(afterSecond - afterFirst, 0);
  assert.equal(second.headers.Authorization, first.headers.Authorization);
});

test('client credentials for an instance the app is not installed on are refused', async () => {
  await assert.rejects(
    instanceAuth(randomUUID()).getAuthHeaders(),
    /Failed to exchange instance ID for access token/,
  );
});

test('client credentials with a wrong app secret are refused', async () => {
  const auth = AppStrategy({ appId: APP_ID, appSecret: 'wrong-secret', instanceId: INSTANCE_ID });

  await assert.rejects(auth.getAuthHeaders(), /Failed to exchange instance ID for access token/);
});

test('appInstances.getAppInstance returns the instance the token was issued for', async () => {
  const client = createClient({ auth: instanceAuth(), modules: { appInstances } });

  const { instance, site } = await client.appInstances.getAppInstance();

  assert.equal(instance.instanceId, INSTANCE_ID);
  assert.equal(instance.appName, 'Harness App');
  assert.equal(site.siteDisplayName, 'Harness Site');
});

test('getTokenInfo on an access-token strategy describes the app and the instance', async () => {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, accessToken: await appAccessToken() });

  const info = await auth.getTokenInfo();

  assert.equal(String(info.active), 'true');
  assert.equal(info.subjectType, 'APP');
  assert.equal(info.clientId, APP_ID);
  assert.equal(info.instanceId, INSTANCE_ID);
});

test('an access token from an extension is unbound with strip_bound_session and works for module calls', async () => {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, accessToken: await appAccessToken() });
  const client = createClient({ auth, modules: { appInstances } });
  const start = await countRequests('POST', '/oauth2/token');

  const { headers } = await auth.getAuthHeaders();
  // The unbound token is cached, so the module call reuses it.
  const { instance } = await client.appInstances.getAppInstance();

  assert.ok(headers.Authorization.startsWith(APP_TOKEN_PREFIX), headers.Authorization);
  assert.equal(await countRequests('POST', '/oauth2/token') - start, 1);
  assert.equal(instance.instanceId, INSTANCE_ID);
});

test('elevated() turns an access token into client credentials for its instance', async () => {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET, accessToken: await appAccessToken() });

  const elevated = await auth.elevated();
  const { headers } = await elevated.getAuthHeaders();
  const client = createClient({ auth: elevated, modules: { appInstances } });
  const { instance } = await client.appInstances.getAppInstance();

  assert.ok(headers.Authorization.startsWith(APP_TOKEN_PREFIX), headers.Authorization);
  assert.equal(instance.instanceId, INSTANCE_ID);
});
