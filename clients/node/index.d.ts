// Types of wix-oauth-mock's JavaScript client. Field names are the admin API's own (snake_case where
// the mock's admin API uses it); see docs/admin-api.md in the mock's repository.

import type { ChildProcess } from 'node:child_process';

/** An admin call answered with an unexpected status. */
export class WixMockError extends Error {
  readonly status?: number;
  readonly body?: unknown;
}

/** One protocol mistake of the client under test. */
export interface Violation {
  kind: string;
  severity: 'error' | 'warning' | string;
  message: string;
  requests?: JournalEntry[];
  [key: string]: unknown;
}

/** GET /__admin/conformance. */
export interface ConformanceReport {
  passed: boolean;
  errors: number;
  warnings: number;
  violations: Violation[];
  expectations?: { name: string; passed: boolean; count: number; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** Thrown by `assertClean()`; the message is the report as text. */
export class ConformanceError extends Error {
  readonly report: ConformanceReport;
}

/** GET/POST /__admin/clock. */
export interface Clock {
  now: string;
  unix: number;
  frozen: boolean;
}

/** POST /__admin/tokens: the identity to mint a token for. */
export type MintTokenRequest =
  | { identity: 'app'; instance_id: string; ttl_secs?: number }
  | { identity: 'user'; instance_id: string; user_id: string; ttl_secs?: number }
  | { identity: 'visitor'; client_id: string; visitor_id?: string; ttl_secs?: number }
  | { identity: 'member'; client_id: string; member_id: string; ttl_secs?: number }
  | { identity: 'headless_admin'; client_id: string; ttl_secs?: number };

/** The /oauth2/token body. */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  [key: string]: unknown;
}

/** A fault as scenario files declare it (`faults:`); see scenarios/README.md. */
export interface Fault {
  name?: string;
  match?: { endpoint?: string; method?: string; path?: string; [key: string]: unknown };
  when?: Record<string, unknown>;
  effects: Record<string, unknown>[];
}

/** Filters of GET /__admin/requests. */
export interface RequestFilter {
  path?: string;
  method?: string;
  status?: number;
  since?: number | string;
  fault?: string;
}

/** One journaled request (secrets redacted). */
export interface JournalEntry {
  id: number;
  time: string;
  method: string;
  path: string;
  status: number;
  [key: string]: unknown;
}

export interface AdminOptions {
  /** The mock's --admin-token, sent as a Bearer token. */
  adminToken?: string;
  /** Every call in this namespace (X-Wix-Mock-Namespace). */
  namespace?: string;
}

/** A client of one mock's admin API, optionally scoped to a namespace. */
export class WixMockAdmin {
  constructor(url: string | URL, options?: AdminOptions);
  readonly url: string;
  readonly adminToken?: string;
  readonly namespace?: string;
  /** The base URL the app under test should use as Wix (with the namespace's /__ns/ prefix). */
  readonly wixBaseUrl: string;
  /** The same mock, with every call in namespace `name`. */
  inNamespace(name: string): WixMockAdmin;
  health(): Promise<{ status: string }>;
  reset(): Promise<unknown>;
  clock(): Promise<Clock>;
  freezeClock(): Promise<Clock>;
  resumeClock(): Promise<Clock>;
  advanceClock(seconds: number): Promise<Clock>;
  setClock(at: Date | string): Promise<Clock>;
  mintToken(request: MintTokenRequest): Promise<TokenResponse>;
  state(): Promise<Record<string, unknown>>;
  putScenario(scenario: string | Record<string, unknown>): Promise<unknown>;
  armFaults(faults: Fault | Fault[]): Promise<{ armed: string[] }>;
  listFaults(): Promise<unknown>;
  clearFaults(name?: string): Promise<unknown>;
  requests(filter?: RequestFilter): Promise<{ count: number; requests: JournalEntry[] }>;
  /** E-mails the mock did not send, newest first (verification codes, recovery links). */
  outbox(options?: { email?: string; wait?: number }): Promise<{ count: number; messages: OutboxMessage[] }>;
  clearRequests(): Promise<unknown>;
  /** Resolves when `count` matching requests are journaled; throws WixMockError at `timeout_ms`. */
  waitForRequests(
    filter?: RequestFilter & { count?: number; timeout_ms?: number },
  ): Promise<{ matched: true; [key: string]: unknown }>;
  conformance(): Promise<ConformanceReport>;
  /** Throws a ConformanceError with a readable message when the report did not pass. */
  assertClean(): Promise<ConformanceReport>;
}

export interface StartOptions {
  /** The binary; default WIX_OAUTH_MOCK_BIN, else `wix-oauth-mock` on PATH. */
  bin?: string;
  /**
   * Run this container image instead (default WIX_OAUTH_MOCK_IMAGE when no binary is named), through
   * testcontainers (`npm install -D testcontainers`) on the host's network.
   */
  image?: string;
  /** A scenario file (YAML or JSON). */
  scenario?: string;
  seed?: number;
  adminToken?: string;
  /** More `serve` arguments. */
  args?: string[];
  /** More environment variables. */
  env?: Record<string, string>;
  /** How long start-up may take (default 10 000 ms). */
  timeoutMs?: number;
}

/** A running mock. */
export interface RunningWixMock {
  /** Its base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  admin: WixMockAdmin;
  /** The child process (null when the mock runs in a container). */
  process: ChildProcess | null;
  /** The testcontainers container, when started from an image. */
  container?: unknown;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Runs the binary on a free port of 127.0.0.1 and resolves once /__admin/health answers. */
export function startWixMock(options?: StartOptions): Promise<RunningWixMock>;

/** One e-mail of the outbox (GET /__admin/outbox). */
export interface OutboxMessage {
  id: string;
  kind: 'VERIFICATION_CODE' | 'PASSWORD_RECOVERY' | 'ACTIVATION';
  to: string;
  member_id: string;
  site_id: string;
  code?: string;
  link?: string;
  created_at: string;
}
