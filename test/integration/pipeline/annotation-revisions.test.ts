/**
 * Annotation revisions and training marks, against both store implementations (SQLite under a temp dir,
 * real Redis): every write bumps the project's revision by exactly what it changed, in the same atomic
 * step, and the stats' marks only move forward. "Changes since training" is built on these.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedStores, type Stores } from '../../../src/store/index.js';
import { createRedisStores } from '../../../src/store/redis/index.js';
import { progressOf } from '../../../src/store/stats.js';
import type { StoredAnnotation } from '../../../src/store/types.js';
import { redisUrlForTest, resetRedisDb } from '../../support/redis.js';

const redisUrl = redisUrlForTest();

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

async function makeStores(kind: 'sqlite' | 'redis'): Promise<Stores> {
  if (kind === 'redis') {
    await resetRedisDb(redisUrl);
    const stores = await createRedisStores({ redisUrl });
    open.push(() => stores.close());
    return stores;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-revisions-'));
  const stores = createEmbeddedStores({ modelDir: dir });
  open.push(async () => {
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return stores;
}

const annotation = (id: number, taskId: number, updatedAt: number, choice = 'A'): StoredAnnotation => ({
  annotationId: id,
  taskId,
  result: [{ from_name: 'c', to_name: 'text', type: 'choices', value: { choices: [choice] } }],
  taskData: { text: `task ${taskId}` },
  updatedAt,
  cancelled: false,
  groundTruth: false,
});

describe.each(['sqlite', 'redis'] as const)('annotation revisions: %s', (kind) => {
  it('every write bumps the revision by what it changed; a duplicate or stale delivery bumps nothing', async () => {
    const { annotations } = await makeStores(kind);
    expect(await annotations.revision('p')).toBe(0);
    expect(await annotations.upsert('p', [annotation(1, 10, 1000), annotation(2, 20, 1000)])).toEqual({ changed: 2, revision: 2 });
    expect(await annotations.upsert('p', [annotation(1, 10, 1000)])).toEqual({ changed: 0, revision: 2 }); // duplicate
    expect(await annotations.upsert('p', [annotation(1, 10, 500, 'B')])).toEqual({ changed: 0, revision: 2 }); // older
    expect(await annotations.upsert('p', [annotation(1, 10, 2000, 'B')])).toEqual({ changed: 1, revision: 3 });
    expect(await annotations.remove('p', [2, 99])).toEqual({ changed: 1, revision: 4 });
    expect(await annotations.upsert('p', [annotation(2, 20, 9000)])).toEqual({ changed: 0, revision: 4 }); // tombstoned
    expect(await annotations.removeTasks('p', [10])).toEqual({ changed: 1, revision: 5 });
    expect(await annotations.revision('p')).toBe(5);
    expect(await annotations.revision('other')).toBe(0);
  });

  it('marks only move forward, and progress is the distance from the revision', async () => {
    const { annotations, stats } = await makeStores(kind);
    const { revision } = await annotations.upsert('p', [1, 2, 3, 4].map((i) => annotation(i, i, 1000)));
    await stats.recordEvent('p', { counters: { finished_task_number: 4 } });
    await stats.markRequested('p', 3);
    await stats.markTrained('p', 2);
    await stats.markTrained('p', 1); // an older training finishing late changes nothing
    const progress = progressOf((await stats.get('p'))!, revision);
    expect(progress).toMatchObject({ trainedRevision: 2, requestedRevision: 3, changedSinceTraining: 2, changedSinceRequest: 1 });
    expect(progress.labelStudio).toEqual({ finished_task_number: 4 });
    expect(progress.eventsReceived).toBe(1);
  });
});
