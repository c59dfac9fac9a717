// Logging a member out (issue 14): the authentication module's logout (GET .../v1/logout) ends
// every token of the member.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthStrategy, createClient } from '@wix/sdk';
import { authentication } from '@wix/identity';
import { API_KEY, HEADLESS_CLIENT_ID, LOGIN_EMAIL, resetMock, tokenInfo } from '../lib/harness.mjs';

before(resetMock);

test('logout ends the member tokens', async () => {
  const visitor = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });
  const tokens = await visitor.getMemberTokensForExternalLoginWithSession(LOGIN_EMAIL, API_KEY);
  const member = createClient({
    modules: { authentication },
    auth: OAuthStrategy({ clientId: HEADLESS_CLIENT_ID, tokens }),
  });
  assert.equal((await tokenInfo(tokens.accessToken.value)).active, true);

  await member.authentication.logout({ clientId: HEADLESS_CLIENT_ID });

  assert.equal((await tokenInfo(tokens.accessToken.value)).active, false);
});
