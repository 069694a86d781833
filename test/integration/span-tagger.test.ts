/**
 * The built-in span tagger (`<Labels>` on `<Text>`), tested through the test kit as a model author would:
 * `createTestModel` trains and serves it in this process, and `startTestBackend` runs the default `built-in`
 * model end to end over HTTP, where one backend serves a span project and a classification project.
 * Offsets are checked the way Label Studio reads them: in code points, on text with emoji before the spans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SpanTagger from '../../models/span-tagger/index.js';
import type { LabelsRegion } from '../../src/sdk/index.js';
import { createTestModel, labelStudio, startTestBackend, type TestBackend, type TestExample, type TestPrediction } from '../../src/testing/index.js';

const NER = `<View><Text name="text" value="$text"/><Labels name="ner" toName="text">
<Label value="Person"/><Label value="Amount"/></Labels></View>`;
const CHOICES = `<View><Text name="text" value="$text"/><Choices name="topic" toName="text">
<Choice value="Sports"/><Choice value="Cooking"/></Choices></View>`;

const FIRST = ['Anna', 'Boris', 'Chloé', 'Dmitri', 'Eszter', 'Farid', 'Greta', 'Hiro', 'Ingrid', 'José', 'Kwame', 'Lena', 'Mateo', 'Nadia', 'Oskar', 'Priya'];
const LAST = ['Smith', 'Ivanova', 'Müller', 'Okafor', 'Tanaka', 'García', 'Novak', 'Haddad', 'Larsen', 'Kowalski', 'Rossi', 'Dubois'];
const TEMPLATES = [
  '{P} paid {A} dollars to {P} on Monday.',
  'Yesterday {P} sold the old car for {A} euros 🚗 and bought a bike.',
  'The committee, led by {P}, approved {A} new houses.',
  'After lunch 🍝 {P} wrote a letter to {P} about the {A} missing books.',
  'We counted {A} birds near the lake, said {P}.',
  'Nobody expected the invoice to reach {A}, least of all {P} 😅.',
];

interface Sample {
  text: string;
  /** gold spans in code points, as Label Studio stores them */
  spans: { start: number; end: number; text: string; label: string }[];
}

/** Deterministic sentences; `offset` shifts the name and number choices so held-out samples differ. */
function makeSample(i: number, offset = 0): Sample {
  let x = ((i + 1) * 2654435761 + offset * 97) % 2 ** 32;
  const next = () => (x = (x * 1664525 + 1013904223) % 2 ** 32);
  const template = TEMPLATES[next() % TEMPLATES.length]!;
  let text = '';
  const spans: Sample['spans'] = [];
  for (const part of template.split(/(\{[PA]\})/)) {
    if (part !== '{P}' && part !== '{A}') {
      text += part;
      continue;
    }
    const value = part === '{P}' ? `${FIRST[(next() + offset) % FIRST.length]} ${LAST[(next() + offset) % LAST.length]}` : String(next() % 5000 + 2);
    const start = [...text].length;
    text += value;
    spans.push({ start, end: start + [...value].length, text: value, label: part === '{P}' ? 'Person' : 'Amount' });
  }
  return { text, spans };
}

const labelsRegion = (spans: Sample['spans']) =>
  spans.map((s) => ({ from_name: 'ner', to_name: 'text', type: 'labels', value: { start: s.start, end: s.end, text: s.text, labels: [s.label] } }));
const example = (s: Sample): TestExample => ({ data: { text: s.text }, result: labelsRegion(s.spans) });
const asTasks = (samples: Sample[]) => samples.map((s, i) => ({ id: i + 1, data: { text: s.text } }));
const regionsOf = (p: TestPrediction) => p.result as LabelsRegion[];

const TRAIN = Array.from({ length: 240 }, (_, i) => makeSample(i));
const HELD_OUT = Array.from({ length: 40 }, (_, i) => makeSample(10_000 + i, 5));

/** Exact-match span F1 of predictions against the held-out gold, with every predicted offset checked. */
function spanF1(predictions: TestPrediction[]): number {
  let correct = 0;
  let predicted = 0;
  let gold = 0;
  predictions.forEach((p, i) => {
    const sample = HELD_OUT[i]!;
    const codePoints = [...sample.text];
    const wanted = new Set(sample.spans.map((s) => `${s.start}:${s.end}:${s.label}`));
    gold += wanted.size;
    for (const region of regionsOf(p)) {
      predicted++;
      const { start, end, text, labels } = region.value;
      // Label Studio renders a span at its code-point offsets: they must cover exactly the span's text.
      expect(codePoints.slice(start, end).join('')).toBe(text);
      expect(region.score).toBeGreaterThan(0);
      expect(region.score).toBeLessThanOrEqual(1);
      if (wanted.has(`${start}:${end}:${labels[0]}`)) correct++;
    }
  });
  const precision = correct / Math.max(predicted, 1);
  const recall = correct / gold;
  return (2 * precision * recall) / Math.max(precision + recall, 1e-9);
}

