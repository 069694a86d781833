/**
 * The built-in ONNX text classifier end to end over HTTP: webhooks → training job (worker thread) →
 * new version served by /predict, in embedded mode with real SQLite and real onnxruntime sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startTestServer, type TestServer } from '../support/server.js';

const SINGLE = `<View><Text name="text" value="$text"/><Choices name="topic" toName="text" choice="single">
<Choice value="Sports"/><Choice value="Cooking"/><Choice value="Finance"/></Choices></View>`;
const MULTIPLE = `<View><Text name="text" value="$text"/><Choices name="tags" toName="text" choice="multiple">
<Choice value="Urgent"/><Choice value="Billing"/><Choice value="Bug"/></Choices></View>`;

const VOCAB: Record<string, string[]> = {
  Sports: ['match', 'goal', 'team', 'coach', 'league', 'score', 'stadium', 'player'],
  Cooking: ['recipe', 'oven', 'flour', 'sauce', 'bake', 'garlic', 'kitchen', 'simmer'],
  Finance: ['stock', 'market', 'bank', 'loan', 'interest', 'invest', 'budget', 'shares'],
};
const FILLER = ['the', 'a', 'today', 'really', 'about', 'this', 'we', 'our'];

/** Deterministic texts: 4 topic words + 3 filler words, chosen by a small LCG. */
function makeText(label: string, seed: number): string {
  let x = seed * 2654435761 % 2 ** 32;
  const next = () => (x = (x * 1664525 + 1013904223) % 2 ** 32);
  const words = [];
  for (let i = 0; i < 4; i++) words.push(VOCAB[label]![next() % 8]!);
  for (let i = 0; i < 3; i++) words.push(FILLER[next() % 8]!);
  return words.sort(() => (next() % 2 ? 1 : -1)).join(' ');
}

function annotationEvent(projectId: number, id: number, text: string, fromName: string, choices: string[]) {
  return {
    action: 'ANNOTATION_CREATED',
    project: { id: projectId, finished_task_number: id, min_annotations_to_start_training: 0 },
    annotation: {
      id,
      task: id,
      result: [{ from_name: fromName, to_name: 'text', type: 'choices', value: { choices } }],
      was_cancelled: false,
      updated_at: '2026-05-01T10:00:00.000000Z',
    },
    task: { id, data: { text } },
  };
}

async function trainAndWait(server: TestServer, projectId: number): Promise<Record<string, any>> {
  const res = await postJson(`${server.url}/webhook`, { action: 'START_TRAINING', project: { id: projectId } });
  expect(res.status).toBe(201);
  const jobId = res.body.job as string;
  await expect.poll(async () => (await getJson(`${server.url}/jobs/${jobId}`)).body.status, { timeout: 30_000, interval: 100 })
    .toMatch(/completed|failed/);
  return (await getJson(`${server.url}/jobs/${jobId}`)).body;
}

async function predict(server: TestServer, project: string, texts: string[]) {
  const res = await postJson(`${server.url}/predict`, { project, tasks: texts.map((text, i) => ({ id: i + 1, data: { text } })) });
  expect(res.status).toBe(200);
  return res.body.results as Array<{ model_version: string; score: number; result: Array<{ value: { choices: string[] } }> }>;
}

