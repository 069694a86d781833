/**
 * The default `built-in` model in distributed mode: an API process and a worker process sharing only Redis. A span
 * project's annotations reach the worker, which trains the span tagger; the API serves its spans without a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess } from '../support/processes.js';
import { redisUrlForTest } from '../support/redis.js';
import { getJson, postJson } from '../support/server.js';

const redisUrl = redisUrlForTest();
const dirs: string[] = [];
const CONFIG = `<View><Text name="text" value="$text"/><Labels name="ner" toName="text">
<Label value="Person"/><Label value="Amount"/></Labels></View>`;
const UID = '81.1700000000';
const NAMES = ['Anna Smith', 'Boris Ivanov', 'Chloé Dubois', 'Hiro Tanaka', 'Nadia Haddad', 'Oskar Larsen'];

/** "<name> paid <n> euros 🙂 to <name>." with its spans in code points, as Label Studio counts them. */
function sample(i: number): { text: string; spans: { start: number; end: number; text: string; label: string }[] } {
  const payer = NAMES[i % NAMES.length]!;
  const payee = NAMES[(i + 2) % NAMES.length]!;
  const amount = String(10 + ((i * 37) % 900));
  const text = `🙂 ${payer} paid ${amount} euros to ${payee}.`;
  const at = (part: string, from = 0) => {
    const index = text.indexOf(part, from);
    const start = [...text.slice(0, index)].length;
    return { start, end: start + [...part].length, text: part };
  };
  return { text, spans: [{ ...at(payer), label: 'Person' }, { ...at(amount), label: 'Amount' }, { ...at(payee, text.indexOf(' to ')), label: 'Person' }] };
}

const env = (extra: Record<string, string>) => ({
  REDIS_URL: redisUrl,
  MODEL: 'built-in',
  TRAIN_DEBOUNCE_MS: '50',
  TRAIN_MIN_ANNOTATIONS: '100000',
  TRAIN_EVERY_N_CHANGES: '100000',
  ...extra,
});

function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ls-ml-built-in-${label}-`));
  dirs.push(dir);
  return dir;
}

describe('built-in model, distributed: the worker trains a span project and the API serves its spans', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApiProcess(env({ MODEL_DIR: tempDir('api'), TRAIN_EMBEDDED_WORKER: 'false' }), 'api');
    await startWorkerProcess(env({ MODEL_DIR: tempDir('worker') }), 'worker');
  }, 90_000);

  afterAll(async () => {
    await killAllProcesses();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves spans at code-point offsets after a training in the worker process', async () => {
    expect((await postJson(`${api.url}/setup`, { project: UID, schema: CONFIG })).body.model_version).toBe('BuiltIn-v0');
    for (let i = 1; i <= 60; i++) {
      const { text, spans } = sample(i);
      const result = spans.map((s) => ({ from_name: 'ner', to_name: 'text', type: 'labels', value: { start: s.start, end: s.end, text: s.text, labels: [s.label] } }));
      const res = await postJson(`${api.url}/webhook`, {
        action: 'ANNOTATION_CREATED',
        project: { id: 81, finished_task_number: i },
        annotation: { id: i, task: i, result, updated_at: '2026-05-01T10:00:00Z' },
        task: { id: i, data: { text } },
      });
      expect(res.status).toBe(201);
    }
    const start = await postJson(`${api.url}/webhook`, { action: 'START_TRAINING', project: { id: 81 } });
    const jobId = start.body.job as string;
    await expect.poll(async () => (await getJson(`${api.url}/jobs/${jobId}`)).body.status, { timeout: 60_000, interval: 100 }).toBe('completed');
    expect((await getJson(`${api.url}/jobs/${jobId}`)).body.version).toBe('BuiltIn-v1');

    const unseen = sample(1001);
    const predict = async () => (await postJson(`${api.url}/predict`, { project: UID, tasks: [{ id: 1, data: { text: unseen.text } }] })).body.results[0];
    await expect.poll(async () => (await predict()).model_version, { timeout: 10_000, interval: 50 }).toBe('BuiltIn-v1');
    const { result } = await predict();
    const found = result.map((r: { value: { start: number; end: number; text: string; labels: string[] } }) => r.value);
    expect(found.map((v: { start: number; end: number; text: string; labels: string[] }) => ({ start: v.start, end: v.end, text: v.text, label: v.labels[0] }))).toEqual(unseen.spans);
  }, 120_000);
});
