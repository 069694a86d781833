/**
 * Access to the files a task refers to: the Python SDK's `get_local_path` / `preload_task_data`
 * (docs/protocol.md, Task files).
 *
 * Task data is user-controlled, so fetching "whatever URL a task contains" is an SSRF hole. The rules:
 * - Label Studio paths (`/data/upload/…`, `upload/…`, `/storage-data/uploaded/?filepath=…`,
 *   `/data/local-files?d=…`, `/tasks/<id>/presign/?fileuri=…`) are fetched from the configured Label
 *   Studio URL, with the token.
 * - Cloud URIs (`s3://`, `gs://`, `azure-blob://`, `azure-spi://`) go through Label Studio's presign
 *   endpoint for the task, which redirects to the bucket.
 * - Absolute http(s) URLs are fetched only if their host is Label Studio's or in `allowedHosts`; every
 *   redirect is re-checked against the same rule (we follow redirects ourselves, at most 5).
 * - The token goes only to Label Studio's origin, never to a bucket or another host.
 * - Local filesystem paths and plain text are never treated as files (unlike the reference, which reads
 *   any existing path, so a task could make the backend read its own disk).
 *
 * Downloads are streamed to a temporary file with a size cap, then renamed into place (atomic), under a
 * name made of a hash of the URL and a sanitised extension: nothing from the URL becomes a path.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { authorizationHeader, isLabelStudioOrigin, redactSecret, networkReason } from './auth.js';

// ---------------------------------------------------------------------------------------------------------
// Errors

export type TaskFileErrorCode =
  | 'unsupported_url'
  | 'not_configured'
  | 'missing_task_id'
  | 'host_not_allowed'
  | 'too_many_redirects'
  | 'too_large'
  | 'unauthorized'
  | 'http'
  | 'network'
  | 'timeout';

/** A task file could not be resolved or downloaded. `status` is the HTTP status, 0 when none applies. */
export class TaskFileError extends Error {
  override readonly name = 'TaskFileError';
  readonly code: TaskFileErrorCode;
  readonly status: number;

