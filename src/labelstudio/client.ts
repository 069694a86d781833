/**
 * A small client for the parts of the Label Studio REST API this backend needs: fetching a project's
 * labeled tasks for training (docs/protocol.md, Training data from Label Studio). It reproduces the
 * SDK's `get_labeled_tasks()` wire behaviour (paged `GET /api/tasks` with the "completed_at is not
 * empty" filter, stop at the 404 past the last page)
 * and validates only the fields the trainers use, letting everything else through untouched.
 *
 * Security: the token is only ever sent to the configured Label Studio origin (redirects elsewhere are
 * refused, not followed), and error messages are built without it (and scrubbed of it as a last resort).
 */
import { z } from 'zod';
import { authorizationHeader, isJwt, isLabelStudioOrigin, redactSecret, networkReason } from './auth.js';

// ---------------------------------------------------------------------------------------------------------
// Schemas: what we rely on in a task, everything else passes through.

const userRefSchema = z.union([z.number().int(), z.looseObject({ id: z.number().int() })]);

/** One annotation as returned inside a task by `GET /api/tasks?fields=all`. */
export const annotationSchema = z.looseObject({
  id: z.number().int(),
  // Result items are region/choice/relation objects whose shape depends on the control tag.
  result: z
    .array(z.looseObject({}))
    .nullable()
    .transform((r) => r ?? []),
  was_cancelled: z.boolean().default(false),
  ground_truth: z.boolean().default(false),
  created_at: z.string(),
  updated_at: z.string().nullish(),
  // An id, or an expanded user object, depending on the Label Studio version.
  completed_by: userRefSchema.nullish(),
});

/** A task with its annotations, as returned by `GET /api/tasks?fields=all`. */
export const labeledTaskSchema = z.looseObject({
  id: z.number().int(),
  data: z.record(z.string(), z.unknown()),
  annotations: z.array(annotationSchema).default([]),
});

export type TaskAnnotation = z.infer<typeof annotationSchema>;
export type LabeledTask = z.infer<typeof labeledTaskSchema>;

/** Both response shapes seen in the wild: `{tasks: [...], total, ...}` (current) and a bare array (old). */
const tasksPageSchema = z.union([z.array(z.unknown()), z.looseObject({ tasks: z.array(z.unknown()) })]);

/**
 * The Data Manager query the SDK sends: tasks whose `completed_at` is not empty, i.e. labeled tasks.
 * Sent as the `query` parameter (JSON).
 */
export const LABELED_TASKS_QUERY = {
  filters: {
    conjunction: 'and',
    items: [{ filter: 'filter:tasks:completed_at', operator: 'empty', value: false, type: 'Datetime' }],
  },
  ordering: [],
  selectedItems: { all: true, excluded: [] },
} as const;

// ---------------------------------------------------------------------------------------------------------
// Errors

export type LabelStudioErrorCode = 'unauthorized' | 'http' | 'network' | 'timeout' | 'redirect' | 'invalid_response';

/** Any failure talking to Label Studio. `status` is the HTTP status, or 0 when no response arrived. */
export class LabelStudioError extends Error {
  override readonly name = 'LabelStudioError';
  readonly status: number;
  readonly code: LabelStudioErrorCode;

