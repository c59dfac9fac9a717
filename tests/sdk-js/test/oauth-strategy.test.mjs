// Headless visitors and members through OAuthStrategy. The client ID is an OAuth
// app created by the app itself with @wix/auth-management.
// Wire shapes: sdk-wire-capture.md §18, §19, §21, §22.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OAuthStrategy } from '@wix/sdk';
import { REDIRECT_URL, createOAuthApp, followToRedirectUri, resetMock } from '../lib/harness.mjs';

before(resetMock);

/** OAuthStrategy for a new OAuth app that allows REDIRECT_URL. */
async function newVisitorAuth() {
  const app = await createOAuthApp({ allowedRedirectUris: [REDIRECT_URL] });
  return OAuthStrategy({ clientId: app._id });
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
