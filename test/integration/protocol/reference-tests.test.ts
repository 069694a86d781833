/**
 * HumanSignal/label-studio-ml-backend tests/test_api.py and tests/test_basic.py, ported (numbered 1–6 in file order)
 * and run against the real server instead of Flask's test client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startTestServer, type TestServer } from '../../support/server.js';
import { expectJsonError, sendWebhook } from './helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('ported reference tests', () => {
  it('1. test_api: GET /health → 200, JSON exactly {status: "UP", model_class}', async () => {
    const res = await getJson(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ status: 'UP', model_class: 'KeywordChoices' });
  });

  it('6. test_basic_health_check: GET / answers the same as /health', async () => {
    const root = await getJson(`${server.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/^application\/json/);
    expect(root.body).toStrictEqual({ status: 'UP', model_class: 'KeywordChoices' });
  });

  it('2. test_metrics: GET /metrics → 200 Prometheus text with request and prediction metrics', async () => {
    // One prediction first, so the counter has a sample to show.
    await postJson(`${server.url}/predict`, { tasks: [{ id: 1, data: {} }], label_config: '<View></View>', project: '1.1000000000' });
    const res = await getJson(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(res.text).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/predict"[^}]*\} \d+/m);
    expect(res.text).toContain('# TYPE predictions_served_total counter');
    expect(res.text).toMatch(/^predictions_served_total\{project="1"\} 1$/m);
  });

  it('3. test_predict: tasks as a dict (not a list) → 200 with exactly one result', async () => {
    const res = await postJson(`${server.url}/predict`, {
      tasks: { id: 1 },
      label_config: '<View></View>',
      project: '1.1000000000',
      params: { context: {} },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.results).toHaveLength(1);
    expect(res.body.results[0]).toMatchObject({ result: [], model_version: expect.any(String) });
  });

  it.each([
    ['an empty object', {}],
    ['a string (the UI textarea)', '{"keywords": {"Positive": ["love"]}}'],
    ['null', null],
    ['an object with keywords', { keywords: { Positive: ['love'] } }],
  ])('4. test_setup: extra_params as %s → 200 {model_version}', async (_label, extraParams) => {
    const res = await postJson(`${server.url}/setup`, { project: '1.1000000000', schema: '<View></View>', extra_params: extraParams });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toStrictEqual({ model_version: expect.any(String) });
  });

  it('5. test_webhook: the reference body (no `annotation`) is refused with a 400 JSON naming `annotation`', async () => {
    // The reference answers 201 because its fit() ignores the payload. Label Studio always sends `annotation`
    // with ANNOTATION_CREATED (docs/protocol.md, Annotation events), so a body without it is a hand-made mistake.
    const res = await sendWebhook(server.url, { action: 'ANNOTATION_CREATED', project: { id: 1, label_config: '<View></View>' } });
    expectJsonError(res, 400, 'invalid_request', /\bannotation\b/);
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['annotation'] })]));
  });

  it('5b. the same minimal project with START_TRAINING is accepted: 201 {status: "ok", job}', async () => {
    const res = await sendWebhook(server.url, { action: 'START_TRAINING', project: { id: 1, label_config: '<View></View>' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toStrictEqual({ status: 'ok', job: expect.any(String) });
  });
});
