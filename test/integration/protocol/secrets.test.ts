/**
 * Secrets Label Studio hands us (/setup's access_token, /predict's params.password, the webhook project's
 * invite token and task_data_password, basic-auth and webhook-secret headers) never reach the log, even at debug level,
 * and never come back in our own API's answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, type Prediction, type Task } from '../../../src/sdk/index.js';
import { createLogger } from '../../../src/logger.js';
import { FIXTURE_SECRETS, fixture, PROJECT_ID, webhookFixture } from '../../fixtures/index.js';
import { basicAuthHeader, getJson, postJson, startTestServer, type TestServer } from '../../support/server.js';
import { sendWebhook } from './helpers.js';

const USER = 'label-studio';
const PASS = 'basic-pass-SECRET-8c21f0';
const WRONG_PASS = 'wrong-pass-SECRET-55aa01';
const WEBHOOK_SECRET = 'webhook-secret-SECRET-e3d9b7';
const PREDICT_PASSWORD = 'task-data-password-SECRET-4411';
const GOOD = basicAuthHeader(USER, PASS);

const SECRETS = [
  FIXTURE_SECRETS.accessToken,
  FIXTURE_SECRETS.projectToken,
  FIXTURE_SECRETS.taskDataPassword,
  PASS,
  WRONG_PASS,
  WEBHOOK_SECRET,
  PREDICT_PASSWORD,
  // Basic auth as it travels: base64 of user:pass.
  Buffer.from(`${USER}:${PASS}`).toString('base64'),
  Buffer.from(`${USER}:${WRONG_PASS}`).toString('base64'),
];

/** A model that fails on demand, so the error path (which logs) is exercised too. */
class SometimesFailing extends Model {
  override predict(tasks: Task[]): Prediction[] {
    if (tasks.some((t) => t.data.fail === true)) throw new Error('predict failed on purpose');
    return tasks.map(() => ({ result: [], score: 0 }));
  }
}

describe('secrets never logged', () => {
  const chunks: string[] = [];
  const logText = () => chunks.join('');
  let server: TestServer;
  let strict: TestServer;

  beforeAll(async () => {
    const log = createLogger('debug', { write: (line: string) => void chunks.push(line) });
    server = await startTestServer({ LOG_LEVEL: 'debug', BASIC_AUTH_USER: USER, BASIC_AUTH_PASS: PASS }, { log });
    strict = await startTestServer({ LOG_LEVEL: 'debug', WEBHOOK_SECRET }, { log, ModelClass: SometimesFailing });
  });
  afterAll(async () => {
    await Promise.all([server?.close(), strict?.close()]);
  });

  it('sends everything carrying a secret, with and without valid credentials', async () => {
    const url = server.url;
    expect((await postJson(`${url}/setup`, fixture('setup.json'), GOOD)).status).toBe(200);
    expect((await postJson(`${url}/setup`, fixture('setup.json'), basicAuthHeader(USER, WRONG_PASS))).status).toBe(401);
    const predict = fixture('predict-batch.json');
    predict.params = { login: 'task-data-login', password: PREDICT_PASSWORD, context: null };
    expect((await postJson(`${url}/predict`, predict, GOOD)).status).toBe(200);
    expect((await postJson(`${url}/predict`, predict, basicAuthHeader(USER, WRONG_PASS))).status).toBe(401);
    const interactive = fixture('predict-interactive.json');
    interactive.params.password = PREDICT_PASSWORD;
    expect((await postJson(`${url}/predict`, interactive, GOOD)).status).toBe(200);
    // Webhooks carry project.token and project.task_data_password (fixtures), with and without auth.
    for (const file of ['annotation-created.json', 'annotation-updated.json', 'annotations-created.json', 'tasks-created.json', 'project-updated.json']) {
      expect((await sendWebhook(url, webhookFixture(file))).status).toBeLessThan(300);
      expect((await sendWebhook(url, webhookFixture(file), GOOD)).status).toBeLessThan(300);
    }
    const unregistered = webhookFixture('annotation-created.json');
    unregistered.project.id = 77;
    expect((await sendWebhook(url, unregistered, basicAuthHeader(USER, WRONG_PASS))).status).toBe(401);
    // Refused bodies that still carry the secrets.
    expect((await postJson(`${url}/setup`, { ...fixture('setup.json'), schema: 5 }, GOOD)).status).toBe(400);
    expect((await postJson(`${url}/predict`, { ...predict, tasks: 5 }, GOOD)).status).toBe(400);
    expect((await getJson(`${url}/health`, GOOD)).status).toBe(200);

    const s = strict.url;
    const attempts: Array<Record<string, string>> = [{ 'X-Webhook-Secret': WEBHOOK_SECRET }, { 'X-Webhook-Secret': `${WEBHOOK_SECRET}-wrong` }, {}];
    for (const headers of attempts) {
      expect((await sendWebhook(s, webhookFixture('annotation-created.json'), headers)).status).toBeLessThan(500);
    }
    const failing = fixture('predict-batch.json');
    failing.tasks[0].data.fail = true;
    failing.params = { password: PREDICT_PASSWORD, context: { result: [] } };
    expect((await postJson(`${s}/predict`, failing, { Authorization: `Token ${FIXTURE_SECRETS.accessToken}` })).status).toBe(500);
    expect((await postJson(`${s}/setup`, fixture('setup.json'), { Authorization: `Bearer ${FIXTURE_SECRETS.accessToken}` })).status).toBe(200);
  });

  it('logged those requests (the capture works), including the failure', () => {
    const lines = chunks.map((c) => JSON.parse(c) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((l) => l.msg === 'request').map((l) => l.route)).toEqual(expect.arrayContaining(['/setup', '/predict', '/webhook']));
    expect(lines.some((l) => l.msg === 'unhandled error')).toBe(true);
    expect(lines.some((l) => l.level === 20)).toBe(true); // debug lines are in
  });

  it('none of the secrets appears anywhere in the log', () => {
    const text = logText();
    for (const secret of SECRETS) expect(text, `secret ${secret} leaked into the log`).not.toContain(secret);
  });

  it('none of the secrets comes back from our own read endpoints', async () => {
    const responses = await Promise.all(
      ['/versions', `/projects/${PROJECT_ID}/stats`, `/projects/${PROJECT_ID}/versions`, '/metrics'].map((route) => getJson(`${server.url}${route}`, GOOD)),
    );
    for (const res of responses) {
      expect(res.status).toBe(200);
      for (const secret of SECRETS) expect(res.text).not.toContain(secret);
    }
  });
});
