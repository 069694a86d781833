/**
 * `ls-ml-backend train <project id>`: asks a running backend to train a project, exactly as Label Studio's
 * Start Training button does (`POST /projects/:id/train`); with `--wait` it follows the job
 * (`GET /jobs/:id`) until it ends and exits non-zero when the training failed.
 */
import type { Command } from 'commander';
import { StartupError } from '../util/startup-error.js';
import { guarded } from './fail.js';
import { jobReporter, type JobView } from './job-progress.js';

export const DEFAULT_BACKEND_URL = 'http://localhost:9090';
const POLL_MS = 500;
export const EXIT_TRAINING_FAILED = 1;

interface TrainOptions {
  url: string;
  wait?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('start a training of a project on a running backend (as Label Studio\'s "Start Training" does)')
    .argument('<project>', 'Label Studio project id')
    .option('-u, --url <url>', 'backend URL; credentials go in it (http://user:pass@host:9090) or in BASIC_AUTH_USER/BASIC_AUTH_PASS', process.env.LS_ML_BACKEND_URL ?? DEFAULT_BACKEND_URL)
    .option('-w, --wait', 'follow the training until it ends; exit code 1 if it fails')
    .addHelpText('after', `\nThe URL defaults to $LS_ML_BACKEND_URL, else ${DEFAULT_BACKEND_URL}.`)
    .action(
      guarded(async (project: string, opts: TrainOptions) => {
        const backend = backendClient(opts.url);
        const { job } = await backend.request<{ job: string | null }>('POST', `/projects/${encodeURIComponent(project)}/train`);
        if (!job) throw new StartupError(`the backend accepted the request for project ${project} but created no job`, 'check its log');
        process.stdout.write(`training requested: project ${project}, job ${job}\n`);
        if (!opts.wait) return;
        const finished = await follow(backend, job);
        if (finished.status === 'failed') process.exitCode = EXIT_TRAINING_FAILED;
      }),
    );
}

async function follow(backend: BackendClient, jobId: string): Promise<JobView> {
  const report = jobReporter(process.stdout);
  for (;;) {
    const job = await backend.request<JobView>('GET', `/jobs/${encodeURIComponent(jobId)}`);
    // Folded into another job before it ran (distributed mode): that job trains this request's data.
    if (job.status === 'superseded' && job.supersededBy) {
      jobId = job.supersededBy;
      continue;
    }
    report.update(job);
    if (job.status === 'completed' || job.status === 'failed') {
      report.finish(job);
      return job;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

interface BackendClient {
  request<T>(method: string, path: string): Promise<T>;
}

/** fetch refuses URLs with credentials in them: they become a basic-auth header instead. */
function backendClient(rawUrl: string): BackendClient {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new StartupError(`"${rawUrl}" is not a URL`, `pass --url http://host:9090 (default ${DEFAULT_BACKEND_URL})`);
  }
  const user = url.username ? decodeURIComponent(url.username) : process.env.BASIC_AUTH_USER;
  const pass = url.password ? decodeURIComponent(url.password) : process.env.BASIC_AUTH_PASS;
  url.username = '';
  url.password = '';
  const base = url.href.replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (user) headers.authorization = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
  return {
    async request<T>(method: string, path: string): Promise<T> {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, { method, headers });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new StartupError(`cannot reach the backend at ${base} (${cause?.code ?? cause?.message ?? 'network error'})`, 'start it (`ls-ml-backend start`) or pass its address with --url or LS_ML_BACKEND_URL');
      }
      const text = await res.text();
      let body: { message?: string } | undefined;
      try {
        body = JSON.parse(text) as { message?: string };
      } catch {
        body = undefined;
      }
      if (res.status === 401) {
        throw new StartupError(`the backend at ${base} asks for credentials (401)`, 'put them in the URL (http://user:pass@host:9090) or in BASIC_AUTH_USER and BASIC_AUTH_PASS');
      }
      if (!res.ok || body === undefined) {
        const why = body?.message ?? text.trim().slice(0, 200);
        throw new StartupError(`${method} ${path} answered ${res.status}${why ? `: ${why}` : ''}`, res.status === 404 ? 'check the project or job id, and that --url points at an ls-ml-backend' : 'see the backend log');
      }
      return body as T;
    },
  };
}