  constructor(message: string, init: { code: TaskFileErrorCode; status?: number; cause?: unknown }) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status ?? 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// What counts as a file reference

/**
 * A file reference found in task data:
 * - `upload`: a file uploaded to Label Studio; `key` is the part after `upload/` (e.g. `3/ab12-cat.jpg`).
 * - `label-studio`: any other Label Studio path, fetched as is (`path` starts with `/`).
 * - `cloud`: a cloud storage URI, resolved through the task's presign endpoint.
 * - `http`: an absolute http(s) URL.
 */
export type TaskFileRef =
  | { kind: 'upload'; key: string }
  | { kind: 'label-studio'; path: string }
  | { kind: 'cloud'; uri: string }
  | { kind: 'http'; url: URL };

const UPLOAD_PREFIX = /^(?:\/data\/upload\/|\/?upload\/)(.+)$/;
const LABEL_STUDIO_PATHS = [
  /^\/storage-data\/uploaded\/?\?(?:.*&)?filepath=/,
  /^\/data\/local-files\/?\?(?:.*&)?d=/,
  /^\/tasks\/\d+\/presign\/?\?(?:.*&)?fileuri=/,
];
const CLOUD_URI = /^(?:s3|gs|azure-blob|azure-spi):\/\/[^/\s]+\/./;

/**
 * Classify a task-data string; null when it is not a file reference (plain text, numbers, local
 * filesystem paths such as `/home/user/a.jpg` or `c:\a.jpg`). A URL never contains whitespace, so a
 * string with any is text even if it starts like a URL.
 */
export function parseTaskFileRef(value: string): TaskFileRef | null {
  if (value === '' || /\s/.test(value)) return null;
  const upload = UPLOAD_PREFIX.exec(value);
  if (upload) return { kind: 'upload', key: upload[1]! };
  if (LABEL_STUDIO_PATHS.some((re) => re.test(value))) return { kind: 'label-studio', path: value };
  if (CLOUD_URI.test(value)) return { kind: 'cloud', uri: value };
  if (/^https?:\/\//i.test(value)) {
    try {
      return { kind: 'http', url: new URL(value) };
    } catch {
      return null;
    }
  }
  return null;
}

/** `is_preload_needed`: does this task-data value refer to a file we would download? */
export function isTaskFileUrl(value: unknown): value is string {
  return typeof value === 'string' && parseTaskFileRef(value) !== null;
}

// ---------------------------------------------------------------------------------------------------------
// Resolver

export interface TaskFileResolverOptions {
  /** Label Studio base URL; needed for Label Studio paths and cloud URIs. */
  labelStudioUrl?: string;
  /** Label Studio token; sent only to the Label Studio origin. */
  token?: string;
  /**
   * Extra hosts files may be downloaded from (buckets, CDNs). `host` matches any port, `host:port` one
   * port, `*.example.com` any subdomain, `*` any host (opt-in: disables the SSRF protection).
   */
  allowedHosts?: string[];
  /** Where downloaded files are kept; created if missing. */
  cacheDir: string;
  fetch?: typeof fetch;
  /** Largest file accepted. Default 100 MB. */
  maxBytes?: number;
  /** Per download (all redirects and the body). Default 60 s. */
  timeoutMs?: number;
}

export type PreloadMode = 'path' | 'text' | 'buffer';

export interface PreloadOptions {
  /** What replaces a file reference: its local path, its utf-8 text (default) or its bytes. */
  as?: PreloadMode;
  /** The task's id; required to resolve cloud URIs. */
  taskId?: number;
}

const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const SAFE_EXTENSION = /^\.[a-z0-9]{1,12}$/;
/**
 * Storage-proxy answers after which the legacy `/data/upload/` path is tried, as the SDK does: older
 * Label Studio has no proxy (404/405), nginx-served uploads make it answer 400, and some versions refuse
 * token auth there (401/403) while serving `/data/upload/`.
 */
const PROXY_FALLBACK_STATUSES = new Set([400, 401, 403, 404, 405]);

/** One planned download: the first URL, the cache key and where the extension comes from. */
interface DownloadPlan {
  url: URL;
  cacheKey: string;
  extensionSource: string;
  /** Tried when `url` fails with one of PROXY_FALLBACK_STATUSES. */
  fallback?: URL;
}

export class TaskFileResolver {
  private readonly labelStudio: URL | undefined;
  private readonly labelStudioHref: string | undefined;
  private readonly token: string | undefined;
  private readonly allowedHosts: string[];
  private readonly cacheDir: string;
  private readonly fetchImpl: typeof fetch;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Concurrent requests for one file share a single download. */
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(options: TaskFileResolverOptions) {
    this.labelStudio = options.labelStudioUrl ? parseHttpUrl(options.labelStudioUrl) : undefined;
    this.labelStudioHref = this.labelStudio?.href.replace(/\/+$/, '');
    this.token = options.token?.trim() || undefined;
    this.allowedHosts = (options.allowedHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean);
    this.cacheDir = path.resolve(options.cacheDir);
    this.fetchImpl = options.fetch ?? fetch;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Download (or reuse) the file `url` refers to and return its absolute path under `cacheDir`.
   * `taskId` is needed for cloud URIs, which Label Studio presigns per task.
   */
  async getLocalPath(url: string, taskId?: number): Promise<string> {
    const plan = this.plan(url, taskId);
    const target = path.join(this.cacheDir, cacheFileName(plan.cacheKey, plan.extensionSource));
    const pending = this.inFlight.get(target);
    if (pending) return pending;
    const job = this.ensureCached(plan, target, url).finally(() => this.inFlight.delete(target));
    this.inFlight.set(target, job);
    return job;
  }

  /**
   * A copy of `data` in which every file reference (see `parseTaskFileRef`) is replaced by the file's
   * text (default), path or bytes. Objects and arrays are walked; other values are kept as they are.
   * Files are fetched one at a time, to bound memory and connections per task. Rejects with the first
   * TaskFileError (e.g. a host that is not allowed) rather than passing a URL off as the file's content.
   */
  async preloadTaskData(data: unknown, options: PreloadOptions = {}): Promise<unknown> {
    const mode = options.as ?? 'text';
    const visit = async (value: unknown): Promise<unknown> => {
      if (typeof value === 'string') {
        return parseTaskFileRef(value) ? this.load(value, mode, options.taskId) : value;
      }
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (const item of value) out.push(await visit(item));
        return out;
      }
      if (isPlainObject(value)) {
        const entries: [string, unknown][] = [];
        for (const [key, item] of Object.entries(value)) entries.push([key, await visit(item)]);
        // fromEntries defines own properties, so a "__proto__" key stays data instead of a prototype.
        return Object.fromEntries(entries);
      }
      return value;
    };
    return visit(data);
  }

  private async load(url: string, mode: PreloadMode, taskId: number | undefined): Promise<string | Buffer> {
    const file = await this.getLocalPath(url, taskId);
    if (mode === 'path') return file;
    return mode === 'buffer' ? readFile(file) : readFile(file, 'utf8');
  }

  // -- planning ---------------------------------------------------------------------------------------

  private plan(url: string, taskId: number | undefined): DownloadPlan {
    const ref = parseTaskFileRef(url);
    if (!ref) {
      throw new TaskFileError(`not a Label Studio, cloud storage or http(s) URL: ${quote(url)}`, {
        code: 'unsupported_url',
      });
    }
    switch (ref.kind) {
      case 'upload':
        return this.planUpload(ref.key, url);
      case 'label-studio':
        return this.planLabelStudioPath(ref.path, url);
      case 'cloud':
        return this.planCloud(ref.uri, taskId);
      case 'http':
        this.assertAllowed(ref.url, url);
        return { url: ref.url, cacheKey: ref.url.href, extensionSource: ref.url.pathname };
    }
  }

