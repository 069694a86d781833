/**
 * One behaviour suite for both training queues (src/pipeline/queue.ts): `MemoryTrainingQueue` (job records
 * in SQLite under a temp dir) and `BullTrainingQueue` (real Redis, a database of this file's own). The
 * processor is a plain async function that records what it trained on and sleeps: we test the queue here,
 * not training.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { BullTrainingQueue } from '../../../src/pipeline/bull-queue.js';
import { MemoryTrainingQueue } from '../../../src/pipeline/memory-queue.js';
import type { QueueOptions, TrainingJob, TrainingOutcome, TrainingProcessor, TrainingQueue } from '../../../src/pipeline/queue.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { SqliteJobStore } from '../../../src/store/sqlite/job-store.js';
import type { JobRecord } from '../../../src/store/types.js';
import { Redis } from 'ioredis';
import { KEY_PREFIX } from '../../../src/store/redis/connection.js';
import { flushRedisDb, redisUrlForTest } from '../../support/redis.js';

type Kind = 'memory' | 'bull';

const log = createLogger('silent');
const redisUrl = redisUrlForTest();

const BASE_OPTIONS: QueueOptions = { debounceMs: 100, concurrency: 2, attempts: 3, backoffMs: 100 };

// ---------------------------------------------------------------------------------------------------------
// A recording processor

interface Run {
  projectId: string;
  jobId: string;
  attempt: number;
  seq: number;
  startedAt: number;
  endedAt: number | undefined;
}

class Recorder {
  readonly runs: Run[] = [];
  private readonly activeByProject = new Map<string, number>();
  readonly maxActiveByProject = new Map<string, number>();
  active = 0;
  maxActive = 0;

  /** Each run sleeps `sleepMs` (or until `gate` resolves), then returns version `<project>@<seq>` or throws. */
  processor(options: { sleepMs?: number; gate?: () => Promise<void>; fail?: string }): TrainingProcessor {
    return async (job: TrainingJob): Promise<TrainingOutcome> => {
      const seq = (job.payload as { seq?: number } | null)?.seq ?? -1;
      const run: Run = { projectId: job.projectId, jobId: job.id, attempt: job.attempt, seq, startedAt: Date.now(), endedAt: undefined };
      this.runs.push(run);
      const nowActive = (this.activeByProject.get(job.projectId) ?? 0) + 1;
      this.activeByProject.set(job.projectId, nowActive);
      this.maxActiveByProject.set(job.projectId, Math.max(nowActive, this.maxActiveByProject.get(job.projectId) ?? 0));
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      try {
        if (options.gate) await options.gate();
        else await sleep(options.sleepMs ?? 0);
        if (options.fail !== undefined) throw new Error(options.fail);
        return { version: `${job.projectId}@${seq}`, examples: seq, metrics: {}, sync: null, durationMs: Date.now() - run.startedAt };
      } finally {
        run.endedAt = Date.now();
        this.active--;
        this.activeByProject.set(job.projectId, (this.activeByProject.get(job.projectId) ?? 1) - 1);
      }
    };
  }

  runsOf(projectId: string): Run[] {
    return this.runs.filter((r) => r.projectId === projectId);
  }
}

/** Runs wait at a gate until the test releases them. Cleanup opens every gate for good, so a failed test cannot leave a run waiting and hang the queue's close. */
class Gate {
  private waiters: Array<() => void> = [];
  private opened = false;
  readonly wait = (): Promise<void> => (this.opened ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve)));
  release(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
  open(): void {
    this.opened = true;
    this.release();
  }
}
const gates: Gate[] = [];
function newGate(): Gate {
  const gate = new Gate();
  gates.push(gate);
  return gate;
}

// ---------------------------------------------------------------------------------------------------------
// Queue factory

interface Harness {
  queue: TrainingQueue;
  close(): Promise<void>;
}

const open: Harness[] = [];

