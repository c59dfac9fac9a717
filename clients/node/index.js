// wix-oauth-mock for JavaScript tests: a typed client of the admin API (`/__admin/*`) and
// `startWixMock()`, which runs the binary on a free port for one suite. No dependencies: Node's own
// fetch and child_process. Types are in index.d.ts.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** An admin call answered with an unexpected status. */
export class WixMockError extends Error {
  constructor(message, { status, body } = {}) {
    super(message);
    this.name = 'WixMockError';
    this.status = status;
    this.body = body;
  }
}

/** Thrown by `assertClean()`: the conformance report has violations or failed expectations. */
export class ConformanceError extends Error {
  constructor(report, text) {
    super(`the client under test broke the Wix protocol:\n${text}`);
    this.name = 'ConformanceError';
    this.report = report;
  }
}

/** A client of one mock's admin API, optionally scoped to a namespace. */
export class WixMockAdmin {
  /**
   * @param {string | URL} url the mock's base URL, e.g. http://127.0.0.1:8787
   * @param {{ adminToken?: string, namespace?: string }} [options]
   */
  constructor(url, options = {}) {
    this.url = String(url).replace(/\/+$/, '');
    this.adminToken = options.adminToken;
    this.namespace = options.namespace;
  }

  /** The same mock, with every call in namespace `name` (its own world, clock and journal). */
  inNamespace(name) {
    return new WixMockAdmin(this.url, { adminToken: this.adminToken, namespace: name });
  }

  /** The base URL the app under test should use as Wix (the namespace's prefix included). */
  get wixBaseUrl() {
    return this.namespace ? `${this.url}/__ns/${encodeURIComponent(this.namespace)}` : this.url;
  }

  async #call(method, path, { body, query, ok, raw = false } = {}) {
    const url = new URL(this.url + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    const headers = { accept: raw ? 'text/plain' : 'application/json' };
    if (this.adminToken) headers.authorization = `Bearer ${this.adminToken}`;
    if (this.namespace) headers['x-wix-mock-namespace'] = this.namespace;
    let payload;
    if (body !== undefined) {
      headers['content-type'] = typeof body === 'string' ? 'application/yaml' : 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(url, { method, headers, body: payload });
    const text = await res.text();
    let parsed = text;
    if (!raw) {
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = text;
      }
    }
    if (ok ? !ok.includes(res.status) : !res.ok) {
      throw new WixMockError(`${method} ${path} answered ${res.status}: ${text}`, {
        status: res.status,
        body: parsed,
      });
    }
    return { status: res.status, body: parsed };
  }

