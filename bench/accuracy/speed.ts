/** Training and serving speed of the classifier on short synthetic texts (`run.ts --speed`). */
import { loadClassifier, trainTextClassifier, type TrainTimings } from '../../models/text-classifier/lib/index.js';
import { generateSynthetic, PRESETS } from './synthetic.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/**
 * End-to-end training time on exactly 10,000 short texts (all of them, no test split), 5 runs.
 * Reports the median and the minimum per phase: on a shared 2-core box the minimum is the best
 * estimate of the uncontended cost, the median shows what contention does.
 */
export async function timeTraining10k(): Promise<Record<string, unknown>> {
  const ds = generateSynthetic(PRESETS.threeClass(10_000));
  const runs: TrainTimings[] = [];
  for (let r = 0; r < 5; r++) {
    const trained = await trainTextClassifier({ texts: ds.texts, targets: ds.targets, labels: ds.labels, mode: ds.mode, seed: r });
    runs.push(trained.timings);
  }
  const keys = Object.keys(runs[0]!) as (keyof TrainTimings)[];
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    median: Object.fromEntries(keys.map((k) => [k, round(median(runs.map((t) => t[k])))])),
    min: Object.fromEntries(keys.map((k) => [k, round(Math.min(...runs.map((t) => t[k])))])),
  };
}

/** onnxruntime latency of predict() for 1, 100 and 1,000 texts, p50/p90 over many runs after warm-up. */
export async function servingLatency(): Promise<Record<string, unknown>> {
  const ds = generateSynthetic(PRESETS.threeClass(2_000, 11));
  const trained = await trainTextClassifier({ texts: ds.texts, targets: ds.targets, labels: ds.labels, mode: ds.mode });
  const classifier = await loadClassifier(trained.artifact);
  const result: Record<string, unknown> = { artifactBytes: trained.artifact.length };
  for (const batch of [1, 100, 1000]) {
    const texts = ds.texts.slice(0, batch);
    for (let w = 0; w < 20; w++) await classifier.predict(texts);
    const times: number[] = [];
    const repeats = batch === 1000 ? 50 : 300;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      await classifier.predict(texts);
      times.push(performance.now() - t);
    }
    result[`n${batch}`] = { p50ms: +percentile(times, 0.5).toFixed(3), p90ms: +percentile(times, 0.9).toFixed(3) };
  }
  const t = performance.now();
  const fresh = await loadClassifier(trained.artifact);
  result.loadMs = +(performance.now() - t).toFixed(1);
  await fresh.release();
  await classifier.release();
  return result;
}
