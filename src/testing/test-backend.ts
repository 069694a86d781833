/**
 * `startTestBackend`: the whole backend on 127.0.0.1 and a free port (embedded mode, temp MODEL_DIR removed
 * on close), and a client that calls it the way Label Studio does, with Label Studio-shaped bodies:
 *
 *   const backend = await startTestBackend({ model: MyModel });
 *   await backend.setup(labelConfig);                                  // project 1 unless told otherwise
 *   await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }));
 *   const job = await backend.waitForJob(await backend.train(1));      // job.status: 'completed' | 'failed'
 *   const [prediction] = await backend.predict([{ data: { text: 'great' } }]);
 *   await backend.close();
 *
 * Credentials travel as Label Studio sends them: with BASIC_AUTH_USER/PASS in `env`, `/setup`, `/predict` and
 * START_TRAINING carry basic auth and other webhooks do not; with WEBHOOK_SECRET, webhooks carry the header.
 * A model given as a class trains in the server's own process (a thread can only load a model by name or
 * path); given as a name or path, it trains in worker threads as in production.
 */
import type { ModelClass } from '../sdk/model.js';
import type { JobRecord } from '../store/types.js';
import type { Json } from '../util/json.js';
import { labelStudio, type LabelStudioProject, type PredictOptions } from './labelstudio.js';
import { onePerTask, type TestPrediction } from './predictions.js';
import { launchServer, type LaunchedServer } from './server.js';
import type { TaskInput } from './test-model.js';

export interface TestBackendOptions {
  /** A `Model` subclass, or what MODEL accepts: a built-in model's name or the path of a model file. */
  model: ModelClass | string;
  /** Environment variables of the server (README, Configuration); MODEL_DIR defaults to a temp dir. */
  env?: Record<string, string>;
}

export interface BackendSetupOptions {
  /** Label Studio project id; default 1. */
  projectId?: number;
  extraParams?: Json;
  /** Label Studio's URL and token, for a backend that should call Label Studio back (e.g. a fake one). */
  hostname?: string;
  accessToken?: string;
}

export interface BackendPredictOptions {
  projectId?: number;
  context?: PredictOptions['context'];
}

export type WebhookAnswer = { status: 'ok'; job: string | null } | { status: 'Unknown event' };

export interface TestBackend {
  url: string;
  /** The server's data directory (SQLite state, artifacts); a temp dir unless `env.MODEL_DIR` names one. */
  modelDir: string;
  /** `POST /setup` for a project with this label config; resolves to what Label Studio reads back. */
  setup(labelConfig: string, options?: BackendSetupOptions): Promise<{ model_version: string }>;
  /** `POST /predict` for tasks of a project set up before; one prediction per task. */
  predict(tasks: TaskInput[], options?: BackendPredictOptions): Promise<TestPrediction[]>;
  /** `POST /webhook` with any event (build it with `labelStudio.*`). */
  webhook(payload: unknown): Promise<WebhookAnswer>;
  /** The Start Training button: a START_TRAINING webhook; resolves to the training job's id. */
  train(projectId?: number): Promise<string>;
  /** Polls `GET /jobs/:id` until the job completed or failed (default timeout 30 s) and returns its record. */
  waitForJob(jobId: string, timeoutMs?: number): Promise<JobRecord>;
  close(): Promise<void>;
}

/** A call the backend answered with an error status; `body` is its JSON error (`{ error, message, details? }`). */
export class TestBackendError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const message = typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : JSON.stringify(body);
    super(`${what} answered ${status}: ${message}`);
    this.name = 'TestBackendError';
  }
}

const DEFAULT_PROJECT = 1;

export async function startTestBackend(options: TestBackendOptions): Promise<TestBackend> {
  const byName = typeof options.model === 'string';
  const server = await launchServer(
    { TRAIN_DEBOUNCE_MS: '0', ...(byName ? { MODEL: options.model as string } : {}), ...options.env },
    byName ? {} : { ModelClass: options.model as ModelClass },
  );
  return new HttpTestBackend(server, options.env ?? {});
}

class HttpTestBackend implements TestBackend {
  readonly url: string;
  readonly modelDir: string;
  private readonly projects = new Map<number, LabelStudioProject>();
  private readonly basicAuth: Record<string, string>;
  private readonly secret: Record<string, string>;

  constructor(
    private readonly server: LaunchedServer,
    env: Record<string, string>,
  ) {
    this.url = server.url;
    this.modelDir = server.modelDir;
    const { BASIC_AUTH_USER: user, BASIC_AUTH_PASS: pass, WEBHOOK_SECRET: secret } = env;
    this.basicAuth = user && pass ? { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } : {};
    this.secret = secret ? { 'x-webhook-secret': secret } : {};
  }

  async setup(labelConfig: string, options: BackendSetupOptions = {}): Promise<{ model_version: string }> {
    const project = labelStudio.project({ id: options.projectId ?? DEFAULT_PROJECT, labelConfig });
    const body = labelStudio.setupRequest({ project, hostname: options.hostname, accessToken: options.accessToken, extraParams: options.extraParams });
    const answer = await this.call<{ model_version: string }>('POST', '/setup', body, this.basicAuth);
    this.projects.set(project.id, project);
    return answer;
  }

  async predict(tasks: TaskInput[], options: BackendPredictOptions = {}): Promise<TestPrediction[]> {
    const project = this.project(options.projectId);
    const body = labelStudio.predictRequest({ project, tasks, context: options.context });
    const { results } = await this.call<{ results: TestPrediction[] }>('POST', '/predict', body, this.basicAuth);
    return onePerTask(results, '');
  }

  webhook(payload: unknown): Promise<WebhookAnswer> {
    // Label Studio's Start Training call carries the model's basic auth; its event webhook carries none.
    const training = typeof payload === 'object' && payload !== null && (payload as { action?: unknown }).action === 'START_TRAINING';
    return this.call<WebhookAnswer>('POST', '/webhook', payload, { ...this.secret, ...(training ? this.basicAuth : {}) });
  }

  async train(projectId?: number): Promise<string> {
    const answer = await this.webhook(labelStudio.startTraining({ project: this.project(projectId) }));
    if (!('job' in answer) || answer.job === null) throw new Error(`START_TRAINING was not turned into a job: ${JSON.stringify(answer)}`);
    return answer.job;
  }

  async waitForJob(jobId: string, timeoutMs = 30_000): Promise<JobRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.call<JobRecord>('GET', `/jobs/${encodeURIComponent(jobId)}`, undefined, this.basicAuth);
      if (job.status === 'completed' || job.status === 'failed') return job;
      // Folded into a newer request before it ran: the job that trains its data is the one to wait for.
      if (job.status === 'superseded' && job.supersededBy) {
        jobId = job.supersededBy;
        continue;
      }
      if (Date.now() > deadline) throw new Error(`training job ${jobId} did not finish within ${timeoutMs} ms (status ${job.status}, progress ${job.progress})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private project(projectId = DEFAULT_PROJECT): LabelStudioProject {
    const project = this.projects.get(projectId);
    // Label Studio always sets a project up before it predicts or trains; so must a test.
    if (!project) throw new Error(`project ${projectId} is not set up: call setup(labelConfig, { projectId: ${projectId} }) first`);
    return project;
  }

  private async call<T>(method: 'GET' | 'POST', route: string, body: unknown, headers: Record<string, string>): Promise<T> {
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error
    }
    if (!res.ok) throw new TestBackendError(res.status, parsed, `${method} ${route}`);
    return parsed as T;
  }
}
