/** Waiting for training jobs through the public API (`GET /jobs/:id`), as an operator would. */
import { httpJson, mapLimit, sleep } from './util.js';

export interface JobView {
  id: string;
  status: string;
  durationMs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  version: string | null;
  error: string | null;
  result: Record<string, unknown> | null;
}

const TERMINAL = new Set(['completed', 'failed', 'not-found']);

/** Polls until every job is completed or failed (or the timeout passes); returns the last view of each. */
export async function waitForJobs(baseUrl: string, ids: string[], timeoutMs = 90_000, pollMs = 100): Promise<Map<string, JobView>> {
  const views = new Map<string, JobView>();
  let pending = [...ids];
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    await mapLimit(pending, 16, async (id) => {
      const { status, body } = await httpJson<JobView>(`${baseUrl}/jobs/${encodeURIComponent(id)}`);
      if (status === 200) views.set(id, body);
      // An id the server answered with but does not know: waiting will not change that.
      else if (status === 404) views.set(id, { id, status: 'not-found', durationMs: null, startedAt: null, finishedAt: null, version: null, error: JSON.stringify(body), result: null });
    });
    pending = pending.filter((id) => !TERMINAL.has(views.get(id)?.status ?? ''));
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      console.warn(`  ! ${pending.length} training job(s) still not finished after ${timeoutMs / 1000} s`);
      break;
    }
    await sleep(pollMs);
  }
  return views;
}

/** A job that actually ran (a job folded into a newer request, or superseded in BullMQ, has no duration). */
export const ran = (j: JobView | undefined) => j?.status === 'completed' && j.durationMs !== null;
