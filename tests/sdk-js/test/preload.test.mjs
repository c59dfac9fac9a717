// The fetch preload that every other file relies on (and that docs/testing.md shows
// users) is tested here on its own: a child node process loads it with
// WIX_MOCK_URL pointing at a local echo server. No mock server is needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PRELOAD = fileURLToPath(new URL('../preload.mjs', import.meta.url));

let server;
let port;

before(async () => {
  // Echoes what it received; /redirect answers 302 so redirect:'manual' can be checked.
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url.startsWith('/redirect')) {
        res.writeHead(302, { location: 'http://127.0.0.1:9/cb?code=abc' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
});

after(() => server.close());

/** Runs `script` (an ES module body) in a child node with the preload; returns its parsed stdout. */
function runWithPreload(script, baseUrl) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', PRELOAD, '--input-type=module', '-e', script],
      { env: { ...process.env, WIX_MOCK_URL: baseUrl } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

test('a string URL on www.wixapis.com keeps its path, query, method, headers and body', async () => {
  const out = await runWithPreload(`
    const res = await fetch('https://www.wixapis.com/oauth2/token?a=1&b=two', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'kept' },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    console.log(JSON.stringify(await res.json()));
  `, `http://127.0.0.1:${port}`);
  assert.equal(out.method, 'POST');
  assert.equal(out.url, '/oauth2/token?a=1&b=two');
  assert.equal(out.headers.host, `127.0.0.1:${port}`);
  assert.equal(out.headers['x-custom'], 'kept');
  assert.equal(out.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(out.body), { grant_type: 'client_credentials' });
});

test('a URL object on edge.wixapis.com is rewritten', async () => {
  const out = await runWithPreload(`
    const res = await fetch(new URL('https://edge.wixapis.com/oauth-app/v1/oauth-apps/x?oAuthAppId=x'));
    console.log(JSON.stringify(await res.json()));
  `, `http://127.0.0.1:${port}`);
  assert.equal(out.method, 'GET');
  assert.equal(out.url, '/oauth-app/v1/oauth-apps/x?oAuthAppId=x');
});

test('a Request object on www.wix.com keeps its method, headers and body', async () => {
  const out = await runWithPreload(`
    const req = new Request('https://www.wix.com/installer/install?appId=a&state=s', {
      method: 'PUT', headers: { authorization: 'tok-1' }, body: 'hello',
    });
    const res = await fetch(req);
    console.log(JSON.stringify(await res.json()));
  `, `http://127.0.0.1:${port}`);
  assert.equal(out.method, 'PUT');
  assert.equal(out.url, '/installer/install?appId=a&state=s');
  assert.equal(out.headers.authorization, 'tok-1');
  assert.equal(out.body, 'hello');
});

test('redirect manual still returns the 302 and its Location', async () => {
  const out = await runWithPreload(`
    const res = await fetch('https://www.wix.com/redirect?x=1', { redirect: 'manual' });
    console.log(JSON.stringify({ status: res.status, location: res.headers.get('location') }));
  `, `http://127.0.0.1:${port}`);
  assert.deepEqual(out, { status: 302, location: 'http://127.0.0.1:9/cb?code=abc' });
});

test('a base URL with a path prefix keeps the prefix', async () => {
  const out = await runWithPreload(`
    const res = await fetch('https://www.wixapis.com/oauth/access');
    console.log(JSON.stringify(await res.json()));
  `, `http://127.0.0.1:${port}/mock/`);
  assert.equal(out.url, '/mock/oauth/access');
});

test('other hosts are not rewritten', async () => {
  const out = await runWithPreload(`
    const res = await fetch('http://localhost:${port}/direct?q=1');
    console.log(JSON.stringify(await res.json()));
  `, `http://127.0.0.1:${port}`);
  assert.equal(out.url, '/direct?q=1');
  assert.equal(out.headers.host, `localhost:${port}`);
});
