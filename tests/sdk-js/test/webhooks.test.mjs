// Webhooks as an app receives them: the mock POSTs AppInstalled / AppRemoved to a webhook URL set at run
// time, and the official SDK verifies them with the public key from the admin API
// (AppStrategy({publicKey}).webhooks.process and decodeJWT), exactly as against Wix (docs/fidelity.md F-37, F-38).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AppStrategy, createClient } from '@wix/sdk';
import { appInstances } from '@wix/app-management';
import {
  APP_ID, APP_SECRET, MOCK_URL, REDIRECT_URL, followToRedirectUri, resetMock,
} from '../lib/harness.mjs';

// A webhook endpoint on a free port that queues every request it gets and answers 200.
const queue = [];
const waiting = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    const got = { contentType: req.headers['content-type'], body };
    const next = waiting.shift();
    if (next) next(got); else queue.push(got);
    res.writeHead(200).end();
  });
});

/** The next webhook the endpoint received, waiting up to 15 s. */
function nextWebhook() {
  if (queue.length) return Promise.resolve(queue.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no webhook within 15 s')), 15_000);
    waiting.push((got) => { clearTimeout(timer); resolve(got); });
  });
}

async function admin(method, path, body) {
  const res = await fetch(`${MOCK_URL}/__admin/${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /__admin/${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

let publicKey;

before(async () => {
  await resetMock();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await admin('PUT', `apps/${APP_ID}/webhook-url`, { url: `http://127.0.0.1:${port}/webhooks` });
  // What the app would copy from its dashboard.
  publicKey = await admin('GET', `apps/${APP_ID}/public-key`);
});

after(async () => {
  await admin('PUT', `apps/${APP_ID}/webhook-url`, { url: null });
  server.close();
});

/** A client as an app backend builds it to process webhooks. */
function webhookClient() {
  return createClient({
    auth: AppStrategy({ appId: APP_ID, publicKey }),
    modules: { appInstances },
  });
}

/** Runs the install redirect; returns the new instance id. */
async function install() {
  const auth = AppStrategy({ appId: APP_ID, appSecret: APP_SECRET });
  const callbackUrl = await followToRedirectUri(auth.getInstallUrl({ redirectUrl: REDIRECT_URL }), REDIRECT_URL);
  return new URL(callbackUrl).searchParams.get('instanceId');
}

test('the public key is the PEM AppStrategy takes', () => {
  assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
});

test('an install delivers AppInstalled that webhooks.process verifies and dispatches', async () => {
  const client = webhookClient();
  const seen = [];
  client.appInstances.onAppInstanceInstalled((event) => { seen.push(event); });

  const instanceId = await install();
  const { contentType, body } = await nextWebhook();
  const result = await client.webhooks.process(body);

  assert.equal(contentType, 'text/plain');
  assert.equal(result.eventType, 'AppInstalled');
  assert.equal(result.instanceId, instanceId);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].data.appId, APP_ID);
  assert.equal(seen[0].metadata.instanceId, instanceId);
  assert.equal(seen[0].metadata.identity.identityType, 'WIX_USER');
});

test('decodeJWT with caller claims checks iss wix.com and aud the app id, and refuses a forged body', async () => {
  const auth = AppStrategy({ appId: APP_ID, publicKey });
  await install();
  const { body } = await nextWebhook();

  const { decoded, valid } = await auth.decodeJWT(body, true);
  assert.equal(valid, true);
  assert.equal(JSON.parse(decoded.data).eventType, 'AppInstalled');

  const [header, payload] = body.split('.');
  const forgedPayload = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url')), aud: 'someone-else' }),
  ).toString('base64url');
  await assert.rejects(auth.decodeJWT(`${header}.${forgedPayload}.${body.split('.')[2]}`, true));
  const otherApp = AppStrategy({ appId: '00000000-0000-4000-8000-000000000000', publicKey });
  await assert.rejects(otherApp.decodeJWT(body, true));
});

test('uninstalling delivers AppRemoved', async () => {
  const client = webhookClient();
  const seen = [];
  client.appInstances.onAppInstanceRemoved((event) => { seen.push(event); });
  const instanceId = await install();
  await nextWebhook(); // AppInstalled

  await admin('POST', `instances/${instanceId}/uninstall`);
  const { body } = await nextWebhook();
  await client.webhooks.process(body);

  assert.equal(seen.length, 1);
  assert.equal(seen[0].metadata.instanceId, instanceId);
  assert.equal(seen[0].data.appId, APP_ID);
});
