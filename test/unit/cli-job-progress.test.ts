/** `train --wait`'s display: a bar redrawn in place on a terminal, one plain line per change elsewhere. */
import { describe, expect, it } from 'vitest';
import { jobReporter, type JobView } from '../../src/cli/job-progress.js';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, write: (chunk: string) => chunks.push(chunk) } as unknown as NodeJS.WriteStream };
}

const job = (fields: Partial<JobView>): JobView => ({
  id: '4', status: 'active', attempts: 1, progress: 0, error: null, version: null, durationMs: null, result: null, ...fields,
});

describe('jobReporter', () => {
  it('redraws one line with a bar on a terminal', () => {
    const { chunks, out } = stream(true);
    const report = jobReporter(out);
    report.update(job({ progress: 0.5 }));
    report.update(job({ progress: 0.5 })); // unchanged: nothing written
    report.finish(job({ status: 'completed', progress: 1, version: 'M-v2', durationMs: 1500, result: { metrics: { accuracy: 0.9 } } }));
    expect(chunks).toEqual([`\r\x1b[2K[${'#'.repeat(15)}${'-'.repeat(15)}] job 4: active 50%`, '\n', 'training completed in 1.5 s: new version M-v2, metrics {"accuracy":0.9}\n']);
  });

  it('writes a plain line per change elsewhere, and says why a job failed or retries', () => {
    const { chunks, out } = stream(false);
    const report = jobReporter(out);
    report.update(job({ status: 'delayed' }));
    report.update(job({ status: 'delayed', attempts: 2, error: 'Redis went away' }));
    report.finish(job({ status: 'failed', attempts: 3, error: 'no usable annotations', durationMs: 40 }));
    expect(chunks.join('')).toBe(
      'job 4: waiting 0%\njob 4: delayed 0%, attempt 2 (retrying after: Redis went away)\ntraining failed in 40 ms: no usable annotations\n',
    );
  });

  it('tells a training that kept its version apart from one that published', () => {
    const { chunks, out } = stream(false);
    jobReporter(out).finish(job({ status: 'completed', progress: 1, durationMs: 12, result: { note: 'fit returned no artifact' } }));
    expect(chunks.join('')).toBe('training completed in 12 ms: no new version (fit returned no artifact)\n');
  });
});
