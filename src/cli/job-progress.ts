/**
 * How `train --wait` shows a job: on a terminal a progress bar redrawn in place; otherwise (CI, a pipe)
 * one plain line per change, so logs stay readable.
 */
export interface JobView {
  id: string;
  status: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'superseded';
  supersededBy?: string;
  attempts: number;
  progress: number;
  error: string | null;
  version: string | null;
  durationMs: number | null;
  result?: { metrics?: Record<string, unknown>; note?: string } | null;
}

export interface JobReporter {
  update(job: JobView): void;
  finish(job: JobView): void;
}

const BAR_WIDTH = 30;

export function jobReporter(out: NodeJS.WriteStream): JobReporter {
  const tty = out.isTTY === true;
  let last = '';
  return {
    update(job) {
      const line = tty ? `${bar(job.progress)} ${describe(job)}` : describe(job);
      if (line === last) return;
      last = line;
      out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    finish(job) {
      if (tty) out.write('\n');
      out.write(`${summary(job)}\n`);
    },
  };
}

function bar(progress: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, progress)) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
}

function describe(job: JobView): string {
  const percent = `${Math.round(Math.min(1, Math.max(0, job.progress)) * 100)}%`;
  const attempt = job.attempts > 1 ? `, attempt ${job.attempts}` : '';
  // A delayed job without an error waits out the debounce (newer requests restart it); with one, a retry's backoff.
  const retrying = job.status === 'delayed' && job.error ? ` (retrying after: ${job.error})` : '';
  const status = job.status === 'delayed' && !job.error ? 'waiting' : job.status;
  return `job ${job.id}: ${status} ${percent}${attempt}${retrying}`;
}

function summary(job: JobView): string {
  const took = job.durationMs === null ? '' : ` in ${job.durationMs < 1000 ? `${job.durationMs} ms` : `${(job.durationMs / 1000).toFixed(1)} s`}`;
  if (job.status === 'failed') return `training failed${took}: ${job.error ?? 'no reason given'}`;
  const metrics = job.result?.metrics && Object.keys(job.result.metrics).length ? `, metrics ${JSON.stringify(job.result.metrics)}` : '';
  const version = job.version ? `new version ${job.version}` : `no new version${job.result?.note ? ` (${job.result.note})` : ''}`;
  return `training completed${took}: ${version}${metrics}`;
}
