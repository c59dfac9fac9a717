// OAuthStrategy.sendPasswordResetEmail (issue 14): the link in the outbox opens the mock's reset
// page; its form sets the new password (recover) and sends the browser on to the redirect URL.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthStrategy } from '@wix/sdk';
import {
  HEADLESS_CLIENT_ID, LOGIN_EMAIL, LOGIN_PASSWORD, REDIRECT_URL, outbox, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

test('the recovery link resets the password once and the new password logs in', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

  await auth.sendPasswordResetEmail(LOGIN_EMAIL, REDIRECT_URL);
  const [mail] = await outbox(LOGIN_EMAIL, 5000);
  assert.equal(mail.kind, 'PASSWORD_RECOVERY');
  const page = await fetch(mail.link);
  const html = await page.text();
  assert.equal(page.status, 200);
  const token = /name="recoveryToken" value="([^"]+)"/.exec(html)[1];
  const action = new URL('reset-password', mail.link);
  const submit = () => fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ recoveryToken: token, password: 'recovered-pass-1' }).toString(),
  });
  const done = await submit();
  const replay = await submit();

  assert.equal(done.status, 302);
  assert.equal(done.headers.get('location'), REDIRECT_URL);
  assert.equal(replay.status, 400, 'a link works once');
  assert.equal((await auth.login({ email: LOGIN_EMAIL, password: LOGIN_PASSWORD })).errorCode, 'invalidPassword');
  assert.equal((await auth.login({ email: LOGIN_EMAIL, password: 'recovered-pass-1' })).loginState, 'SUCCESS');
});