  constructor(message: string, init: { status: number; code: LabelStudioErrorCode; cause?: unknown }) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Client

export interface LabelStudioClientOptions {
  /** Label Studio base URL, e.g. `http://label-studio:8080` (a path prefix is kept). */
  baseUrl: string;
  /** Legacy API token or JWT access token; the header scheme follows `authorizationHeader`. */
  token: string;
  /** Per-request timeout (redirects and body included). Default 30 s. */
  timeoutMs?: number;
  /** Injected fetch (defaults to the global one). */
  fetch?: typeof fetch;
}

export interface FetchLabeledTasksOptions {
  /** Tasks per page. Default 100, as the SDK. */
  pageSize?: number;
  /** Cancels the whole fetch; the signal's reason is rethrown as is. */
  signal?: AbortSignal;
  /** Called after each non-empty page with its 1-based page number (progress reporting). */
  onPage?: (page: number) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PAGE_SIZE = 100;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Response bodies quoted in error messages are cut to this length. */
const BODY_EXCERPT_CHARS = 200;

export class LabelStudioClient {
  private readonly base: URL;
  private readonly baseHref: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: LabelStudioClientOptions) {
    this.base = parseBaseUrl(options.baseUrl);
    this.baseHref = this.base.href.replace(/\/+$/, '');
    if (!options.token?.trim()) throw new TypeError('LabelStudioClient: token is required');
    this.token = options.token.trim();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /**
   * All labeled tasks of a project with their annotations, page by page until Label Studio answers 404
   * (past the last page) or an empty page. Short pages do not end the loop: Label Studio may cap
   * `page_size` below what we asked for.
   */
  async fetchLabeledTasks(projectId: number | string, options: FetchLabeledTasksOptions = {}): Promise<LabeledTask[]> {
    const project = checkProjectId(projectId);
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer`);

    const tasks: LabeledTask[] = [];
    const seen = new Set<number>();
    for (let page = 1; ; page++) {
      const items = await this.fetchTasksPage(project, page, pageSize, options.signal);
      if (items === null || items.length === 0) return tasks;
      const parsed = items.map((item, i) => parseTask(item, page, i));
      const fresh = parsed.filter((t) => !seen.has(t.id));
      // A server (or proxy) that ignores `page` would otherwise make this loop forever.
      if (fresh.length === 0) {
        throw new LabelStudioError(
          `Label Studio returned only already-received tasks for page ${page} of project ${project}; ` +
            'it seems to ignore the page parameter',
          { status: 200, code: 'invalid_response' },
        );
      }
      for (const t of fresh) seen.add(t.id);
      tasks.push(...fresh);
      options.onPage?.(page);
    }
  }

  /** One page of raw task objects, or null for the 404 that marks the end of the list. */
  private async fetchTasksPage(project: string, page: number, pageSize: number, signal?: AbortSignal) {
    const query = new URLSearchParams({
      project,
      page: String(page),
      page_size: String(pageSize),
      fields: 'all',
      query: JSON.stringify(LABELED_TASKS_QUERY),
    });
    const what = `GET /api/tasks (project ${project}, page ${page})`;
    const body = await this.getJson(`/api/tasks?${query}`, what, signal);
    if (body === null) return null;
    const shape = tasksPageSchema.safeParse(body);
    if (!shape.success) {
      throw new LabelStudioError(`${what}: expected {tasks: [...]} or an array of tasks`, {
        status: 200,
        code: 'invalid_response',
      });
    }
    return Array.isArray(shape.data) ? shape.data : shape.data.tasks;
  }

  /** GET a JSON document; null on 404. Errors become LabelStudioError, except the caller's own abort. */
  private async getJson(pathAndQuery: string, what: string, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const response = await this.getFollowingSameOriginRedirects(new URL(this.baseHref + pathAndQuery), what, combined);
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) throw await this.httpError(response, what);
      return await readJson(response, what);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.toLabelStudioError(error, what, timeout.aborted);
    }
  }

  /**
   * Follow redirects ourselves: fetch would follow them to any host, and whether it drops the
   * Authorization header on the way depends on the runtime. We only follow within Label Studio's origin.
   */
  private async getFollowingSameOriginRedirects(start: URL, what: string, signal: AbortSignal): Promise<Response> {
    const headers = { Authorization: authorizationHeader(this.token), Accept: 'application/json' };
    let url = start;
    for (let hop = 0; ; hop++) {
      const response = await this.fetchImpl(url, { headers, redirect: 'manual', signal });
      if (!REDIRECT_STATUSES.has(response.status)) return response;
      await response.body?.cancel();
      const next = redirectTarget(response, url);
      if (!next || hop >= MAX_REDIRECTS) {
        throw new LabelStudioError(`${what}: ${next ? 'too many redirects' : 'redirect without a valid Location'}`, {
          status: response.status,
          code: 'redirect',
        });
      }
      if (!isLabelStudioOrigin(next, this.base)) {
        throw new LabelStudioError(
          `${what}: Label Studio redirected to another origin (${next.origin}); not sending the token there. ` +
            'Check that LABEL_STUDIO_URL is the address Label Studio is served from',
          { status: response.status, code: 'redirect' },
        );
      }
      url = next;
    }
  }

  private async httpError(response: Response, what: string): Promise<LabelStudioError> {
    const excerpt = await readExcerpt(response);
    if (response.status === 401 || response.status === 403) {
      return new LabelStudioError(this.scrub(`${what}: Label Studio refused the token (HTTP ${response.status}). ${this.tokenHint()}`), {
        status: response.status,
        code: 'unauthorized',
      });
    }
    const detail = excerpt ? `: ${excerpt}` : '';
    return new LabelStudioError(this.scrub(`${what}: HTTP ${response.status}${detail}`), {
      status: response.status,
      code: 'http',
    });
  }

  private tokenHint(): string {
    const hint = 'Check LABEL_STUDIO_API_KEY';
    // Personal access tokens of newer Label Studio versions are JWT refresh tokens, which the API only
    // accepts after exchanging them for an access token; say so, since the symptom is just a 401.
    return isJwt(this.token)
      ? `${hint}; a JWT personal access token may need to be exchanged for an access token at /api/token/refresh/`
      : `${hint} (the legacy API token from Account & Settings)`;
  }

  private toLabelStudioError(error: unknown, what: string, timedOut: boolean): LabelStudioError {
    if (error instanceof LabelStudioError) return error;
    if (timedOut || (error instanceof Error && error.name === 'TimeoutError')) {
      return new LabelStudioError(`${what}: no answer from Label Studio within ${this.timeoutMs} ms`, {
        status: 0,
        code: 'timeout',
      });
    }
    const reason = networkReason(error);
    return new LabelStudioError(this.scrub(`${what}: cannot reach Label Studio at ${this.base.origin} (${reason})`), {
      status: 0,
      code: 'network',
      cause: error,
    });
  }

  private scrub(message: string): string {
    return redactSecret(message, this.token);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`LabelStudioClient: baseUrl is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`LabelStudioClient: baseUrl must be http(s), got ${url.protocol}`);
  }
  url.search = '';
  url.hash = '';
  return url;
}

function checkProjectId(projectId: number | string): string {
  const id = String(projectId).trim();
  if (!/^\d+$/.test(id)) throw new RangeError(`project id must be a positive integer, got ${JSON.stringify(projectId)}`);
  return id;
}

function parseTask(item: unknown, page: number, index: number): LabeledTask {
  const result = labeledTaskSchema.safeParse(item);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'task';
  throw new LabelStudioError(
    `unexpected task shape on page ${page}, item ${index}: ${where}: ${issue?.message ?? 'invalid'}`,
    { status: 200, code: 'invalid_response' },
  );
}

async function readJson(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new LabelStudioError(`${what}: response is not JSON`, { status: response.status, code: 'invalid_response' });
  }
}

/** The start of an error body, for the message; never fails. */
async function readExcerpt(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, ' ').trim();
    return text.length > BODY_EXCERPT_CHARS ? `${text.slice(0, BODY_EXCERPT_CHARS)}…` : text;
  } catch {
    return '';
  }
}

function redirectTarget(response: Response, from: URL): URL | null {
  const location = response.headers.get('location');
  if (!location) return null;
  try {
    return new URL(location, from);
  } catch {
    return null;
  }
}
