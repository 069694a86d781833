/**
 * The training thread pool hands each job a thread of its own. Two jobs asked for in the same tick, on a
 * pool with no thread yet, once shared the first thread: the first job's answer was then dropped as not
 * its own, and its promise (a BullMQ job, active for ever) never settled.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { TrainingThreadPool } from '../../../src/pipeline/training-threads.js';
import { makeTempDir } from '../../support/server.js';

const dir = makeTempDir('ls-ml-pool-');
const config = loadConfig({ MODEL_DIR: dir, MODEL: 'keyword-choices', LOG_LEVEL: 'silent', TRAIN_CONCURRENCY: '2' });
const pool = new TrainingThreadPool(config, createLogger('silent'), async () => {});
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const job = (projectId: string) => ({ id: `${projectId}.1`, projectId, event: 'START_TRAINING' as const, payload: {}, attempt: 1 });

describe('TrainingThreadPool', () => {
  it('settles every job when several start at once on a fresh pool', async () => {
    // Projects without annotations: keyword-choices refuses to train them, so each job fails with its own reason.
    const outcomes = await Promise.race([
      Promise.allSettled(['1', '2', '3'].map((p) => pool.run(job(p), () => {}))),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000)),
    ]);
    expect(outcomes).not.toBe('hung');
    expect((outcomes as PromiseSettledResult<unknown>[]).map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  }, 30_000);
});
