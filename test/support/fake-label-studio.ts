/**
 * A fake Label Studio for tests: real HTTP on 127.0.0.1, random ports, no mocks of fetch.
 *
 *   const ls = await startFakeLabelStudio({
 *     token: 'secret-token',                       // accepted as `Token <t>` or `Bearer <t>`; default 'test-token'
 *     tasks: { 7: [{ id: 1, data: {...}, annotations: [...] }, ...] },   // per project id, served as given
 *     files: {
 *       '/data/upload/7/a.txt': 'hello',          // also 'upload/7/a.txt' or '/storage-data/uploaded/?filepath=upload/7/a.txt'
 *       '/data/local-files/?d=dir/b.txt': 'b',     // also '/data/local-files?d=dir/b.txt'
 *       's3://bucket/c.txt': 'c',                   // presign → 302 → the fake bucket (ls.bucketUrl)
 *       '/static/d.txt': 'd',                       // any other path: served as is, no auth
 *     },
 *   });
 *   ... ls.url, ls.requests, ls.bucketRequests ...
 *   await ls.close();
 *
 * Routes (all except "other paths" and the bucket require the token, else 401 like Label Studio):
 * - `GET /api/tasks?project=&page=&page_size=&query=` — Label Studio's paging: page_size defaults to 100
 *   (capped by `maxPageSize`), page 1 of an empty list is an empty page, any page past the last (or a page
 *   that is not a positive integer) is a 404 (`pastLastPage: 'empty'` answers an empty page instead).
 *   When `query` carries the `filter:tasks:completed_at` / `empty: false` filter, only tasks with at least
 *   one annotation are returned (what "labeled" means here). Body `{tasks, total, total_annotations,
 *   total_predictions}` or, with `responseShape: 'array'`, a bare array. `ignorePaging` always serves page 1.
 * - `GET /data/upload/<path>` and `GET /storage-data/uploaded/?filepath=upload/<path>` (the latter 404s
 *   with `storageProxy: false`, like Label Studio versions without the proxy).
 * - `GET /data/local-files?d=<path>` → 301 to `/data/local-files/?d=<path>` (Django's APPEND_SLASH), which serves it.
 * - `GET /tasks/<id>/presign/?fileuri=<base64url of the URI, padded>` → 302 to the bucket server; like
 *   Label Studio's `urlsafe_b64decode`, unpadded or malformed base64 finds nothing (404).
 * - Bucket (`bucketUrl`, another port = another host): serves cloud files at `/<encodeURIComponent(uri)>`,
 *   requires the presign's `X-Amz-Signature` query parameter and, like S3, answers 400 to a request that
 *   also carries an `Authorization` header.
 * - `redirects`: exact `path?query` → 302 Location, checked before everything else (no auth).
 * - `fail`: `/api/tasks` answers `status` (default 500, body `body`) once `afterPages` pages were served.
 * - `delayMs`: every response of the Label Studio server waits that long (timeout tests).
 * - `omitContentLength`: files are sent chunked, without Content-Length (size-cap tests).
 *
 * `startRecordingServer({ files, redirects, redirectPrefix })` is a plain second host (files by exact
 * `path?query`, no auth) that records requests: a "foreign" host in SSRF tests. With `redirectPrefix`
 * it answers every request with a 302 to `redirectPrefix + path?query` (a host that moved elsewhere).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FileBody = string | Buffer;

export interface RecordedRequest {
  method: string;
  /** Path without the query string, as received (not decoded). */
  path: string;
  /** Decoded query parameters (last value wins). */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

export interface FakeLabelStudioOptions {
  token?: string;
  tasks?: Record<string | number, unknown[]>;
  maxPageSize?: number;
  pastLastPage?: '404' | 'empty';
  responseShape?: 'object' | 'array';
  ignorePaging?: boolean;
  fail?: { status?: number; afterPages?: number; body?: string };
  files?: Record<string, FileBody>;
  redirects?: Record<string, string>;
  storageProxy?: boolean;
  delayMs?: number;
  omitContentLength?: boolean;
}

export interface FakeLabelStudio {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  requests: RecordedRequest[];
  /** The fake bucket presign redirects to. */
  bucketUrl: string;
  bucketHost: string;
  bucketRequests: RecordedRequest[];
  /** Number of `/api/tasks` pages served with 200. */
  pagesServed(): number;
  close(): Promise<void>;
}

