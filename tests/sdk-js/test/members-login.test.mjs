// OAuthStrategy.login (issue 14): success, and each failure the SDK names.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthStrategy } from '@wix/sdk';
import {
  BLOCKED_EMAIL, HEADLESS_CLIENT_ID, LOGIN_EMAIL, LOGIN_PASSWORD, RESET_EMAIL, RESET_PASSWORD, resetMock,
} from '../lib/harness.mjs';

before(resetMock);

const auth = () => OAuthStrategy({ clientId: HEADLESS_CLIENT_ID });

test('login with the right password answers SUCCESS with a session token', async () => {
  const res = await auth().login({ email: LOGIN_EMAIL, password: LOGIN_PASSWORD });

  assert.equal(res.loginState, 'SUCCESS', JSON.stringify(res));
  assert.match(res.data.sessionToken, /^JWS\./);
});

test('login with a wrong password fails with invalidPassword', async () => {
  const res = await auth().login({ email: LOGIN_EMAIL, password: 'not-the-password' });

  assert.equal(res.loginState, 'FAILURE');
  assert.equal(res.errorCode, 'invalidPassword', JSON.stringify(res));
});

test('login with an unknown e-mail fails with invalidEmail', async () => {
  const res = await auth().login({ email: 'nobody@harness.example.com', password: 'whatever-1' });

  assert.equal(res.loginState, 'FAILURE');
  assert.equal(res.errorCode, 'invalidEmail', JSON.stringify(res));
});

test('login of a blocked member fails and never logs in', async () => {
  const res = await auth().login({ email: BLOCKED_EMAIL, password: 'blocked-pass-0001' });

  assert.equal(res.loginState, 'FAILURE');
  assert.match(res.error, /blocked/);
  assert.equal(res.data, undefined);
});

test('three wrong passwords in a row require a reset, even with the right one after', async () => {
  const codes = [];
  for (let i = 0; i < 3; i++) {
    codes.push((await auth().login({ email: RESET_EMAIL, password: `wrong-${i}-pass` })).errorCode);
  }

  const right = await auth().login({ email: RESET_EMAIL, password: RESET_PASSWORD });

  assert.deepEqual(codes, ['invalidPassword', 'invalidPassword', 'resetPassword']);
  assert.equal(right.errorCode, 'resetPassword', JSON.stringify(right));
});
