// OAuthStrategy.processVerification (issue 14): the code from the outbox finishes a registration.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OAuthStrategy } from '@wix/sdk';
import { VERIFIED_CLIENT_ID, outbox, resetMock } from '../lib/harness.mjs';

before(resetMock);

test('processVerification with the e-mailed code answers SUCCESS with a session token', async () => {
  const auth = OAuthStrategy({ clientId: VERIFIED_CLIENT_ID });
  const email = `v-${randomUUID().slice(0, 8)}@harness.example.com`;
  const registered = await auth.register({ email, password: 'verify-pass-1' });
  assert.equal(registered.loginState, 'EMAIL_VERIFICATION_REQUIRED');
  const [mail] = await outbox(email);

  const res = await auth.processVerification({ verificationCode: mail.code });

  assert.equal(res.loginState, 'SUCCESS', JSON.stringify(res));
  assert.match(res.data.sessionToken, /^JWS\./);
  const again = await auth.login({ email, password: 'verify-pass-1' });
  assert.equal(again.loginState, 'SUCCESS', 'verified once is verified');
});

test('processVerification with a wrong code is refused', async () => {
  const auth = OAuthStrategy({ clientId: VERIFIED_CLIENT_ID });
  const email = `w-${randomUUID().slice(0, 8)}@harness.example.com`;
  const registered = await auth.register({ email, password: 'verify-pass-1' });
  const [mail] = await outbox(email);
  const wrong = mail.code === '123456' ? '654321' : '123456';

  await assert.rejects(auth.processVerification({ code: wrong }, registered), (e) => {
    assert.equal(e.details?.applicationError?.code, 'INVALID_VERIFICATION_CODE', String(e));
    return true;
  });
});
