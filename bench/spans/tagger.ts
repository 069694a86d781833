/**
 * Our span tagger (models/span-tagger/lib) on the benchmark: train, load the artifact, predict, and time each.
 */
import { loadSpanTagger, tokenize, trainSpanTagger } from '../../models/span-tagger/lib/index.js';
import type { LabeledSpan } from '../../models/span-tagger/lib/metrics.js';
import type { BrownParagraph } from './brown.js';
import { startClock, type Elapsed } from './clock.js';

type Trained = Awaited<ReturnType<typeof trainSpanTagger>>;

export interface TaggerRun {
  trainParagraphs: number;
  /** the paragraphs the shipped weights were fitted on (the trainer holds a share out for its own metrics) */
  fittedParagraphs: number;
  /** the trainer's own micro F1 on the paragraphs it held out (null without a hold-out) */
  heldOutMicroF1: number | null;
  /** how the training spans fitted the tagger's tokens (misaligned: an edge inside a token) */
  spanCounts: Trained['metrics']['spans'];
  /** the whole trainSpanTagger call */
  train: Elapsed;
  /** the phases trainSpanTagger reports itself */
  timings: Trained['timings'];
  artifactBytes: number;
  /** loadSpanTagger on the artifact, the fastest of ROUNDS */
  loadMs: number;
  memoryBytes: number;
  predicted: LabeledSpan[][];
  /** predicting the test split in batches of 100 (the fastest of ROUNDS when measured, else the scored pass) */
  batch100: Throughput;
  /** one paragraph per predict() call, on every SINGLE_STRIDE-th paragraph of the test split (fastest of ROUNDS) */
  batch1?: Throughput;
}

export interface Throughput extends Elapsed {
  paragraphs: number;
  paragraphsPerS: number;
  /** the tagger's own tokens (a word, a number or a punctuation mark each) */
  tokensPerS: number;
  /** whitespace-separated words */
  wordsPerS: number;
}

/** Rounds of each throughput measurement: the fastest is reported (the least disturbed by other work on a shared machine). */
const ROUNDS = 3;

/** Every 5th test paragraph (1,045) one at a time: all genres, enough for a stable rate, a short run. */
const SINGLE_STRIDE = 5;

export const countWords = (texts: readonly string[]) => texts.reduce((n, t) => n + (t.match(/\S+/g)?.length ?? 0), 0);
export const countTokens = (texts: readonly string[]) => texts.reduce((n, t) => n + tokenize(t).count, 0);

function throughput(texts: readonly string[], elapsed: Elapsed): Throughput {
  const perS = (n: number) => Math.round((n / elapsed.wallMs) * 1000);
  return { paragraphs: texts.length, ...elapsed, paragraphsPerS: perS(texts.length), tokensPerS: perS(countTokens(texts)), wordsPerS: perS(countWords(texts)) };
}

type Tagger = Awaited<ReturnType<typeof loadSpanTagger>>;

async function fastestOf(rounds: number, texts: readonly string[], batch: number, tagger: Tagger): Promise<Throughput & { roundsMs: number[] }> {
  const all: Elapsed[] = [];
  for (let r = 0; r < rounds; r++) {
    const clock = startClock();
    for (let i = 0; i < texts.length; i += batch) await tagger.predict(texts.slice(i, i + batch));
    all.push(clock());
  }
  const fastest = all.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  return { ...throughput(texts, fastest), roundsMs: all.map((e) => e.wallMs) };
}

export async function runTagger(
  train: readonly BrownParagraph[],
  test: readonly BrownParagraph[],
  labels: readonly string[],
  options: { measureThroughput: boolean },
): Promise<TaggerRun> {
  const trainClock = startClock();
  const trained = await trainSpanTagger({ examples: train.map(({ text, spans }) => ({ text, spans })), labels: [...labels], seed: 7 });
  const trainElapsed = trainClock();

  const t1 = performance.now();
  const tagger = await loadSpanTagger(trained.artifact);
  let loadMs = performance.now() - t1;
  // A load takes milliseconds: the fastest of a few is the one other work on the machine disturbed least.
  for (let r = 1; r < ROUNDS; r++) {
    const t = performance.now();
    const again = await loadSpanTagger(trained.artifact);
    loadMs = Math.min(loadMs, performance.now() - t);
    await again.release();
  }
  try {
    const texts = test.map((p) => p.text);
    // The scored pass doubles as the warm-up (first onnxruntime runs, JIT) of the timed rounds.
    const clock = startClock();
    const predicted: LabeledSpan[][] = [];
    for (let i = 0; i < texts.length; i += 100) predicted.push(...(await tagger.predict(texts.slice(i, i + 100))));
    const scoredPass = throughput(texts, clock());
    const batch100 = options.measureThroughput ? await fastestOf(ROUNDS, texts, 100, tagger) : scoredPass;
    const batch1 = options.measureThroughput ? await fastestOf(ROUNDS, texts.filter((_, i) => i % SINGLE_STRIDE === 0), 1, tagger) : undefined;
    return {
      trainParagraphs: train.length,
      fittedParagraphs: trained.metrics.fittedSize,
      heldOutMicroF1: trained.metrics.heldOut?.micro.f1 ?? null,
      spanCounts: trained.metrics.spans,
      train: trainElapsed,
      timings: trained.timings,
      artifactBytes: trained.artifact.length,
      loadMs: Math.round(loadMs * 10) / 10,
      memoryBytes: tagger.memoryBytes,
      predicted,
      batch100,
      ...(batch1 ? { batch1 } : {}),
    };
  } finally {
    await tagger.release();
  }
}
