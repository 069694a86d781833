import { describe, expect, it } from 'vitest';
import { BatchingClassifier } from '../../../models/text-classifier/lib/batcher.js';
import { loadClassifier, trainTextClassifier, type Prediction } from '../../../models/text-classifier/lib/index.js';
import { maxAbsDiff } from './helpers.js';

async function trained() {
  const texts = ['good great fine', 'bad awful poor', 'great good', 'awful bad', 'fine good', 'poor bad'];
  const { artifact } = await trainTextClassifier({ texts, targets: [0, 1, 0, 1, 0, 1], labels: ['Pos', 'Neg'], mode: 'single', bits: 12 });
  return loadClassifier(artifact);
}

describe('BatchingClassifier', () => {
  it('answers concurrent calls from one shared run with the same results as separate runs', async () => {
    const classifier = await trained();
    let runs = 0;
    const counting = { ...classifier, labels: classifier.labels, predict: (t: readonly string[]) => (runs++, classifier.predict(t)) };
    const batcher = new BatchingClassifier(counting);
    const calls = [['good great'], ['awful'], ['fine', 'poor bad', ''], ['great']];
    const together = await Promise.all(calls.map((texts) => batcher.predict(texts)));
    expect(runs).toBe(1);
    for (const [i, texts] of calls.entries()) {
      const alone = await classifier.predict(texts);
      expect(together[i]!.labels).toEqual(alone.labels);
      expect(together[i]!.selected).toEqual(alone.selected);
      expect(together[i]!.probs).toHaveLength(alone.probs.length);
      expect(maxAbsDiff(together[i]!.probs, alone.probs)).toBeLessThan(1e-6);
    }
    await classifier.release();
  });

  it('lets a run smaller than the previous one wait one more turn for company, and only one', async () => {
    const classifier = await trained();
    const runs: number[] = [];
    const counting = { ...classifier, labels: classifier.labels, predict: (t: readonly string[]) => (runs.push(t.length), classifier.predict(t)) };
    const batcher = new BatchingClassifier(counting);
    await Promise.all([['good'], ['bad'], ['fine'], ['poor']].map((texts) => batcher.predict(texts)));
    expect(runs).toEqual([4]);

    // A lone call, then another one in the next turn's check phase (where a client still being read would
    // arrive): the first waits for the second and they share a run.
    const lone = batcher.predict(['great']);
    const late = new Promise<Prediction>((resolve, reject) => setImmediate(() => batcher.predict(['awful']).then(resolve, reject)));
    const [a, b] = await Promise.all([lone, late]);
    expect(runs).toEqual([4, 2]);
    expect([a.labels, b.labels]).toEqual([['Pos'], ['Neg']]);

    // Nobody comes: the wait is one turn, not forever, and the smaller size becomes the new reference.
    expect((await batcher.predict(['good great'])).labels).toEqual(['Pos']);
    expect(runs).toEqual([4, 2, 1]);
    await classifier.release();
  });

  it('rejects every caller of a failed run and keeps working afterwards', async () => {
    const classifier = await trained();
    let fail = true;
    const flaky = { ...classifier, labels: classifier.labels, predict: (t: readonly string[]) => (fail ? Promise.reject(new Error('ort exploded')) : classifier.predict(t)) };
    const batcher = new BatchingClassifier(flaky);
    const results = await Promise.allSettled([batcher.predict(['good']), batcher.predict(['bad'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect((await batcher.predict(['good great'])).labels).toEqual(['Pos']);
    await classifier.release();
  });
});
