/**
 * Distributed mode in Chromium: the console shows a training that ran on BullMQ and links to the queue
 * dashboard (bull-board at /admin/queues), which lists the training queue and the finished job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Model, type FitResult, type PredictOutput, type Task } from '../../src/sdk/index.js';
import { startTestBackend, type TestBackend } from '../../src/testing/index.js';
import { redisUrlForTest } from '../support/redis.js';
import { launchChromium, openPage, screenshot } from './chromium.js';

const CONFIG = `<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="A"/><Choice value="B"/></Choices></View>`;
const USER = { username: 'operator', password: 'dashboard-test-pass' };
const redisUrl = redisUrlForTest();

class TinyModel extends Model {
  override predict(tasks: Task[]): PredictOutput {
    return tasks.map(() => ({ result: [] }));
  }
  override fit(): FitResult {
    return { artifact: new Uint8Array([1]), metrics: { accuracy: 0.8, macroF1: 0.7 } };
  }
}

describe('queue dashboard in Chromium (Redis mode)', () => {
  let backend: TestBackend;
  let browser: Browser;

  beforeAll(async () => {
    backend = await startTestBackend({ model: TinyModel, env: { REDIS_URL: redisUrl, BASIC_AUTH_USER: USER.username, BASIC_AUTH_PASS: USER.password } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await backend?.close();
  });

  it('links from the console to bull-board, which lists the training queue and the completed job', { timeout: 90_000 }, async () => {
    await backend.setup(CONFIG);
    const job = await backend.waitForJob(await backend.train());
    expect(job.status).toBe('completed');
    const { context, page, errors } = await openPage(browser, USER);
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(`${backend.url}/`);
      await page.locator(`#jobs tr[data-job="${job.id}"] .badge.completed`).waitFor();
      const link = page.locator('#queues-link');
      await link.waitFor({ state: 'visible' });
      await link.click();
      await page.waitForURL(/\/admin\/queues/);
      await page.getByText('training', { exact: true }).first().waitFor();
      await screenshot(page, 'queue-dashboard');

      await page.goto(`${backend.url}/admin/queues/queue/training?status=completed`);
      await page.getByText(job.id).first().waitFor();
      await screenshot(page, 'queue-dashboard-completed');
      expect(errors).toEqual([]);
    } catch (err) {
      await screenshot(page, 'queue-dashboard-failure');
      throw new Error(`${(err as Error).message}\npage errors: ${JSON.stringify(errors)}`, { cause: err });
    } finally {
      await context.close();
    }
  });
});