describe('text-classifier model over HTTP', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ MODEL: 'text-classifier', TRAIN_EVERY_N_CHANGES: '100000', TRAIN_MIN_ANNOTATIONS: '100000' });
  });
  afterAll(async () => server?.close());

  it('gives one honest empty prediction per task before training', async () => {
    const setup = await postJson(`${server.url}/setup`, { project: '31.1700000000', schema: SINGLE });
    expect(setup.body.model_version).toBe('TextClassifier-v0');
    const results = await predict(server, '31.1700000000', ['goal team', 'recipe oven']);
    expect(results).toHaveLength(2);
    for (const r of results) expect(r).toMatchObject({ result: [], score: 0, model_version: 'TextClassifier-v0' });
  });

  it('START_TRAINING with no annotations fails the job with a clear error, not a crash', async () => {
    await postJson(`${server.url}/setup`, { project: '33.1700000000', schema: SINGLE });
    const job = await trainAndWait(server, 33);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/no usable "topic" annotations/);
    expect((await getJson(`${server.url}/health`)).status).toBe(200);
  });

  it('learns from webhook annotations and serves the new version with better-than-chance accuracy', async () => {
    const labels = Object.keys(VOCAB);
    for (let i = 1; i <= 90; i++) {
      const label = labels[i % 3]!;
      const res = await postJson(`${server.url}/webhook`, annotationEvent(31, i, makeText(label, i), 'topic', [label]));
      expect(res.status).toBe(201);
    }
    const job = await trainAndWait(server, 31);
    expect(job.status).toBe('completed');
    expect(job.version).toBe('TextClassifier-v1');

    const heldOut = Array.from({ length: 60 }, (_, i) => ({ label: labels[i % 3]!, text: makeText(labels[i % 3]!, 10_000 + i) }));
    const results = await predict(server, '31.1700000000', heldOut.map((h) => h.text));
    const correct = results.filter((r, i) => r.result[0]?.value.choices[0] === heldOut[i]!.label).length;
    expect(correct / heldOut.length).toBeGreaterThan(0.8);
    for (const r of results) {
      expect(r.model_version).toBe('TextClassifier-v1');
      expect(r.score).toBeGreaterThan(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    const setup = await postJson(`${server.url}/setup`, { project: '31.1700000000', schema: SINGLE });
    expect(setup.body.model_version).toBe('TextClassifier-v1');
    const versions = await getJson(`${server.url}/projects/31/versions`);
    expect(versions.body.versions[0].metrics.trainSize).toBeGreaterThan(0);
  });

  it('a corrupt artifact is refused and the previous version keeps serving', async () => {
    const before = await predict(server, '31.1700000000', ['goal team coach']);
    expect(before[0]!.model_version).toBe('TextClassifier-v1');
    // Publish garbage as a new version, exactly as a damaged store would hand it out.
    await server.ctx.versions.publish('31', { artifact: new Uint8Array([8, 1, 18, 4, 1, 2, 3]) });
    await server.ctx.host.refresh('31');
    const after = await predict(server, '31.1700000000', ['goal team coach']);
    expect(after[0]!.model_version).toBe('TextClassifier-v1');
    expect(after[0]!.result[0]!.value.choices).toEqual(before[0]!.result[0]!.value.choices);
  });

  it('multiple choice: independent labels above the threshold', async () => {
    await postJson(`${server.url}/setup`, { project: '32.1700000000', schema: MULTIPLE });
    const examples: Array<[string, string[]]> = [];
    for (let i = 0; i < 60; i++) {
      const tags = [i % 2 ? 'Urgent' : null, i % 3 === 0 ? 'Billing' : null, i % 5 === 0 ? 'Bug' : null].filter((t): t is string => t !== null);
      if (tags.length === 0) continue;
      const words = [...(tags.includes('Urgent') ? ['asap', 'immediately', 'critical'] : ['whenever']), ...(tags.includes('Billing') ? ['invoice', 'charge', 'refund'] : []), ...(tags.includes('Bug') ? ['crash', 'error', 'broken'] : []), 'please', `ticket${i}`];
      examples.push([words.join(' '), tags]);
    }
    for (const [i, [text, tags]] of examples.entries()) {
      expect((await postJson(`${server.url}/webhook`, annotationEvent(32, 500 + i, text, 'tags', tags))).status).toBe(201);
    }
    expect((await trainAndWait(server, 32)).status).toBe('completed');
    const [result] = await predict(server, '32.1700000000', ['asap immediately critical invoice charge refund please']);
    expect(result!.result[0]!.value.choices.sort()).toEqual(['Billing', 'Urgent']);
  });

  it('refuses a label config without a Choices control on a Text object at /setup', async () => {
    const res = await postJson(`${server.url}/setup`, {
      project: '34.1700000000',
      schema: '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>',
    });
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/Choices/);
  });
});
