/**
 * Real servers for integration tests: `startTestServer()` is the test kit's server launcher
 * (src/testing/server.ts: HTTP on 127.0.0.1, random port, silent logs, a fresh temp MODEL_DIR removed on
 * `close()`) with this suite's defaults: the keyword-choices model and a 50 ms training debounce. Pass
 * `MODEL_DIR` in `env` to reuse a directory (restart tests): a directory the caller chose is never removed.
 * Tests of a model through HTTP can use the kit's `startTestBackend` (src/testing/) directly.
 *
 * `postJson` / `getJson` / `request` are thin wrappers over global fetch that always read the body,
 * as JSON when it parses and as raw text otherwise (so an HTML error page shows up as a string).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ContextOptions } from '../../src/context.js';
import { launchServer, type LaunchedServer } from '../../src/testing/server.js';

export type TestServer = LaunchedServer;

export function makeTempDir(prefix = 'ls-ml-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function startTestServer(env: Record<string, string> = {}, options?: ContextOptions): Promise<TestServer> {
  return launchServer({ MODEL: 'keyword-choices', TRAIN_DEBOUNCE_MS: '50', ...env }, options);
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the raw text ('' for an empty body). */
  body: T;
  /** The raw body text. */
  text: string;
  /** Milliseconds from sending the request to having read the whole body. */
  ms: number;
}

export async function request<T = any>(
  url: string,
  init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const started = performance.now();
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers,
    body: init.body,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: unknown = text;
  try {
    body = text === '' ? text : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body: body as T, text, ms };
}

/** POST `body` as JSON (a string is sent as is, so tests can send broken JSON). */
export function postJson<T = any>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  return request<T>(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function putJson<T = any>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  return request<T>(url, {
    method: 'PUT',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  return request<T>(url, { headers });
}

export function basicAuthHeader(user: string, pass: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

/** Every path (relative, sorted) under `dir`, directories with a trailing slash. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out.push(`${rel}/`);
        walk(full);
      } else out.push(rel);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}
