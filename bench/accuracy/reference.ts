/**
 * The scikit-learn reference (sklearn_reference.py): dump the splits it reads, run it when a
 * python3 with scikit-learn is around, read what it wrote.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './datasets.js';
import type { Split } from './evaluate.js';

export interface ReferenceScores {
  accuracy: number;
  macroF1: number;
  microF1?: number;
  recall?: number[];
  trainMs: number;
  trainSize: number;
  testSize: number;
}

/** Keyed like our rows: the dataset name, or `name / train n=…` for a learning-curve point. */
export type Reference = Record<string, ReferenceScores>;

export const referenceKey = (dataset: string, trainN?: number) => (trainN === undefined ? dataset : `${dataset} / train n=${trainN}`);

export function clearDumps(results: string): void {
  rmSync(join(results, 'datasets'), { recursive: true, force: true });
}

export function dumpSplit(results: string, ds: Dataset, split: Split, curve: readonly number[]): void {
  const dir = join(results, 'datasets');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${ds.name.replace(/[^a-z0-9-]+/gi, '_')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ name: ds.name, mode: ds.mode, labels: ds.labels, texts: ds.texts, targets: ds.targets, train: [...split.train], test: [...split.test], curve }),
  );
}

/**
 * $SKLEARN_PYTHON, else the first python3 that imports sklearn: the one on PATH, then Debian's
 * (python3-sklearn installs into the system interpreter, which a pyenv or venv python3 shadows).
 */
export function findSklearnPython(): string | undefined {
  const candidates = process.env.SKLEARN_PYTHON ? [process.env.SKLEARN_PYTHON] : ['python3', '/usr/bin/python3'];
  return candidates.find((python) => spawnSync(python, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0);
}

/** Runs sklearn_reference.py on the dumped splits (its progress goes to our stdout); false if it failed. */
export function runReference(python: string, script: string): boolean {
  return spawnSync(python, [script], { stdio: 'inherit' }).status === 0;
}

export function readReference(results: string): Reference {
  const file = join(results, 'sklearn-reference.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Reference) : {};
}
