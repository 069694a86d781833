/**
 * What a user of a trained backend sees, through the public API only: how long after Start Training the
 * backend answers /predict with a model trained on every annotation, how stale each project's model is,
 * and how well the final model labels texts it was never trained on.
 */
import { performance } from 'node:perf_hooks';
import { predictBody, startTraining, type ProjectCounters } from './labelstudio.js';
import type { LabelledText } from './texts.js';
import { httpJson, mapLimit, mustJson, round, sleep } from './util.js';

interface PredictAnswer {
  results: Array<{ model_version?: string; result?: Array<{ value?: { choices?: string[] } }> }>;
}

export interface ProjectStatsBody {
  changedSinceTraining?: number;
  servedVersion?: string;
  annotations?: { stored: number; usable: number; tasks: number };
  /** added with bounded staleness; whatever fields the server has are kept as they are */
  staleness?: Record<string, unknown>;
  [key: string]: unknown;
}

export async function projectStats(baseUrl: string, projects: number[]): Promise<Map<number, ProjectStatsBody>> {
  const all = await mapLimit(projects, 8, (p) => mustJson<ProjectStatsBody>(`${baseUrl}/projects/${p}/stats`));
  return new Map(projects.map((p, i) => [p, all[i]!]));
}

/** Annotations not in the served model: the server's own staleness field when it has one, else changes since training. */
export function staleAnnotations(s: ProjectStatsBody): number {
  const own = s.staleness?.annotations;
  return typeof own === 'number' ? own : (s.changedSinceTraining ?? NaN);
}

/** Seconds since the newest annotation the served model lacks (only when the server reports it). */
export function staleSeconds(s: ProjectStatsBody): number | null {
  const st = s.staleness ?? {};
  const v = st.seconds ?? st.ageSeconds ?? st.oldestSeconds ?? st.newestSeconds;
  return typeof v === 'number' ? v : null;
}

export interface FreshVersion {
  project: number;
  job: string | null;
  version: string | null;
  /** Start Training sent → its job completed (as polled) */
  jobS: number | null;
  /** Start Training sent → /predict answers with that version */
  servedS: number | null;
  error?: string;
}

/**
 * Sends START_TRAINING for every project at once, then per project waits for the job it answered with and
 * for /predict to carry that job's version. The job reads the store when it starts, after the last event,
 * so its version is trained on every annotation.
 */
export async function startTrainingAll(
  baseUrl: string,
  projects: number[],
  counters: ProjectCounters,
  probeText: string,
  timeoutMs: number,
): Promise<FreshVersion[]> {
  return mapLimit(projects, projects.length, async (project) => {
    const t0 = performance.now();
    const deadline = Date.now() + timeoutMs;
    const seconds = () => round((performance.now() - t0) / 1000, 2);
    const answered = (await mustJson<{ job: string | null }>(`${baseUrl}/webhook`, { body: startTraining(project, counters) })).job;
    if (!answered) return { project, job: answered, version: null, jobS: null, servedS: null, error: 'no job id in the answer' };
    let job = answered;
    let version: string | null = null;
    let jobS: number | null = null;
    for (;;) {
      const { status, body } = await httpJson<{ status: string; version: string | null; error: string | null; supersededBy?: string }>(`${baseUrl}/jobs/${encodeURIComponent(job)}`);
      // A request folded into a job that was already due: that job trains its data, so wait for it instead.
      if (status === 200 && body.status === 'superseded' && body.supersededBy && Date.now() <= deadline) {
        job = body.supersededBy;
        continue;
      }
      if (status === 200 && body.status === 'completed') {
        jobS = seconds();
        version = body.version ?? (await mustJson<ProjectStatsBody>(`${baseUrl}/projects/${project}/stats`)).servedVersion ?? null;
        break;
      }
      if (status === 200 && body.status === 'failed') return { project, job, version: null, jobS: null, servedS: null, error: body.error ?? 'failed' };
      if (Date.now() > deadline) return { project, job, version: null, jobS: null, servedS: null, error: `job ${status === 200 ? body.status : status} after ${timeoutMs / 1000} s` };
      await sleep(150);
    }
    for (;;) {
      const answer = await mustJson<PredictAnswer>(`${baseUrl}/predict`, { body: predictBody(project, [{ id: 1, text: probeText }]) });
      if (answer.results[0]?.model_version === version) return { project, job, version, jobS, servedS: seconds() };
      if (Date.now() > deadline) return { project, job, version, jobS, servedS: null, error: `still serving ${answer.results[0]?.model_version}` };
      await sleep(50);
    }
  });
}

export interface Accuracy {
  /** per project: share of held-out texts labelled as their label says */
  perProject: Record<string, number>;
  mean: number;
  min: number;
  versions: Record<string, string | undefined>;
}

/** /predict on held-out texts for every project, 100 tasks a request (as Label Studio batches). */
export async function heldOutAccuracy(baseUrl: string, projects: number[], heldOut: LabelledText[]): Promise<Accuracy> {
  const perProject: Record<string, number> = {};
  const versions: Record<string, string | undefined> = {};
  await mapLimit(projects, 4, async (project) => {
    let right = 0;
    for (let start = 0; start < heldOut.length; start += 100) {
      const batch = heldOut.slice(start, start + 100);
      const answer = await mustJson<PredictAnswer>(`${baseUrl}/predict`, { body: predictBody(project, batch.map((t, i) => ({ id: 9_000_000 + start + i, text: t.text }))) });
      answer.results.forEach((r, i) => {
        if (r.result?.[0]?.value?.choices?.[0] === batch[i]!.choice) right++;
      });
      versions[project] = answer.results[0]?.model_version;
    }
    perProject[project] = round(right / heldOut.length, 4);
  });
  const values = Object.values(perProject);
  return { perProject, mean: round(values.reduce((s, v) => s + v, 0) / values.length, 4), min: Math.min(...values), versions };
}
