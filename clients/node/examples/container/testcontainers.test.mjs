// startWixMock({image}): the container image through testcontainers, on the host's network, instead of a
// binary. Needs Docker and `npm install -D testcontainers` (11.x on Node 20; 12.x needs a newer Node).
// Run by scripts/docker-smoke.sh (step 8), not by clients/node/ci.sh: CI has no Docker engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWixMock } from 'wix-oauth-mock';

test('startWixMock({image}) runs the container on the host network and stops it', async () => {
  const mock = await startWixMock({ image: process.env.IMAGE ?? 'wix-oauth-mock:smoke', seed: 7 });
  try {
    assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await mock.admin.health()).status, 'ok');
    const state = await mock.admin.state();
    assert.ok(state.apps.length >= 1);
  } finally {
    await mock.stop();
  }
  await assert.rejects(fetch(`${mock.url}/__admin/health`));
});
