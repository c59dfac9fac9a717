// The OAuth Apps API (@wix/auth-management oAuthApps), called as the app with a
// client-credentials token. Wire shapes: fixtures/sdk/10-* to 16-*, 26-*, 27-*.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OAuthStrategy } from '@wix/sdk';
import { createOAuthApp, oAuthAppsClient, resetMock } from '../lib/harness.mjs';

before(resetMock);

const { oAuthApps } = oAuthAppsClient();
const time = (d) => new Date(d).getTime();
const uniqueName = (prefix) => `${prefix} ${randomUUID().slice(0, 8)}`;

test('createOAuthApp returns the new app with an id, a creation date and its secret', async () => {
  const name = uniqueName('create');

  const app = await createOAuthApp({ name, description: 'first' });

  assert.ok(app._id, 'no _id');
  assert.ok(!Number.isNaN(time(app._createdDate)), `bad _createdDate ${app._createdDate}`);
  assert.equal(app.name, name);
  assert.equal(app.description, 'first');
  assert.ok(app.secret, 'the secret is returned on create');
});

test('getOAuthApp returns the app without its secret', async () => {
  const created = await createOAuthApp();

  const app = await oAuthApps.getOAuthApp(created._id);

  assert.equal(app._id, created._id);
  assert.equal(app.name, created.name);
  assert.ok(!app.secret, `secret leaked on get: ${app.secret}`);
});

test('queryOAuthApps with eq on _id finds exactly that app', async () => {
  const wanted = await createOAuthApp();
  await createOAuthApp();

  const page = await oAuthApps.queryOAuthApps().eq('_id', wanted._id).find();

  assert.deepEqual(page.items.map((a) => a._id), [wanted._id]);
  assert.ok(!page.items[0].secret, 'secret leaked on query');
});

test('queryOAuthApps ascending by name sorts the apps by name', async () => {
  await createOAuthApp({ name: uniqueName('sort-c') });
  await createOAuthApp({ name: uniqueName('sort-a') });
  await createOAuthApp({ name: uniqueName('sort-b') });

  const page = await oAuthApps.queryOAuthApps().ascending('name').find();

  const names = page.items.map((a) => a.name);
  assert.ok(names.length >= 3, `only ${names.length} apps`);
  assert.deepEqual(names, [...names].sort());
});

test('queryOAuthApps descending by _createdDate lists the newest app first', async () => {
  const older = await createOAuthApp();
  const newer = await createOAuthApp();

  const page = await oAuthApps.queryOAuthApps().descending('_createdDate').find();

  const dates = page.items.map((a) => time(a._createdDate));
  assert.deepEqual(dates, [...dates].sort((a, b) => b - a));
  const ids = page.items.map((a) => a._id);
  assert.ok(ids.includes(older._id) && ids.includes(newer._id), 'both apps are listed');
  if (time(newer._createdDate) > time(older._createdDate)) {
    assert.ok(ids.indexOf(newer._id) < ids.indexOf(older._id), 'newer app comes first');
  }
});

test('queryOAuthApps with limit pages the results and next() fetches the following page', async () => {
  for (let i = 0; i < 3; i++) await createOAuthApp();

  const first = await oAuthApps.queryOAuthApps().ascending('name').limit(2).find();

  assert.equal(first.items.length, 2);
  // OffsetBasedIterator.hasNext() is computed from pagingMetadata.total.
  assert.equal(first.hasNext(), true);
  const second = await first.next();
  assert.ok(second.items.length >= 1, 'second page is empty');
  const firstIds = new Set(first.items.map((a) => a._id));
  assert.ok(second.items.every((a) => !firstIds.has(a._id)), 'pages overlap');
  assert.ok(second.items[0].name >= first.items[1].name, 'second page continues the order');
});

test('updateOAuthApp changes only the fields named in the mask', async () => {
  const created = await createOAuthApp({ description: 'before' });

  const updated = await oAuthApps.updateOAuthApp(
    created._id,
    { name: uniqueName('renamed'), description: 'after' },
    ['description'],
  );

  assert.equal(updated._id, created._id);
  assert.equal(updated.description, 'after');
  assert.equal(updated.name, created.name);
  assert.equal((await oAuthApps.getOAuthApp(created._id)).description, 'after');
});

test('generateOAuthAppSecret returns a secret once and then refuses', async () => {
  const created = await createOAuthApp();

  const { oAuthAppSecret } = await oAuthApps.generateOAuthAppSecret(created._id);

  assert.ok(oAuthAppSecret, 'no secret');
  assert.equal((await oAuthApps.getOAuthApp(created._id)).allowSecretGeneration, false);
  await assert.rejects(oAuthApps.generateOAuthAppSecret(created._id));
});

test('deleteOAuthApp removes the app: getOAuthApp then fails with 404', async () => {
  const created = await createOAuthApp();

  await oAuthApps.deleteOAuthApp(created._id);

  await assert.rejects(oAuthApps.getOAuthApp(created._id), (err) => {
    assert.equal(err.status, 404, err.message);
    return true;
  });
});

test('a deleted OAuth app can no longer mint visitor tokens', async () => {
  const created = await createOAuthApp();
  await OAuthStrategy({ clientId: created._id }).generateVisitorTokens();

  await oAuthApps.deleteOAuthApp(created._id);

  await assert.rejects(
    OAuthStrategy({ clientId: created._id }).generateVisitorTokens(),
    /Failed to fetch tokens from OAuth API/,
  );
});
