// Real @wix/* modules against the mock's stubs (issue 15, docs/stubs.md): @wix/stores
// products.queryProducts() through AppStrategy and @wix/members getCurrentMember() through
// OAuthStrategy get the starter pack's data; a missing scope or identity is the 403 the SDK
// surfaces; an expired token is refreshed by the SDK before the call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthStrategy, createClient } from '@wix/sdk';
import { products } from '@wix/stores';
import { members } from '@wix/members';
import {
  HEADLESS_CLIENT_ID, MEMBER_ID, MOCK_URL, REDIRECT_URL, followToRedirectUri, instanceAuth, journal, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

// The SDK decides expiry on Date.now(); the mock on its virtual clock. To play "four hours later",
// both move together.
const realNow = Date.now;
let shiftMs = 0;
Date.now = () => realNow() + shiftMs;
after(() => { Date.now = realNow; });

async function later(secs) {
  const res = await fetch(`${MOCK_URL}/__admin/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance_secs: secs }),
  });
  assert.equal(res.status, 200, await res.text());
  shiftMs += secs * 1000;
}

async function adminStubs(method, body) {
  const res = await fetch(`${MOCK_URL}/__admin/stubs`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} /__admin/stubs: ${res.status} ${await res.text()}`);
}

/** A member logged in through the Wix-managed login page, with an OAuthStrategy holding its tokens. */
async function memberClient() {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });
  const oauthData = auth.generateOAuthData(REDIRECT_URL);
  const { authUrl } = await auth.getAuthUrl(oauthData, { responseMode: 'query' });
  const { code, state } = auth.parseFromUrl(await followToRedirectUri(authUrl, REDIRECT_URL), 'query');
  auth.setTokens(await auth.getMemberTokens(code, state, oauthData));
  return createClient({ auth, modules: { members } });
}

const entriesFor = async (path) => (await journal()).filter((e) => e.path === path);

test('AppStrategy: products.queryProducts() gets the stubbed products', async () => {
  const client = createClient({ auth: instanceAuth(), modules: { products } });

  const result = await client.products.queryProducts().limit(10).find();

  assert.equal(result.items.length, 1);
  assert.equal(result.items[0].name, 'Shirt');
  assert.equal(result.items[0]._id, '3fb6a3c8-988b-8755-04bd-5c59ae0b18ea');
  const [entry] = await entriesFor('/stores-reader/v1/products/query-platformized');
  assert.equal(entry.stub, 'stores-query-products-sdk');
});

test('AppStrategy: a scope the app lacks is the 403 PERMISSION_DENIED the SDK surfaces', async () => {
  // A stub for the same call, tried first, that needs a scope the harness app never asked for.
  await adminStubs('POST', {
    name: 'needs-manage-products', priority: 1,
    request: { method: 'ANY', path: '/stores-reader/v1/products/query-platformized' },
    auth: { scopes: ['SCOPE.DC-STORES.MANAGE-PRODUCTS'] },
    response: { body: { products: [] } },
  });
  const client = createClient({ auth: instanceAuth(), modules: { products } });
  try {
    await assert.rejects(client.products.queryProducts().find(), (err) => {
      assert.equal(err.details?.applicationError?.code, 'PERMISSION_DENIED', JSON.stringify(err));
      assert.match(err.message, /SCOPE\.DC-STORES\.MANAGE-PRODUCTS/);
      return true;
    });
  } finally {
    await fetch(`${MOCK_URL}/__admin/stubs/needs-manage-products`, { method: 'DELETE' });
  }
});

test('AppStrategy: four hours later the SDK gets a new token before the call', async () => {
  const client = createClient({ auth: instanceAuth(), modules: { products } });
  await client.products.queryProducts().find();
  const tokensBefore = (await entriesFor('/oauth2/token')).length;

  await later(4 * 3600 + 60);
  const result = await client.products.queryProducts().find();

  assert.equal(result.items[0].name, 'Shirt');
  assert.equal((await entriesFor('/oauth2/token')).length, tokensBefore + 1);
  const calls = await entriesFor('/stores-reader/v1/products/query-platformized');
  assert.deepEqual(calls.slice(-2).map((e) => e.status), [200, 200]);
});

test('OAuthStrategy: members.getCurrentMember() answers with the logged-in member', async () => {
  const client = await memberClient();

  const { member } = await client.members.getCurrentMember();

  assert.equal(member._id, MEMBER_ID);
  assert.equal(member.loginEmail, 'member@harness.example.com');
  assert.equal(member.profile.nickname, 'Harness Member');
});

test('OAuthStrategy: a visitor asking for the current member gets the 403 the SDK surfaces', async () => {
  const client = createClient({ auth: OAuthStrategy({ clientId: HEADLESS_CLIENT_ID }), modules: { members } });

  await assert.rejects(client.members.getCurrentMember(), (err) => {
    assert.equal(err.details?.applicationError?.code, 'PERMISSION_DENIED', JSON.stringify(err));
    return true;
  });
});

test('OAuthStrategy: an expired member token is refreshed by the SDK, then the call succeeds', async () => {
  const client = await memberClient();
  await client.members.getCurrentMember();
  const before = (await journal()).length;

  await later(4 * 3600 + 60);
  const { member } = await client.members.getCurrentMember();

  assert.equal(member._id, MEMBER_ID);
  const since = (await journal()).slice(before);
  const refresh = since.find((e) => e.path === '/oauth2/token' && e.body?.grant_type === 'refresh_token');
  assert.ok(refresh, `no refresh in ${JSON.stringify(since.map((e) => [e.path, e.status]))}`);
  assert.equal(refresh.status, 200);
  assert.deepEqual(since.filter((e) => e.path === '/members/v1/members/my').map((e) => e.status), [200]);
});
