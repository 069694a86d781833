/**
 * Label Studio's exact calls when a backend is added and predictions are retrieved (docs/protocol.md, Predict):
 * validation (/health, /setup), update_state (/health, /setup), then /predict with the whole selection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, PROJECT_UID } from '../../fixtures/index.js';
import { getJson, postJson, startTestServer, type TestServer } from '../../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('Label Studio connection sequence', () => {
  it('answers /health, /setup, /health, /setup, /predict with 200 JSON and one consistent model_version', async () => {
    const setupBody = fixture('setup.json');
    const health1 = await getJson(`${server.url}/health`);
    const setup1 = await postJson(`${server.url}/setup`, setupBody);
    const health2 = await getJson(`${server.url}/health`);
    const setup2 = await postJson(`${server.url}/setup`, setupBody);
    const batch = fixture('predict-batch.json');
    const predict = await postJson(`${server.url}/predict`, batch);

    for (const res of [health1, setup1, health2, setup2, predict]) {
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(typeof res.body).toBe('object');
    }
    const version = setup1.body.model_version;
    expect(version).toEqual(expect.any(String));
    expect(version).not.toBe('');
    expect(setup2.body).toEqual({ model_version: version });

    // One item per task, in order, each carrying the version /setup reported (Label Studio's cache key).
    const results = predict.body.results as Array<{ result: any[]; score: number; model_version: string }>;
    expect(results).toHaveLength(batch.tasks.length);
    for (const r of results) {
      expect(r.model_version).toBe(version);
      expect(Array.isArray(r.result)).toBe(true);
      expect(typeof r.score).toBe('number');
    }
    const choices = results.map((r) => r.result[0]?.value?.choices?.[0] ?? null);
    expect(choices).toEqual(['Positive', 'Negative', 'Neutral', null, 'Positive']);
    // Regions point at the config's control/object pair, as LS needs to render them.
    expect(results[0]!.result[0]).toMatchObject({ from_name: 'sentiment', to_name: 'text', type: 'choices' });
  });

  it('keeps task order when the same tasks come in reverse', async () => {
    const batch = fixture('predict-batch.json');
    batch.tasks.reverse();
    const res = await postJson(`${server.url}/predict`, batch);
    expect(res.status, res.text).toBe(200);
    const choices = res.body.results.map((r: any) => r.result[0]?.value?.choices?.[0] ?? null);
    expect(choices).toEqual(['Positive', null, 'Neutral', 'Negative', 'Positive']);
  });

  it('serves interactive pre-annotation (context set, export-serializer task): results[0] is the answer', async () => {
    const res = await postJson(`${server.url}/predict`, fixture('predict-interactive.json'));
    expect(res.status, res.text).toBe(200);
    expect(res.body.results).toHaveLength(1);
    expect(res.body.results[0].result[0].value.choices).toEqual(['Negative']);
  });

  it('accepts a selection of 50 tasks with ~20 KB of text each (over Express’s 100 kB default)', async () => {
    const template = fixture('predict-batch.json');
    const filler = 'lorem ipsum dolor sit amet '.repeat(760); // ~20.5 KB
    const tasks = Array.from({ length: 50 }, (_, i) => ({
      ...template.tasks[0],
      id: 1000 + i,
      inner_id: i + 1,
      data: { text: `${i % 2 === 0 ? 'positive' : 'negative'} ${filler}` },
    }));
    const body = { ...template, tasks };
    const size = Buffer.byteLength(JSON.stringify(body));
    expect(size).toBeGreaterThan(1_000_000);
    const res = await postJson(`${server.url}/predict`, body);
    expect(res.status, typeof res.body === 'object' ? JSON.stringify(res.body) : res.text.slice(0, 200)).toBe(200);
    expect(res.body.results).toHaveLength(50);
    const setup = await postJson(`${server.url}/setup`, fixture('setup.json'));
    res.body.results.forEach((r: any, i: number) => {
      expect(r.result[0].value.choices[0]).toBe(i % 2 === 0 ? 'Positive' : 'Negative');
      expect(r.model_version).toBe(setup.body.model_version);
    });
  });

  it('uses the uid’s id part as the project: /setup with another created_ts reports the same version', async () => {
    const body = { ...fixture('setup.json'), project: `${PROJECT_UID.split('.')[0]}.1777626999` };
    const res = await postJson(`${server.url}/setup`, body);
    expect(res.status).toBe(200);
    const versions = await getJson(`${server.url}/versions`);
    expect(Object.keys(versions.body.projects)).toEqual(['12']);
  });
});
