// OAuthStrategy.getMemberTokensForExternalLoginWithSession (issue 14): sign-on with the visitor
// token and an API key, then authorized_client with the session token.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthStrategy } from '@wix/sdk';
import { API_KEY, HEADLESS_CLIENT_ID, LOGIN_EMAIL, adminState, resetMock, tokenInfo } from '../lib/harness.mjs';

before(resetMock);

test('an existing member gets member tokens through sign-on', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

  const tokens = await auth.getMemberTokensForExternalLoginWithSession(LOGIN_EMAIL, API_KEY);

  assert.equal(tokens.refreshToken.role, 'member');
  const info = await tokenInfo(tokens.accessToken.value);
  assert.equal(info.subjectType, 'MEMBER');
  assert.equal(info.subjectId, '3b5d7f91-2c4e-4a6b-8d0f-1a3c5e7f9b2d');
});

test('a new e-mail becomes a member through sign-on', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

  const tokens = await auth.getMemberTokensForExternalLoginWithSession('external@harness.example.com', API_KEY);

  const info = await tokenInfo(tokens.accessToken.value);
  const member = (await adminState()).identities.members.find((m) => m.email === 'external@harness.example.com');
  assert.equal(info.subjectId, member.id);
});

test('a wrong API key is refused', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

  await assert.rejects(auth.getMemberTokensForExternalLoginWithSession(LOGIN_EMAIL, 'not-a-key'));
});