async function makeQueue(kind: Kind, processor: TrainingProcessor, options: Partial<QueueOptions> = {}): Promise<Harness> {
  const opts = { ...BASE_OPTIONS, ...options };
  let harness: Harness;
  if (kind === 'memory') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-queue-'));
    const db = openDatabase(dir);
    const queue = new MemoryTrainingQueue(new SqliteJobStore(db), opts, log);
    harness = {
      queue,
      async close() {
        await queue.close();
        db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } else {
    await flushRedisDb(redisUrl);
    const queue = await BullTrainingQueue.open(redisUrl, opts, log);
    harness = { queue, close: () => queue.close() };
  }
  open.push(harness);
  await harness.queue.startWorker(processor);
  return harness;
}

afterEach(async () => {
  for (const gate of gates.splice(0)) gate.open();
  await Promise.all(open.splice(0).map((h) => h.close()));
});

beforeAll(async () => {
  await flushRedisDb(redisUrl);
});

afterAll(async () => {
  await flushRedisDb(redisUrl);
});

// ---------------------------------------------------------------------------------------------------------

const request = (queue: TrainingQueue, projectId: string, seq: number) =>
  queue.request({ projectId, event: 'ANNOTATION_CREATED', payload: { seq } });

/** Follows `result.supersededBy` (BullMQ's replaced ids) to the record of the job that actually ran. */
async function effectiveRecord(queue: TrainingQueue, id: string): Promise<JobRecord | undefined> {
  let record = await queue.job(id);
  for (let hop = 0; hop < 5 && record; hop++) {
    const next = (record.result as { supersededBy?: unknown } | null)?.supersededBy;
    if (typeof next !== 'string' || next === record.id) break;
    record = await queue.job(next);
  }
  return record;
}

describe.each<Kind>(['memory', 'bull'])('training queue behaviour: %s', (kind) => {
  it('collapses a burst of 1,000 requests for one project into at most 3 runs, never overlapping, the last payload trained', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ sleepMs: 150 }), { debounceMs: 200 });
    const started = Date.now();
    // 999 concurrent requests (webhooks handled in parallel), then the last one on its own.
    await Promise.all(Array.from({ length: 999 }, (_, i) => request(queue, 'burst', i + 1)));
    await request(queue, 'burst', 1000);
    const burstMs = Date.now() - started;
    expect(burstMs, 'the burst itself took too long to be a burst').toBeLessThan(2_000);

    await expect.poll(() => rec.runsOf('burst').at(-1)?.seq, { timeout: 10_000 }).toBe(1000);
    await queue.idle();
    await sleep(400); // a stray extra run would start within the debounce
    const runs = rec.runsOf('burst');
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.length).toBeLessThanOrEqual(3);
    expect(rec.maxActiveByProject.get('burst')).toBe(1);
    expect(runs.at(-1)!.seq).toBe(1000);
    expect(runs.every((r) => r.endedAt !== undefined)).toBe(true);
  });

  it('leaves no job record behind that never runs when requests for one project arrive concurrently', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ sleepMs: 50 }));
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => request(queue, 'concurrent', i + 1)));
    await expect.poll(() => rec.runsOf('concurrent').length, { timeout: 10_000 }).toBeGreaterThan(0);
    await queue.idle();
    await sleep(300);
    expect(rec.runsOf('concurrent')).toHaveLength(1);
    // Every id handed out must describe a finished job (not one stuck `delayed` forever) …
    const statuses = await Promise.all([...new Set(ids)].map(async (id) => [id, (await queue.job(id))?.status] as const));
    expect(statuses.filter(([, status]) => status !== 'completed')).toEqual([]);
    // … and the project's job list must not show phantom jobs that never ran.
    const recent = await queue.recentJobs('concurrent', 50);
    expect(recent.filter((j) => j.status !== 'completed').map((j) => [j.id, j.status])).toEqual([]);
  });

  it('runs exactly one follow-up, with the latest payload, for requests that arrive during a run', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ sleepMs: 700 }));
    await request(queue, 'follow', 1);
    await expect.poll(() => rec.runsOf('follow').length, { timeout: 5_000 }).toBe(1);
    for (let seq = 2; seq <= 21; seq++) await request(queue, 'follow', seq);
    expect(rec.runsOf('follow')[0]!.endedAt, 'the requests must arrive while the first run is still going').toBeUndefined();

    await expect.poll(() => rec.runsOf('follow').length, { timeout: 10_000 }).toBe(2);
    await queue.idle();
    await sleep(300);
    const runs = rec.runsOf('follow');
    expect(runs.map((r) => r.seq)).toEqual([1, 21]);
    expect(rec.maxActiveByProject.get('follow')).toBe(1);
    expect(runs[1]!.startedAt).toBeGreaterThanOrEqual(runs[0]!.endedAt!);
  });

  it('gives a request made during a run the id of the follow-up job, which recentJobs lists first', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ sleepMs: 400 }));
    const first = await request(queue, 'follow-id', 1);
    await expect.poll(() => rec.runsOf('follow-id').length, { timeout: 5_000 }).toBe(1);
    const during = await request(queue, 'follow-id', 2);
    await expect.poll(() => rec.runsOf('follow-id').length, { timeout: 10_000 }).toBe(2);
    await queue.idle();

    const followUp = rec.runsOf('follow-id')[1]!;
    expect(followUp.seq).toBe(2);
    // The caller of the second request asks /jobs/<during>: it must describe the run that trained its data.
    expect(during).not.toBe(first);
    expect(during).toBe(followUp.jobId);
    const record = await queue.job(during);
    expect(record).toMatchObject({ status: 'completed', version: 'follow-id@2' });
    const recent = await queue.recentJobs('follow-id', 10);
    expect(recent.map((j) => [j.id, j.version])).toEqual([
      [followUp.jobId, 'follow-id@2'],
      [first, 'follow-id@1'],
    ]);
  });

  it('runs different projects in parallel up to `concurrency`, never more', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ sleepMs: 300 }), { concurrency: 2, debounceMs: 50 });
    const projects = ['p1', 'p2', 'p3', 'p4', 'p5'];
    await Promise.all(projects.map((p, i) => request(queue, p, i + 1)));
    await expect.poll(() => rec.runs.filter((r) => r.endedAt !== undefined).length, { timeout: 10_000 }).toBe(5);
    await queue.idle();
    expect(rec.maxActive).toBe(2);
    expect(rec.runs.map((r) => r.projectId).sort()).toEqual(projects);
    for (const p of projects) expect(rec.maxActiveByProject.get(p)).toBe(1);
  });

  it('retries a failing training `attempts` times with exponential backoff, then marks it failed with the error', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ fail: 'boom: the model exploded' }), { attempts: 3, backoffMs: 100, debounceMs: 50 });
    const id = await request(queue, 'failing', 1);
    await expect.poll(async () => (await queue.job(id))?.status, { timeout: 10_000 }).toBe('failed');

    const runs = rec.runsOf('failing');
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    const gaps = runs.slice(1).map((r, i) => r.startedAt - runs[i]!.endedAt!);
    expect(gaps[0]).toBeGreaterThanOrEqual(90); // backoffMs
    expect(gaps[1]).toBeGreaterThanOrEqual(180); // backoffMs * 2
    const record = await queue.job(id);
    expect(record).toMatchObject({ id, projectId: 'failing', status: 'failed', attempts: 3, version: null });
    expect(record!.error).toContain('boom: the model exploded');
    expect(record!.finishedAt).not.toBeNull();
    expect((await queue.recentJobs('failing', 5))[0]).toMatchObject({ id, status: 'failed' });

    // It does not retry forever.
    await sleep(800);
    expect(rec.runsOf('failing')).toHaveLength(3);
  });

  it('a training that fails once and then succeeds ends completed, with no error left on the record', async () => {
    const rec = new Recorder();
    const flaky = rec.processor({ sleepMs: 10 });
    const processor: TrainingProcessor = async (job, progress) => {
      if (job.attempt === 1) {
        await flaky(job, progress).catch(() => undefined);
        throw new Error('transient: connection reset');
      }
      return flaky(job, progress);
    };
    const { queue } = await makeQueue(kind, processor, { attempts: 3, backoffMs: 100, debounceMs: 50 });
    const id = await request(queue, 'flaky', 1);
    await expect.poll(async () => (await queue.job(id))?.status, { timeout: 10_000 }).toBe('completed');
    expect(rec.runsOf('flaky').map((r) => r.attempt)).toEqual([1, 2]);
    expect(await queue.job(id)).toMatchObject({ status: 'completed', version: 'flaky@1', attempts: 2, error: null });
  });

  it('shows status transitions and the outcome version through job(id); recentJobs lists newest first', async () => {
    const rec = new Recorder();
    const gate = newGate();
    const { queue } = await makeQueue(kind, rec.processor({ gate: gate.wait }));

    const first = await request(queue, 'status', 1);
    const waiting = await queue.job(first);
    expect(waiting).toMatchObject({ id: first, projectId: 'status', event: 'ANNOTATION_CREATED', version: null, finishedAt: null });
    expect(['delayed', 'waiting']).toContain(waiting!.status);

    await expect.poll(async () => (await queue.job(first))?.status, { timeout: 5_000 }).toBe('active');
    expect((await queue.job(first))!.startedAt).not.toBeNull();
    // BullMQ marks a job active in Redis a moment before the worker calls the processor: wait for the gate.
    await expect.poll(() => rec.runsOf('status').length, { timeout: 5_000 }).toBe(1);
    gate.release();
    await expect.poll(async () => (await queue.job(first))?.status, { timeout: 5_000 }).toBe('completed');
    const done = await queue.job(first);
    expect(done).toMatchObject({ status: 'completed', version: 'status@1', error: null });
    expect(done!.finishedAt).not.toBeNull();
    expect(done!.result).toMatchObject({ version: 'status@1' });

    const second = await request(queue, 'status', 2);
    expect(second).not.toBe(first);
    await expect.poll(() => rec.runsOf('status').length, { timeout: 5_000 }).toBe(2);
    gate.release();
    await expect.poll(async () => (await queue.job(second))?.status, { timeout: 5_000 }).toBe('completed');
    const recent = await queue.recentJobs('status', 10);
    expect(recent.map((j) => [j.id, j.status, j.version])).toEqual([
      [second, 'completed', 'status@2'],
      [first, 'completed', 'status@1'],
    ]);
    expect(await queue.recentJobs('status', 1)).toHaveLength(1);
    expect(await queue.job('no-such-job')).toBeUndefined();
  });

  it('every id handed out ends completed when many projects compete for few slots (none stranded)', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue(kind, rec.processor({ sleepMs: 150 }), { debounceMs: 300, concurrency: 2 });
    const ids: string[] = [];
    let seq = 0;
    const deadline = Date.now() + 4_000;
    // 30 projects, each asking for a training every 0.3–1.2 s, while runs of 150 ms share 2 slots: due
    // projects queue for a slot, and requests keep re-arming projects already waiting for one.
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        while (Date.now() < deadline) {
          await sleep(300 + Math.floor(Math.random() * 900));
          ids.push(await request(queue, `busy-${i}`, ++seq));
        }
      }),
    );
    await Promise.race([queue.idle(), sleep(20_000)]);
    const statuses = await Promise.all(ids.map(async (id) => [id, (await effectiveRecord(queue, id))?.status]));
    expect(statuses.filter(([, status]) => status !== 'completed')).toEqual([]);
    expect(rec.maxActive).toBeLessThanOrEqual(2);
  });

  it('does not report an id folded into a newer request as completed before that request has been trained', async () => {
    const rec = new Recorder();
    const gate = newGate();
    const { queue } = await makeQueue(kind, rec.processor({ gate: gate.wait }));
    const first = await request(queue, 'folded', 1);
    await request(queue, 'folded', 2);
    expect((await queue.job(first))?.status).not.toBe('completed');
    await expect.poll(() => rec.runsOf('folded').length, { timeout: 5_000 }).toBe(1);
    expect((await effectiveRecord(queue, first))?.status).toBe('active');
    gate.release();
    await queue.idle();
    expect(await effectiveRecord(queue, first)).toMatchObject({ status: 'completed', version: 'folded@2' });
  });
});

