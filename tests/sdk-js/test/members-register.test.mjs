// OAuthStrategy.register against sites with each sign-up policy (issue 14): open, owner approval,
// e-mail verification; and the failures the SDK names (invalidEmail, emailAlreadyExists).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OAuthStrategy } from '@wix/sdk';
import {
  APPROVAL_CLIENT_ID, HEADLESS_CLIENT_ID, LOGIN_EMAIL, VERIFIED_CLIENT_ID, adminState, outbox, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

const newEmail = () => `new-${randomUUID().slice(0, 8)}@harness.example.com`;

test('register on an open site logs the member in with a session token', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });
  const email = newEmail();

  const res = await auth.register({ email, password: 'open-pass-1', profile: { nickname: 'Opener' } });

  assert.equal(res.loginState, 'SUCCESS', JSON.stringify(res));
  assert.match(res.data.sessionToken, /^JWS\./);
  const member = (await adminState()).identities.members.find((m) => m.email === email);
  assert.equal(member.nickname, 'Opener');
  assert.equal(member.registered, true);
});

test('register on a site that needs the owner answers OWNER_APPROVAL_REQUIRED', async () => {
  const auth = OAuthStrategy({ clientId: APPROVAL_CLIENT_ID });

  const res = await auth.register({ email: newEmail(), password: 'approve-pass-1' });

  assert.equal(res.loginState, 'OWNER_APPROVAL_REQUIRED', JSON.stringify(res));
  assert.equal(res.data, undefined);
});

test('register on a site that verifies e-mails answers EMAIL_VERIFICATION_REQUIRED and mails a code', async () => {
  const auth = OAuthStrategy({ clientId: VERIFIED_CLIENT_ID });
  const email = newEmail();

  const res = await auth.register({ email, password: 'verify-pass-1' });

  assert.equal(res.loginState, 'EMAIL_VERIFICATION_REQUIRED', JSON.stringify(res));
  assert.ok(res.data.stateToken);
  const [mail] = await outbox(email);
  assert.equal(mail.kind, 'VERIFICATION_CODE');
  assert.match(mail.code, /^\d{6}$/);
});

test('register with a malformed e-mail fails with invalidEmail', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

  const res = await auth.register({ email: 'not-an-email', password: 'whatever-1' });

  assert.equal(res.loginState, 'FAILURE');
  assert.equal(res.errorCode, 'invalidEmail', JSON.stringify(res));
});

test('register with the e-mail of a member fails with emailAlreadyExists', async () => {
  const auth = OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

  const res = await auth.register({ email: LOGIN_EMAIL, password: 'whatever-1' });

  assert.equal(res.loginState, 'FAILURE');
  assert.equal(res.errorCode, 'emailAlreadyExists', JSON.stringify(res));
});
