/** Shared steps of the protocol tests: Label Studio's calls, training to completion, error-shape checks. */
import { expect } from 'vitest';
import { fixture, webhookFixture } from '../../fixtures/index.js';
import { getJson, postJson, type HttpResult } from '../../support/server.js';

/** Label Studio's hard timeout for event webhooks and /health (docs/protocol.md, Overview): not a benchmark. */
export const LABEL_STUDIO_TIMEOUT_MS = 1_000;

/** Text that only a model trained on the fixture annotations labels (Positive): before training, no prediction. */
export const TRAINED_ONLY_TEXT = 'great quality';

export const sendWebhook = (url: string, body: unknown, headers: Record<string, string> = {}) => postJson(`${url}/webhook`, body, headers);

/** 4xx/5xx JSON `{error, message, request_id}`; `mentions` must appear in the message. */
export function expectJsonError(res: HttpResult, status: number, error?: string, mentions?: string | RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(res.text).not.toMatch(/<html|<!doctype/i);
  expect(typeof res.body).toBe('object');
  expect(res.body).toEqual(expect.objectContaining({ error: expect.any(String), message: expect.any(String) }));
  if (error) expect(res.body.error).toBe(error);
  if (mentions) expect(res.body.message).toMatch(mentions);
}

/**
 * Polls `GET /jobs/:id` until it is `completed` (throws at once on `failed`, or after `timeout` ms); returns
 * the job record. A plain loop rather than `expect.poll`, so it also works in `beforeAll`.
 */
export async function waitForJob(url: string, jobId: string, timeout = 30_000): Promise<any> {
  const deadline = Date.now() + timeout;
  let last: HttpResult | undefined;
  while (Date.now() < deadline) {
    last = await getJson(`${url}/jobs/${encodeURIComponent(jobId)}`);
    if (last.status === 200 && last.body.status === 'completed') return last.body;
    if (last.status === 200 && last.body.status === 'failed') throw new Error(`training job ${jobId} failed: ${last.body.error}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`training job ${jobId} did not complete within ${timeout} ms; last answer: HTTP ${last?.status} ${last?.text}`);
}

/**
 * The fixture project's life up to one training: /setup, ANNOTATION_CREATED (Positive), ANNOTATION_UPDATED
 * (Negative), START_TRAINING, job completed. Returns the version the training published.
 */
export async function trainFixtureProject(url: string, headers: Record<string, string> = {}): Promise<{ jobId: string; version: string }> {
  expect((await postJson(`${url}/setup`, fixture('setup.json'), headers)).status).toBe(200);
  expect((await sendWebhook(url, webhookFixture('annotation-created.json'), headers)).status).toBe(201);
  expect((await sendWebhook(url, webhookFixture('annotation-updated.json'), headers)).status).toBe(201);
  const started = await sendWebhook(url, webhookFixture('start-training.json'), headers);
  expect(started.status, started.text).toBe(201);
  expect(started.body).toEqual({ status: 'ok', job: expect.any(String) });
  const job = await waitForJob(url, started.body.job);
  expect(job.version).toEqual(expect.any(String));
  return { jobId: started.body.job, version: job.version };
}

/** The choice predicted for one text in the fixture project, or null for an empty prediction. */
export async function predictChoice(url: string, text: string, headers: Record<string, string> = {}): Promise<{ choice: string | null; version: string }> {
  const body = fixture('predict-single-dict.json');
  body.tasks.data.text = text;
  const res = await postJson(`${url}/predict`, body, headers);
  expect(res.status, res.text).toBe(200);
  expect(res.body.results).toHaveLength(1);
  const prediction = res.body.results[0];
  return { choice: prediction.result[0]?.value?.choices?.[0] ?? null, version: prediction.model_version };
}