export interface RecordingServer {
  url: string;
  host: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const DEFAULT_TOKEN = 'test-token';
const LS_DEFAULT_PAGE_SIZE = 100;
const FAKE_SIGNATURE = 'fake-signature';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

// ---------------------------------------------------------------------------------------------------------
// Fake Label Studio

export async function startFakeLabelStudio(options: FakeLabelStudioOptions = {}): Promise<FakeLabelStudio> {
  const token = options.token ?? DEFAULT_TOKEN;
  const files = canonicalFiles(options.files ?? {});
  const bucket = await listen(bucketHandler(files, options.omitContentLength ?? false));
  let pages = 0;

  const routes: Array<[RegExp, Handler]> = [
    [/^\/api\/tasks\/?$/, (_req, res, url) => {
      const failure = options.fail;
      if (failure && pages >= (failure.afterPages ?? 0)) {
        send(res, failure.status ?? 500, failure.body ?? JSON.stringify({ detail: 'Internal Server Error' }));
        return;
      }
      const page = tasksPage(options, url);
      if (page === null) return send(res, 404, JSON.stringify({ detail: 'Invalid page.' }));
      pages++;
      send(res, 200, JSON.stringify(page));
    }],
    [/^\/storage-data\/uploaded\/?$/, (_req, res, url) => {
      if (options.storageProxy === false) return send(res, 404, 'Not Found');
      serveFile(res, files, `/data/${url.searchParams.get('filepath') ?? ''}`, options.omitContentLength);
    }],
    [/^\/data\/upload\//, (_req, res, url) => serveFile(res, files, safeDecode(url.pathname), options.omitContentLength)],
    [/^\/data\/local-files$/, (_req, res, url) => redirect(res, 301, `/data/local-files/${url.search}`)],
    [/^\/data\/local-files\/$/, (_req, res, url) =>
      serveFile(res, files, `/data/local-files/?d=${url.searchParams.get('d') ?? ''}`, options.omitContentLength)],
    [/^\/tasks\/\d+\/presign\/?$/, (_req, res, url) => {
      const uri = strictBase64UrlDecode(url.searchParams.get('fileuri') ?? '');
      if (uri === null || !files.has(uri)) return send(res, 404, 'Not Found');
      redirect(res, 302, `${bucket.url}/${encodeURIComponent(uri)}?X-Amz-Signature=${FAKE_SIGNATURE}`);
    }],
  ];

  const handler: Handler = (req, res, url) => {
    const redirectTo = options.redirects?.[url.pathname + url.search];
    if (redirectTo !== undefined) return redirect(res, 302, redirectTo);
    const route = routes.find(([pattern]) => pattern.test(url.pathname));
    if (!route) {
      // "Other paths": static-like files served without auth.
      return serveFile(res, files, url.pathname + url.search, options.omitContentLength);
    }
    if (!isAuthorized(req.headers.authorization, token)) {
      const detail = req.headers.authorization ? 'Invalid token.' : 'Authentication credentials were not provided.';
      return send(res, 401, JSON.stringify({ detail }));
    }
    route[1](req, res, url);
  };

  const ls = await listen(handler, options.delayMs ?? 0);
  return {
    url: ls.url,
    host: ls.host,
    requests: ls.requests,
    bucketUrl: bucket.url,
    bucketHost: bucket.host,
    bucketRequests: bucket.requests,
    pagesServed: () => pages,
    close: async () => {
      await Promise.all([ls.close(), bucket.close()]);
    },
  };
}

/** One page of tasks as Label Studio's paginator would serve it, or null for its 404. */
function tasksPage(options: FakeLabelStudioOptions, url: URL): unknown {
  const all = options.tasks?.[url.searchParams.get('project') ?? ''] ?? [];
  const tasks = hasLabeledFilter(url.searchParams.get('query')) ? all.filter(hasAnnotations) : all;
  const requested = Number(url.searchParams.get('page_size') ?? LS_DEFAULT_PAGE_SIZE);
  const size = Math.min(requested > 0 ? requested : LS_DEFAULT_PAGE_SIZE, options.maxPageSize ?? Infinity);
  const page = options.ignorePaging ? 1 : Number(url.searchParams.get('page') ?? '1');
  const lastPage = Math.max(1, Math.ceil(tasks.length / size));
  let slice: unknown[];
  if (!Number.isInteger(page) || page < 1) return null;
  if (page > lastPage) {
    if (options.pastLastPage !== 'empty') return null;
    slice = [];
  } else {
    slice = tasks.slice((page - 1) * size, page * size);
  }
  if (options.responseShape === 'array') return slice;
  return {
    tasks: slice,
    total: tasks.length,
    total_annotations: tasks.reduce<number>((n, t) => n + annotationCount(t), 0),
    total_predictions: 0,
  };
}

function hasLabeledFilter(query: string | null): boolean {
  if (!query) return false;
  try {
    const items = (JSON.parse(query) as { filters?: { items?: unknown[] } }).filters?.items ?? [];
    return items.some((item) => {
      const i = item as { filter?: unknown; operator?: unknown; value?: unknown };
      return i.filter === 'filter:tasks:completed_at' && i.operator === 'empty' && i.value === false;
    });
  } catch {
    return false;
  }
}

function annotationCount(task: unknown): number {
  const annotations = (task as { annotations?: unknown } | null)?.annotations;
  return Array.isArray(annotations) ? annotations.length : 0;
}

function hasAnnotations(task: unknown): boolean {
  return annotationCount(task) > 0;
}

function isAuthorized(header: string | undefined, token: string): boolean {
  return header === `Token ${token}` || header === `Bearer ${token}`;
}

/** Like S3 with a presigned URL: a signature is required and a second credential is an error. */
function bucketHandler(files: Map<string, Buffer>, omitContentLength: boolean): Handler {
  return (req, res, url) => {
    if (!url.searchParams.get('X-Amz-Signature')) return send(res, 403, 'AccessDenied');
    if (req.headers.authorization) return send(res, 400, 'InvalidArgument: Only one auth mechanism allowed');
    const uri = safeDecode(url.pathname.slice(1));
    if (!/^[a-z0-9-]+:\/\//.test(uri)) return send(res, 404, 'NoSuchKey');
    serveFile(res, files, uri, omitContentLength);
  };
}

/**
 * Keys accepted in `files`, mapped to the one form the routes look up: uploads as `/data/upload/…`,
 * local files as `/data/local-files/?d=…`, everything else as given.
 */
function canonicalFiles(files: Record<string, FileBody>): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (const [key, body] of Object.entries(files)) map.set(canonicalKey(key), Buffer.from(body));
  return map;
}

function canonicalKey(key: string): string {
  if (key.startsWith('upload/')) return `/data/${key}`;
  if (key.startsWith('/upload/')) return `/data${key}`;
  const proxy = /^\/storage-data\/uploaded\/?\?filepath=(.*)$/.exec(key);
  if (proxy) return `/data/${safeDecode(proxy[1]!)}`;
  const local = /^\/data\/local-files\/?\?d=(.*)$/.exec(key);
  if (local) return `/data/local-files/?d=${safeDecode(local[1]!)}`;
  return key;
}

/** Python's urlsafe_b64decode: the padding must be right, and the alphabet is `-_`. */
function strictBase64UrlDecode(value: string): string | null {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9_-]*={0,2}$/.test(value)) return null;
  const decoded = Buffer.from(value, 'base64url').toString('utf8');
  const reencoded = Buffer.from(decoded, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return reencoded === value ? decoded : null;
}

// ---------------------------------------------------------------------------------------------------------
// A plain second host

export interface RecordingServerOptions {
  files?: Record<string, FileBody>;
  redirects?: Record<string, string>;
  redirectPrefix?: string;
}

export async function startRecordingServer(options: RecordingServerOptions = {}): Promise<RecordingServer> {
  const files = new Map(Object.entries(options.files ?? {}).map(([k, v]) => [k, Buffer.from(v)] as const));
  return listen((_req, res, url) => {
    if (options.redirectPrefix !== undefined) return redirect(res, 302, options.redirectPrefix + url.pathname + url.search);
    const target = options.redirects?.[url.pathname + url.search];
    if (target !== undefined) return redirect(res, 302, target);
    serveFile(res, files, url.pathname + url.search, false);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Plumbing

async function listen(handler: Handler, delayMs = 0): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    requests.push({
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
    });
    const run = () => {
      try {
        handler(req, res, url);
      } catch (error) {
        send(res, 500, String(error));
      }
    };
    if (delayMs <= 0) return run();
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveFile(res: ServerResponse, files: Map<string, Buffer>, key: string, omitContentLength = false): void {
  const body = files.get(key);
  if (!body) return send(res, 404, 'Not Found');
  if (!omitContentLength) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
    return;
  }
  // Chunked: the client only learns the size by reading.
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  const chunk = 64 * 1024;
  for (let offset = 0; offset < body.length; offset += chunk) res.write(body.subarray(offset, offset + chunk));
  res.end();
}

function send(res: ServerResponse, status: number, body: string): void {
  const isJson = body.startsWith('{') || body.startsWith('[');
  res.writeHead(status, { 'Content-Type': isJson ? 'application/json' : 'text/plain' });
  res.end(body);
}

function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { Location: location });
  res.end();
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