  /**
   * Uploads are fetched through the storage proxy that current Label Studio serves for every storage
   * backend, falling back to the legacy `/data/upload/` path that older versions (and local storage) use.
   */
  private planUpload(key: string, original: string): DownloadPlan {
    const base = this.requireLabelStudio(original);
    const proxy = new URL(`${base}/storage-data/uploaded/?${new URLSearchParams({ filepath: `upload/${key}` })}`);
    return {
      url: proxy,
      fallback: new URL(`${base}/data/upload/${key}`),
      cacheKey: `${base}/data/upload/${key}`,
      extensionSource: key,
    };
  }

  private planLabelStudioPath(lsPath: string, original: string): DownloadPlan {
    const base = this.requireLabelStudio(original);
    const url = new URL(base + lsPath);
    return { url, cacheKey: url.href, extensionSource: fileNameHint(url) };
  }

  private planCloud(uri: string, taskId: number | undefined): DownloadPlan {
    const base = this.requireLabelStudio(uri);
    if (taskId === undefined || !Number.isInteger(taskId) || taskId < 0) {
      throw new TaskFileError(
        `cannot resolve ${quote(uri)}: cloud storage files are presigned per task, so a task id is required`,
        { code: 'missing_task_id' },
      );
    }
    const fileuri = Buffer.from(uri, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const url = new URL(`${base}/tasks/${taskId}/presign/?${new URLSearchParams({ fileuri })}`);
    // The object is the same whichever task points at it, so the task id is not part of the cache key.
    return { url, cacheKey: `${base} ${uri}`, extensionSource: uri };
  }

  /** Label Studio's base URL (no trailing slash); relative paths and cloud URIs cannot be resolved without it and a token. */
  private requireLabelStudio(original: string): string {
    if (!this.labelStudioHref) {
      throw new TaskFileError(`cannot resolve ${quote(original)}: LABEL_STUDIO_URL is not configured`, {
        code: 'not_configured',
      });
    }
    if (!this.token) {
      throw new TaskFileError(`cannot download ${quote(original)}: LABEL_STUDIO_API_KEY is not configured`, {
        code: 'not_configured',
      });
    }
    return this.labelStudioHref;
  }

  // -- host checks ------------------------------------------------------------------------------------

  private isLabelStudio(url: URL): boolean {
    return this.labelStudio !== undefined && isLabelStudioOrigin(url, this.labelStudio);
  }

  private assertAllowed(url: URL, original: string, redirectedFrom?: URL): void {
    const httpOk = url.protocol === 'http:' || url.protocol === 'https:';
    if (httpOk && (this.isLabelStudio(url) || hostMatches(url, this.allowedHosts))) return;
    const how = redirectedFrom ? `was redirected by ${redirectedFrom.host} to` : 'points to';
    throw new TaskFileError(
      `refusing to download ${quote(original)}: it ${how} ${url.protocol}//${url.host}, which is neither ` +
        'Label Studio nor in the allowed hosts (ALLOWED_FILE_HOSTS)',
      { code: 'host_not_allowed' },
    );
  }

  // -- downloading ------------------------------------------------------------------------------------

  private async ensureCached(plan: DownloadPlan, target: string, original: string): Promise<string> {
    if (await isFile(target)) return target;
    await mkdir(this.cacheDir, { recursive: true });
    try {
      await this.download(plan.url, target, original);
    } catch (error) {
      if (!plan.fallback || !(error instanceof TaskFileError) || !PROXY_FALLBACK_STATUSES.has(error.status)) throw error;
      await this.download(plan.fallback, target, original);
    }
    return target;
  }

  /** Fetch `start` (following allowed redirects) and stream the body into `target`. */
  private async download(start: URL, target: string, original: string): Promise<void> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await this.fetchFollowingAllowedRedirects(start, original, timeout);
      await streamToFile(response, target, this.maxBytes, original);
    } catch (error) {
      throw this.toTaskFileError(error, original, timeout.aborted);
    }
  }

