/**
 * Staleness through HTTP, in both modes: `GET /projects/:id/stats` → `staleness` and the `/metrics` gauges
 * follow annotation changes the served model has not seen, and drop to zero once a training read them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisUrlForTest, resetRedisDb } from '../../support/redis.js';
import { getJson, startTestServer, type TestServer } from '../../support/server.js';
import { annotationEvent, at, Backend, startTraining } from './label-studio.js';

const redisUrl = redisUrlForTest();
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await resetRedisDb(redisUrl);
});

const gauge = (metrics: string, name: string, project: number): number | undefined => {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{project="${project}"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe.each(['embedded', 'distributed'] as const)('staleness (%s)', (mode) => {
  it('counts the annotation changes the model lacks and how long the newest has waited, in stats and /metrics', async () => {
    const server = await startTestServer({ TRAIN_MIN_ANNOTATIONS: '1000', ...(mode === 'distributed' ? { REDIS_URL: redisUrl } : {}) });
    servers.push(server);
    const backend = new Backend(server.url);
    await backend.setup(7);
    const texts = ['otter lagoon', 'gravel storm', 'quiet meadow'];
    for (const [i, text] of texts.entries()) {
      await backend.send(annotationEvent('ANNOTATION_CREATED', 7, { id: 700 + i, task: 70 + i, text, choice: i % 2 ? 'Negative' : 'Positive', updatedAt: at(1) }));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stale = (await backend.stats(7)).body.staleness;
    expect(stale.annotations).toBe(3);
    expect(stale.seconds).toBeGreaterThanOrEqual(0.2);
    expect(stale.seconds).toBeLessThan(30);
    const metrics = (await getJson(`${server.url}/metrics`)).text;
    expect(gauge(metrics, 'project_staleness_annotations', 7)).toBe(3);
    expect(gauge(metrics, 'project_staleness_seconds', 7)).toBeGreaterThan(0);

    const { job } = await backend.send(startTraining(7));
    expect((await backend.finishedJob(job!)).status).toBe('completed');
    expect((await backend.stats(7)).body.staleness).toEqual({ annotations: 0, seconds: 0 });
    const after = (await getJson(`${server.url}/metrics`)).text;
    expect(gauge(after, 'project_staleness_annotations', 7)).toBe(0);
    expect(gauge(after, 'project_staleness_seconds', 7)).toBe(0);
  });
});
