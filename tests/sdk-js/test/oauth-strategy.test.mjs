// Headless visitors and members through OAuthStrategy. The client ID is the OAuth
// app declared in scenario.yaml, so these tests do not depend on the OAuth Apps API.
// Wire shapes: fixtures/sdk/18-*, 19-*, 21-*, 22-*.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OAuthStrategy } from '@wix/sdk';
import {
  API_KEY, HEADLESS_CLIENT_ID, MEMBER_ID, REDIRECT_URL, followToRedirectUri, resetMock, tokenInfo,
} from '../lib/harness.mjs';

before(resetMock);

/** OAuthStrategy for the scenario's OAuth app, which allows REDIRECT_URL. */
async function newVisitorAuth() {
  return OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });
}

/** Runs the member login redirect in query mode; returns {auth, oauthData, code, state}. */
async function memberLogin() {
  const auth = await newVisitorAuth();
  const oauthData = auth.generateOAuthData(REDIRECT_URL);
  const { authUrl } = await auth.getAuthUrl(oauthData, { responseMode: 'query' });
  const callbackUrl = await followToRedirectUri(authUrl, REDIRECT_URL);
  const { code, state, error, errorDescription } = auth.parseFromUrl(callbackUrl, 'query');
  assert.equal(error, undefined, `authorize failed: ${error} ${errorDescription}`);
  return { auth, oauthData, code, state };
}

const nowSecs = () => Math.floor(Date.now() / 1000);

test('generateVisitorTokens returns a visitor access token and a visitor refresh token', async () => {
  const auth = await newVisitorAuth();

  const tokens = await auth.generateVisitorTokens();

  assert.ok(tokens.accessToken.value, 'no access token');
  assert.ok(tokens.accessToken.expiresAt > nowSecs(), `expiresAt ${tokens.accessToken.expiresAt}`);
  assert.ok(tokens.refreshToken.value, 'no refresh token');
  assert.equal(tokens.refreshToken.role, 'visitor');
});

test('renewToken returns a new access token and keeps the old refresh token', async () => {
  const auth = await newVisitorAuth();
  const visitor = await auth.generateVisitorTokens();

  const renewed = await auth.renewToken(visitor.refreshToken);

  assert.ok(renewed.accessToken.value, 'no access token');
  assert.notEqual(renewed.accessToken.value, visitor.accessToken.value);
  assert.deepEqual(renewed.refreshToken, visitor.refreshToken);
});

test('renewToken with an unknown refresh token is refused', async () => {
  const auth = await newVisitorAuth();

  await assert.rejects(
    auth.renewToken({ value: 'not-a-refresh-token', role: 'visitor' }),
    /Failed to fetch tokens from OAuth API/,
  );
});

test('getAuthUrl in query mode leads through the authorize page to the redirect URI with code and state', async () => {
  const { oauthData, code, state } = await memberLogin();

  assert.ok(code, 'no code');
  assert.equal(state, oauthData.state);
});

test('getMemberTokens exchanges the code and PKCE verifier for member tokens', async () => {
  const { auth, oauthData, code, state } = await memberLogin();

  const tokens = await auth.getMemberTokens(code, state, oauthData);

  assert.ok(tokens.accessToken.value, 'no access token');
  assert.ok(tokens.accessToken.expiresAt > nowSecs(), `expiresAt ${tokens.accessToken.expiresAt}`);
  assert.ok(tokens.refreshToken.value, 'no refresh token');
  assert.equal(tokens.refreshToken.role, 'member');
});

test('getMemberTokens with the wrong PKCE verifier is refused', async () => {
  const { auth, oauthData, code, state } = await memberLogin();
  const otherVerifier = auth.generateOAuthData(REDIRECT_URL).codeVerifier;

  await assert.rejects(
    auth.getMemberTokens(code, state, { ...oauthData, codeVerifier: otherVerifier }),
    /Failed to fetch tokens from OAuth API/,
  );
});

test('an unknown client id cannot mint visitor tokens', async () => {
  await assert.rejects(
    OAuthStrategy({ clientId: randomUUID() }).generateVisitorTokens(),
    /Failed to fetch tokens from OAuth API/,
  );
});

test('member tokens describe the member in token-info', async () => {
  const { auth, oauthData, code, state } = await memberLogin();

  const tokens = await auth.getMemberTokens(code, state, oauthData);
  const info = await tokenInfo(tokens.accessToken.value);

  assert.equal(info.active, true);
  assert.equal(info.subjectType, 'MEMBER');
  assert.equal(info.subjectId, MEMBER_ID);
  assert.equal(info.clientId, HEADLESS_CLIENT_ID);
});

test('logout invalidates the member tokens', async () => {
  const { auth, oauthData, code, state } = await memberLogin();
  const tokens = await auth.getMemberTokens(code, state, oauthData);
  auth.setTokens(tokens);

  const { logoutUrl } = await auth.logout('http://127.0.0.1:9/after-logout');

  assert.ok(logoutUrl, 'no logout URL');
  assert.equal((await tokenInfo(tokens.accessToken.value)).active, false);
  await assert.rejects(auth.renewToken(tokens.refreshToken), /Failed to fetch tokens from OAuth API/);
});

test('getMemberTokensForExternalLogin with a site API key returns member tokens', async () => {
  const auth = await newVisitorAuth();
  auth.setTokens(await auth.generateVisitorTokens());

  const tokens = await auth.getMemberTokensForExternalLogin(MEMBER_ID, API_KEY);

  assert.equal((await tokenInfo(tokens.accessToken.value)).subjectId, MEMBER_ID);
  assert.equal(tokens.refreshToken.role, 'member');
});