  private async fetchFollowingAllowedRedirects(start: URL, original: string, signal: AbortSignal): Promise<Response> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const response = await this.fetchImpl(url, { headers: this.headersFor(url), redirect: 'manual', signal });
      if (!REDIRECT_STATUSES.has(response.status)) {
        if (!response.ok) throw await this.httpError(response, url, original);
        return response;
      }
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new TaskFileError(`too many redirects while downloading ${quote(original)}`, {
          code: 'too_many_redirects',
          status: response.status,
        });
      }
      const next = redirectTarget(response, url, original);
      this.assertAllowed(next, original, url);
      url = next;
    }
  }

  /** The token goes to Label Studio only: buckets reject a second credential and other hosts must not see it. */
  private headersFor(url: URL): Record<string, string> {
    return this.token && this.isLabelStudio(url) ? { Authorization: authorizationHeader(this.token) } : {};
  }

  private async httpError(response: Response, url: URL, original: string): Promise<TaskFileError> {
    await response.body?.cancel();
    const fromLabelStudio = this.isLabelStudio(url);
    if (fromLabelStudio && (response.status === 401 || response.status === 403)) {
      return new TaskFileError(
        `Label Studio refused the token (HTTP ${response.status}) for ${quote(original)}; check LABEL_STUDIO_API_KEY`,
        { code: 'unauthorized', status: response.status },
      );
    }
    const where = fromLabelStudio ? 'Label Studio' : url.host;
    return new TaskFileError(`${where} answered HTTP ${response.status} for ${quote(original)}`, {
      code: 'http',
      status: response.status,
    });
  }

  private toTaskFileError(error: unknown, original: string, timedOut: boolean): TaskFileError {
    if (error instanceof TaskFileError) return scrubbed(error, this.token);
    if (timedOut || (error instanceof Error && error.name === 'TimeoutError')) {
      return new TaskFileError(`download of ${quote(original)} took longer than ${this.timeoutMs} ms`, {
        code: 'timeout',
      });
    }
    const message = `cannot download ${quote(original)} (${networkReason(error)})`;
    return new TaskFileError(redactSecret(message, this.token), { code: 'network', cause: error });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function parseHttpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`labelStudioUrl is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`labelStudioUrl must be http(s), got ${url.protocol}`);
  }
  url.search = '';
  url.hash = '';
  return url;
}

/** `host` = any port, `host:port` = that port, `*.example.com` = subdomains, `*` = anything. */
function hostMatches(url: URL, allowed: string[]): boolean {
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  return allowed.some((entry) => {
    if (entry === '*') return true;
    if (entry.startsWith('*.')) return hostname.endsWith(entry.slice(1));
    return entry === host || entry === hostname;
  });
}

/** The name the file has on the Label Studio side, for its extension: `d=` / `filepath=` / fileuri, else the path. */
function fileNameHint(url: URL): string {
  const named = url.searchParams.get('d') ?? url.searchParams.get('filepath');
  if (named) return named;
  const fileuri = url.searchParams.get('fileuri');
  if (fileuri) return Buffer.from(fileuri, 'base64url').toString('utf8');
  return url.pathname;
}

/** `<sha256 of the key><.ext>`: collision-free in practice, and nothing from the URL reaches the path but a vetted extension. */
function cacheFileName(cacheKey: string, extensionSource: string): string {
  const hash = createHash('sha256').update(cacheKey).digest('hex');
  return hash + safeExtension(extensionSource);
}

function safeExtension(name: string): string {
  const ext = path.posix.extname(name.split(/[?#]/)[0] ?? '').toLowerCase();
  return SAFE_EXTENSION.test(ext) ? ext : '';
}

function redirectTarget(response: Response, from: URL, original: string): URL {
  const location = response.headers.get('location');
  try {
    if (location) return new URL(location, from);
  } catch {
    // fall through
  }
  throw new TaskFileError(`redirect without a valid Location while downloading ${quote(original)}`, {
    code: 'http',
    status: response.status,
  });
}

/**
 * Stream the body into a temporary file next to `target`, enforcing `maxBytes` as bytes arrive
 * (Content-Length may be absent or wrong), then rename: readers never see a partial file.
 */
async function streamToFile(response: Response, target: string, maxBytes: number, original: string): Promise<void> {
  const tooLarge = () =>
    new TaskFileError(`${quote(original)} is larger than the ${maxBytes}-byte limit`, { code: 'too_large' });
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const temp = `${target}.${randomUUID()}.part`;
  const handle = await open(temp, 'wx');
  let closed = false;
  try {
    let written = 0;
    if (response.body) {
      for await (const chunk of response.body) {
        written += chunk.byteLength;
        if (written > maxBytes) throw tooLarge(); // leaving the loop cancels the body
        await handle.write(chunk);
      }
    }
    await handle.close();
    closed = true;
    await rename(temp, target);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The task-data string for messages, shortened: it is the user's own input, never a presigned URL. */
function quote(value: string): string {
  const short = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return JSON.stringify(short);
}

function scrubbed(error: TaskFileError, token: string | undefined): TaskFileError {
  const message = redactSecret(error.message, token);
  if (message === error.message) return error;
  return new TaskFileError(message, { code: error.code, status: error.status, cause: error.cause });
}
