/**
 * The training policy over HTTP: a project past its threshold asks for training once per N changes, not
 * on every event until the training has finished (each request would reset the debounce and cost a
 * queue write per webhook).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestServer, type TestServer } from '../../support/server.js';

const event = (id: number) => ({
  action: 'ANNOTATION_CREATED',
  project: { id: 81, finished_task_number: id, min_annotations_to_start_training: 3 },
  annotation: { id, task: id, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } }], updated_at: '2026-05-01T10:00:00Z' },
  task: { id, data: { text: `good ${id}` } },
});

describe('training policy', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A long debounce keeps the requested training waiting, so the counters are what decides.
    server = await startTestServer({ TRAIN_EVERY_N_CHANGES: '2', TRAIN_DEBOUNCE_MS: '60000' });
  });
  afterAll(async () => server?.close());

  it('requests at the threshold, then again only after N more changes', async () => {
    const jobs: Array<string | null> = [];
    for (let id = 1; id <= 7; id++) {
      const res = await postJson(`${server.url}/webhook`, event(id));
      expect(res.status).toBe(201);
      jobs.push(res.body.job);
    }
    // 1–2: below 3 finished tasks; 3: threshold reached with 3 changes; 4: 1 change since; 5: 2; 6: 1; 7: 2.
    expect(jobs.map((j) => j !== null)).toEqual([false, false, true, false, true, false, true]);
    // The waiting training absorbs the later requests: one job id for all of them.
    expect(new Set(jobs.filter((j) => j !== null)).size).toBe(1);
    const stats = (await (await fetch(`${server.url}/projects/81/stats`)).json()) as Record<string, number>;
    expect(stats.changedSinceTraining).toBe(7);
    expect(stats.changedSinceRequest).toBe(0);
  });
});
