/**
 * MODEL for the distributed-process tests: the keyword-choices example whose `fit` first blocks for
 * SLOW_FIT_MS (default 3000) so a test can kill or stop the process mid-job. Just before, it writes the
 * log line `slow fit: sleeping` (with jobId and projectId) straight to stdout with a synchronous write:
 * pino's asynchronous writes could stay buffered while the thread is blocked. `fit` runs in a training
 * worker thread, so blocking it never stalls the process's event loop (HTTP, BullMQ lock renewal).
 */
import fs from 'node:fs';
import type { FitContext, FitResult, TrainingAction } from '../../../src/sdk/index.js';
import KeywordChoices from '../../../models/keyword-choices/index.js';

export default class SlowKeywordChoices extends KeywordChoices {
  override fit(event: TrainingAction, data: unknown, ctx: FitContext): FitResult {
    const ms = Number(process.env.SLOW_FIT_MS ?? 3000);
    const line = { level: 30, time: new Date().toISOString(), pid: process.pid, projectId: this.projectId, jobId: ctx.jobId, ms, msg: 'slow fit: sleeping' };
    fs.writeSync(1, `${JSON.stringify(line)}\n`);
    if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return super.fit(event, data, ctx);
  }
}