describe('MemoryTrainingQueue under contention', () => {
  it('leaves no project waiting forever when due projects outnumber the slots', async () => {
    // Runs of random length and requests that re-arm projects already queued for a slot: this once left
    // projects in the "ready" list with no run left to start them (found by the webhook benchmark).
    const processor: TrainingProcessor = async () => {
      await sleep(30 + Math.random() * 300);
      return { version: null, examples: 0, metrics: {}, sync: null, durationMs: 0 };
    };
    const { queue } = await makeQueue('memory', processor, { debounceMs: 500, concurrency: 2 });
    const ids = new Set<string>();
    const deadline = Date.now() + 6_000;
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        while (Date.now() < deadline) {
          await sleep(300 + Math.random() * 1200);
          ids.add(await queue.request({ projectId: `crowd-${i}`, event: 'ANNOTATION_CREATED', payload: null }));
        }
      }),
    );
    await Promise.race([queue.idle(), sleep(15_000)]);
    const statuses = await Promise.all([...ids].map(async (id) => [id, (await queue.job(id))?.status]));
    expect(statuses.filter(([, status]) => status !== 'completed')).toEqual([]);
  }, 40_000);
});

describe('BullTrainingQueue bookkeeping in Redis', () => {
  it('does not keep an entry per request forever: a burst leaves bounded bookkeeping', async () => {
    const rec = new Recorder();
    const { queue } = await makeQueue('bull', rec.processor({ sleepMs: 10 }), { debounceMs: 200 });
    for (let round = 0; round < 2; round++) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => request(queue, 'leak', round * 1000 + i)));
      await expect.poll(() => rec.runsOf('leak').length, { timeout: 10_000 }).toBe(round + 1);
      await queue.idle();
    }
    const redis = new Redis(redisUrl);
    try {
      const remembered = await redis.hlen(`${KEY_PREFIX}job-project`);
      // Two trainings ran; /jobs and stats need a handful of ids, not one per webhook ever received.
      expect(remembered).toBeLessThanOrEqual(50);
    } finally {
      redis.disconnect();
    }
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