  /** GET /__admin/health: `{status: "ok"}`. */
  async health() {
    return (await this.#call('GET', '/__admin/health')).body;
  }

  /** POST /__admin/reset: back to the scenario's initial state. */
  async reset() {
    return (await this.#call('POST', '/__admin/reset')).body;
  }

  /** GET /__admin/clock. */
  async clock() {
    return (await this.#call('GET', '/__admin/clock')).body;
  }

  /** Stops the virtual clock. */
  async freezeClock() {
    return (await this.#call('POST', '/__admin/clock', { body: { freeze: true } })).body;
  }

  /** Lets the virtual clock run again. */
  async resumeClock() {
    return (await this.#call('POST', '/__admin/clock', { body: { resume: true } })).body;
  }

  /** Moves the virtual clock by `seconds` (negative moves back). */
  async advanceClock(seconds) {
    return (await this.#call('POST', '/__admin/clock', { body: { advance_secs: seconds } })).body;
  }

  /** Sets the virtual clock to an instant (a Date or an RFC 3339 string). */
  async setClock(at) {
    const set = at instanceof Date ? at.toISOString() : at;
    return (await this.#call('POST', '/__admin/clock', { body: { set } })).body;
  }

  /** POST /__admin/tokens: a token for any identity; answers the /oauth2/token body. */
  async mintToken(request) {
    return (await this.#call('POST', '/__admin/tokens', { body: request })).body;
  }

  /** GET /__admin/state: apps, sites, instances, codes, tokens, identities, OAuth apps. */
  async state() {
    return (await this.#call('GET', '/__admin/state')).body;
  }

  /** PUT /__admin/scenario: replaces the running scenario (YAML text or an object) and resets. */
  async putScenario(scenario) {
    return (await this.#call('PUT', '/__admin/scenario', { body: scenario })).body;
  }

  /** POST /__admin/faults: arms one fault or a list; answers `{armed: [names]}`. */
  async armFaults(faults) {
    return (await this.#call('POST', '/__admin/faults', { body: faults })).body;
  }

  /** GET /__admin/faults: the armed faults with their counters. */
  async listFaults() {
    return (await this.#call('GET', '/__admin/faults')).body;
  }

  /** DELETE /__admin/faults: disarms the fault called `name`, or every fault. */
  async clearFaults(name) {
    return (await this.#call('DELETE', '/__admin/faults', { query: { name } })).body;
  }

  /** GET /__admin/requests: the journal, filtered (`path`, `method`, `status`, `since`, `fault`). */
  async requests(filter = {}) {
    return (await this.#call('GET', '/__admin/requests', { query: filter })).body;
  }

  /**
   * GET /__admin/outbox: e-mails the mock did not send (verification codes, recovery and activation
   * links), newest first; `email` filters, `wait` (ms) holds the answer until one matches.
   */
  async outbox({ email, wait } = {}) {
    return (await this.#call('GET', '/__admin/outbox', { query: { email, wait } })).body;
  }

  /** DELETE /__admin/requests: clears the journal. */
  async clearRequests() {
    return (await this.#call('DELETE', '/__admin/requests')).body;
  }

  /**
   * POST /__admin/requests/wait: resolves when `count` (default 1) matching requests are journaled;
   * throws a WixMockError saying what was seen when `timeout_ms` (default 5000) passes first.
   */
  async waitForRequests(filter = {}) {
    const { status, body } = await this.#call('POST', '/__admin/requests/wait', {
      body: filter,
      ok: [200, 408],
    });
    if (status === 408) {
      throw new WixMockError(
        `no ${JSON.stringify(filter)} request reached the mock in time: ${JSON.stringify(body)}`,
        { status, body },
      );
    }
    return body;
  }

  /** GET /__admin/conformance: violations and `expect:` results. */
  async conformance() {
    return (await this.#call('GET', '/__admin/conformance')).body;
  }

  /** Throws a ConformanceError, with the report as text, when the report did not pass. */
  async assertClean() {
    const report = await this.conformance();
    if (report.passed) return report;
    const text = (
      await this.#call('GET', '/__admin/conformance', { query: { format: 'text' }, raw: true })
    ).body;
    throw new ConformanceError(report, text);
  }
}

/**
 * Runs the wix-oauth-mock binary on a free port of 127.0.0.1 and resolves once /__admin/health
 * answers. The binary comes from `options.bin`, else WIX_OAUTH_MOCK_BIN, else `wix-oauth-mock` on PATH.
 */
export async function startWixMock(options = {}) {
  const image = options.image ?? process.env.WIX_OAUTH_MOCK_IMAGE;
  if (image && !options.bin && !process.env.WIX_OAUTH_MOCK_BIN) return startInContainer(image, options);
  const bin = options.bin ?? process.env.WIX_OAUTH_MOCK_BIN ?? 'wix-oauth-mock';
  const args = ['serve', '--port', '0', '--no-watch'];
  if (options.scenario) args.push('--scenario', options.scenario);
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  if (options.adminToken) args.push('--admin-token', options.adminToken);
  args.push(...(options.args ?? []));
  const env = { ...process.env, ...options.env };
  // The port and the address come from the arguments, not from a developer's shell.
  delete env.WIX_MOCK_PORT;
  delete env.WIX_MOCK_BIND;
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wix-oauth-mock did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      const hint =
        e.code === 'ENOENT' ? ' (set WIX_OAUTH_MOCK_BIN, or put wix-oauth-mock on PATH)' : '';
      reject(new Error(`cannot run ${bin}: ${e.message}${hint}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wix-oauth-mock exited with status ${code} before listening: ${stderr}`));
    });
    lines.on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  child.removeAllListeners('exit');
  // Drain stdout so a chatty server never blocks on a full pipe.
  child.stdout.resume();
  const admin = new WixMockAdmin(url, { adminToken: options.adminToken });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await admin.health();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`wix-oauth-mock at ${url} never answered /__admin/health: ${e.message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const mock = { url, admin, process: child, stop };
  // `await using mock = await startWixMock()` where the runtime has explicit resource management.
  if (Symbol.asyncDispose) mock[Symbol.asyncDispose] = stop;
  return mock;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released before the mock binds it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `startWixMock({image})`: the container image through testcontainers (an optional peer dependency:
 * `npm install -D testcontainers`), on the host's network so the mock is at 127.0.0.1 like the binary
 * (and can POST webhooks to an app on the host). Ryuk is left as testcontainers configures it.
 */
async function startInContainer(image, options) {
  let tc;
  try {
    tc = await import('testcontainers');
  } catch (e) {
    throw new Error(
      `startWixMock({image: ${JSON.stringify(image)}}) needs testcontainers: npm install -D testcontainers (${e.message})`,
    );
  }
  const port = await freePort();
  // On the host's network the image's 0.0.0.0 would reach every interface: loopback only.
  const args = ['serve', '--port', String(port), '--bind', '127.0.0.1', '--no-watch'];
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  if (options.adminToken) args.push('--admin-token', options.adminToken);
  args.push(...(options.args ?? []));
  let container = new tc.GenericContainer(image)
    .withNetworkMode('host')
    .withCommand(args)
    .withEnvironment(options.env ?? {})
    .withWaitStrategy(tc.Wait.forLogMessage(/listening on http:/))
    .withStartupTimeout(options.timeoutMs ?? 30_000);
  if (options.scenario) {
    container = container
      .withCopyFilesToContainer([{ source: options.scenario, target: '/data/scenario.yaml' }])
      .withCommand([...args, '--scenario', '/data/scenario.yaml']);
  }
  const started = await container.start();
  const url = `http://127.0.0.1:${port}`;
  const admin = new WixMockAdmin(url, { adminToken: options.adminToken });
  await admin.health();
  const stop = async () => {
    await started.stop();
  };
  const mock = { url, admin, process: null, container: started, stop };
  if (Symbol.asyncDispose) mock[Symbol.asyncDispose] = stop;
  return mock;
}
