/**
 * The web console in a real browser (headless Chromium) against a real backend: a person opens `/`, sees the
 * project, watches a training that Label Studio's Start Training webhook started run (progress bar) to
 * `completed`, sees the new version and its point on the accuracy plot, and pins an older version from the
 * page, which changes what `/predict` serves. The model is a small `Model` subclass whose training waits at a
 * gate, so the running state is on the page long enough to be seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Model, type FitContext, type FitResult, type PredictOutput, type Task, type TrainingAction } from '../../src/sdk/index.js';
import { startTestBackend, type TestBackend } from '../../src/testing/index.js';
import { launchChromium, openPage, screenshot } from './chromium.js';

const CONFIG = `<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single">
<Choice value="Positive"/><Choice value="Negative"/></Choices></View>`;
const USER = { username: 'operator', password: 'console-test-pass' };

/** Each training publishes a version with the next of these metrics, after its gate opens. */
const METRICS = [
  { accuracy: 0.62, macroF1: 0.55 },
  { accuracy: 0.91, macroF1: 0.74 },
];

class GatedModel extends Model {
  static trainings = 0;
  static gate: Promise<void> = Promise.resolve();
  override predict(tasks: Task[]): PredictOutput {
    return tasks.map(() => ({ result: [] }));
  }
  override async fit(_event: TrainingAction, _data: unknown, ctx: FitContext): Promise<FitResult> {
    ctx.progress(0.4);
    await GatedModel.gate;
    const metrics = METRICS[GatedModel.trainings++ % METRICS.length]!;
    return { artifact: new Uint8Array([GatedModel.trainings]), metrics };
  }
}

let openGate = () => {};
/** Trainings wait until `open()`; a failing test's cleanup opens it too, so the server can close. */
function closedGate(): { open: () => void } {
  GatedModel.gate = new Promise<void>((resolve) => (openGate = resolve));
  return { open: () => openGate() };
}

/** Where the chart drew `version`'s point of one series, and the colour of the canvas pixel there. */
async function plottedPoint(page: Page, version: string, series: 1 | 2) {
  return page.evaluate(
    ({ version, series }) => {
      // Runs in the page (the test's tsconfig has no DOM types).
      const el = (globalThis as any).document.querySelector('#chart') as { uplot?: any; dataset: Record<string, string | undefined> } | null;
      const u = el?.uplot;
      if (!el || !u) return null;
      const index = (JSON.parse(el.dataset.labels ?? '[]') as string[]).indexOf(version);
      const value = index < 0 ? null : (u.data[series][index] as number | null);
      if (value === null || value === undefined) return { index, value: null, rgba: null };
      const x = Math.round(u.valToPos(index, 'x', true));
      const y = Math.round(u.valToPos(value, 'y', true));
      const rgba = Array.from(u.ctx.getImageData(x, y, 1, 1).data as Uint8ClampedArray);
      return { index, value, rgba };
    },
    { version, series },
  );
}

const ACCURACY_RGB = [0x25, 0x63, 0xeb];

describe('web console in Chromium', () => {
  let backend: TestBackend;
  let browser: Browser;

  beforeAll(async () => {
    backend = await startTestBackend({ model: GatedModel, env: { BASIC_AUTH_USER: USER.username, BASIC_AUTH_PASS: USER.password } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    openGate();
    await browser?.close();
    await backend?.close();
  });

  it('asks a browser without credentials for them', async () => {
    const { context, page } = await openPage(browser);
    // Headless Chromium has no prompt to show for the basic-auth challenge: it fails the navigation.
    await expect(page.goto(`${backend.url}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await context.close();
  });

  it('shows a training run to completed, plots its version, and pins from the page', { timeout: 90_000 }, async () => {
    await backend.setup(CONFIG);
    const first = await backend.waitForJob(await backend.train());
    expect(first.status).toBe('completed');
    const v1 = first.version!;
    const { context, page, errors } = await openPage(browser, USER);
    try {
      page.setDefaultTimeout(20_000);
      await page.goto(`${backend.url}/`);
      expect(await page.title()).toBe('ls-ml-backend console');
      const row = page.locator('tr[data-project="1"]');
      await row.waitFor();
      await row.locator('.served', { hasText: v1 }).waitFor();
      expect(await page.locator('#model-class').textContent()).toBe('model GatedModel');

      // Start Training in Label Studio: the webhook's job shows up running, with its progress bar.
      const gate = closedGate();
      const jobId = await backend.train();
      const jobRow = page.locator(`#jobs tr[data-job="${jobId}"]`);
      await jobRow.locator('.badge.active').waitFor();
      const bar = jobRow.locator('progress');
      await bar.waitFor();
      expect(Number(await bar.getAttribute('value'))).toBeCloseTo(0.4);
      await screenshot(page, 'training-running');

      gate.open();
      await jobRow.locator('.badge.completed').waitFor();
      expect(await jobRow.locator('progress').count()).toBe(0);
      const v2 = (await backend.waitForJob(jobId)).version!;
      expect(v2).not.toBe(v1);
      await row.locator('.served', { hasText: v2 }).waitFor();
      await screenshot(page, 'overview');

      // The project's page: the new version in the table and its point on the plot, drawn in the series colour.
      await row.locator('a', { hasText: 'Project 1' }).click();
      await page.locator(`#versions tr[data-version="${v2}"]`).waitFor();
      await page.waitForFunction((v) => JSON.parse((globalThis as any).document.querySelector('#chart')?.dataset.labels ?? '[]').includes(v), v2);
      const point = await plottedPoint(page, v2, 1);
      expect(point?.value).toBe(METRICS[1]!.accuracy);
      const [r, g, b, alpha] = point!.rgba!;
      expect(alpha).toBeGreaterThan(200);
      [r, g, b].forEach((channel, i) => expect(Math.abs(channel! - ACCURACY_RGB[i]!)).toBeLessThan(40));
      expect((await plottedPoint(page, v1, 2))?.value).toBe(METRICS[0]!.macroF1);
      await screenshot(page, 'project');

      // Rollback from the page: pin the first version; /predict serves it; unpin goes back to the newest.
      expect((await backend.predict([{ data: { text: 'hello' } }]))[0]!.model_version).toBe(v2);
      await page.locator(`button[data-pin="${v1}"]`).click();
      await page.locator('.notice', { hasText: `Pinned ${v1}` }).waitFor();
      expect((await backend.predict([{ data: { text: 'hello' } }]))[0]!.model_version).toBe(v1);
      await page.locator(`#versions tr[data-version="${v1}"] .badge.pinned`).waitFor();
      await screenshot(page, 'project-pinned');
      await page.locator(`button[data-unpin="${v1}"]`).click();
      await page.locator('.notice', { hasText: `serving the newest version, ${v2}` }).waitFor();
      expect((await backend.predict([{ data: { text: 'hello' } }]))[0]!.model_version).toBe(v2);

      // The job's own page, reached from the version's row.
      await page.locator(`#versions tr[data-version="${v2}"] a`, { hasText: jobId }).click();
      await page.locator('#job .badge.completed').waitFor();
      expect(await page.locator('#job').textContent()).toContain(v2);
      await screenshot(page, 'job');
      expect(errors).toEqual([]);
    } catch (err) {
      await screenshot(page, 'failure');
      throw new Error(`${(err as Error).message}\npage errors: ${JSON.stringify(errors)}`, { cause: err });
    } finally {
      await context.close();
    }
  });
});