describe('span-tagger with createTestModel', () => {
  it('gives one honest empty prediction per task before training', async () => {
    const tm = await createTestModel(SpanTagger, { labelConfig: NER });
    try {
      expect(await tm.predict(asTasks(HELD_OUT.slice(0, 2)))).toEqual([
        { result: [], score: 0, model_version: 'SpanTagger-v0' },
        { result: [], score: 0, model_version: 'SpanTagger-v0' },
      ]);
    } finally {
      await tm.close();
    }
  });

  it('learns names and numbers from annotations and predicts spans at the right code-point offsets', async () => {
    const tm = await createTestModel(SpanTagger, { labelConfig: NER });
    try {
      const { version, metrics } = await tm.fit(TRAIN.map(example));
      expect(version).toBe('SpanTagger-v1');
      // Held-out scores from the training itself, under the keys the console charts.
      expect(metrics.microF1).toBeGreaterThan(0.9);
      expect(metrics.macroF1).toBeGreaterThan(0.9);
      const predictions = await tm.predict(asTasks(HELD_OUT));
      expect(predictions).toHaveLength(HELD_OUT.length);
      for (const p of predictions) {
        expect(p.model_version).toBe('SpanTagger-v1');
        for (const region of regionsOf(p)) expect(region).toMatchObject({ from_name: 'ner', to_name: 'text', type: 'labels' });
      }
      expect(spanF1(predictions)).toBeGreaterThan(0.9);
    } finally {
      await tm.close();
    }
  });

  it('reads annotations whose offsets were counted in UTF-16 units (older clients) by their text', async () => {
    const tm = await createTestModel(SpanTagger, { labelConfig: NER });
    try {
      // Shift every span to UTF-16 indices: after an emoji they differ from Label Studio's code points.
      const utf16 = TRAIN.map((s) => ({ ...s, spans: s.spans.map((span) => ({ ...span, start: s.text.indexOf(span.text), end: s.text.indexOf(span.text) + span.text.length })) }));
      await tm.fit(utf16.map(example));
      expect(spanF1(await tm.predict(asTasks(HELD_OUT)))).toBeGreaterThan(0.9);
    } finally {
      await tm.close();
    }
  });

  it('refuses a label config without a Labels control on a Text object, and a training with no spans', async () => {
    await expect(createTestModel(SpanTagger, { labelConfig: CHOICES })).rejects.toThrow(/Labels/);
    const tm = await createTestModel(SpanTagger, { labelConfig: NER });
    try {
      await expect(tm.fit([{ data: { text: 'nothing here' }, result: [] }])).rejects.toThrow(/no usable "ner" spans/);
    } finally {
      await tm.close();
    }
  });
});

describe('the default built-in model over HTTP: one backend, a span project and a classification project', () => {
  let backend: TestBackend;

  beforeAll(async () => {
    backend = await startTestBackend({ model: 'built-in' });
  });
  afterAll(async () => backend?.close());

  it('trains the span tagger from webhook annotations for a Labels project', async () => {
    const initial = await backend.setup(NER, { projectId: 41 });
    const project = labelStudio.project({ id: 41, labelConfig: NER });
    for (const [i, sample] of TRAIN.entries()) {
      const task = labelStudio.task({ id: i + 1, data: { text: sample.text }, project: 41 });
      const annotation = labelStudio.annotation({ id: i + 1, taskId: i + 1, result: labelsRegion(sample.spans) });
      expect(await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }))).toMatchObject({ status: 'ok' });
    }
    const job = await backend.waitForJob(await backend.train(41));
    expect(job.status).toBe('completed');
    expect(job.version).not.toBe(initial.model_version);
    const predictions = await backend.predict(asTasks(HELD_OUT), { projectId: 41 });
    for (const p of predictions) expect(p.model_version).toBe(job.version);
    expect(spanF1(predictions)).toBeGreaterThan(0.9);
    expect(await backend.setup(NER, { projectId: 41 })).toEqual({ model_version: job.version });
  });

  it('trains the text classifier for a Choices project on the same backend', async () => {
    await backend.setup(CHOICES, { projectId: 42 });
    const project = labelStudio.project({ id: 42, labelConfig: CHOICES });
    const words = { Sports: ['goal', 'match', 'team', 'coach'], Cooking: ['oven', 'recipe', 'sauce', 'flour'] } as const;
    for (let i = 1; i <= 40; i++) {
      const label = i % 2 ? 'Sports' : 'Cooking';
      const text = `${words[label][i % 4]} ${words[label][(i + 1) % 4]} today number ${i}`;
      const task = labelStudio.task({ id: 1000 + i, data: { text }, project: 42 });
      const annotation = labelStudio.annotation({ id: 1000 + i, taskId: 1000 + i, result: [{ from_name: 'topic', to_name: 'text', type: 'choices', value: { choices: [label] } }] });
      await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }));
    }
    const job = await backend.waitForJob(await backend.train(42));
    expect(job.status).toBe('completed');
    const [sports, cooking] = await backend.predict(asTasks([{ text: 'goal team coach match', spans: [] }, { text: 'oven sauce flour recipe', spans: [] }]), { projectId: 42 });
    expect(sports!.result[0]).toMatchObject({ type: 'choices', value: { choices: ['Sports'] } });
    expect(cooking!.result[0]).toMatchObject({ type: 'choices', value: { choices: ['Cooking'] } });
  });

  it('a project whose config switches from Choices to Labels predicts nothing until it trains, without marking its version bad', async () => {
    const { model_version: version } = await backend.setup(NER, { projectId: 42 });
    const [prediction] = await backend.predict(asTasks([HELD_OUT[0]!]), { projectId: 42 });
    expect(prediction).toEqual({ result: [], score: 0, model_version: version });
    const { versions } = (await (await fetch(`${backend.url}/projects/42/versions`)).json()) as { versions: Array<{ version: string; status: string }> };
    expect(versions.find((v) => v.version === version)?.status).toBe('ok');
  });
});
