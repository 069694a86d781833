/**
 * Every TypeScript block in the README and docs/, and every TypeScript file of the `create` scaffold,
 * type-checks against this package's public entry points (`ls-ml-backend`, `ls-ml-backend/testing`), so
 * the documentation cannot drift from the SDK. Each block is its own module; a block that only makes
 * sense after another one is a documentation bug.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/processes.js';

const WORK_DIR = path.join(PROJECT_ROOT, 'test', '.code-blocks');

/** ```ts / ```typescript fences of a Markdown file, with the line each starts on. */
export function typeScriptBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!.trim())) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

function documents(): string[] {
  const docs = ['README.md'];
  const walk = (dir: string) => {
    if (!fs.existsSync(path.join(PROJECT_ROOT, dir))) return;
    for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(rel);
      else if (entry.name.endsWith('.md')) docs.push(rel);
    }
  };
  walk('docs');
  walk('templates');
  return docs;
}

function scaffoldSources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(path.join(PROJECT_ROOT, dir))) return;
    for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) files.push(rel);
    }
  };
  walk('templates');
  return files;
}

afterAll(() => fs.rmSync(WORK_DIR, { recursive: true, force: true }));

describe('documentation code', () => {
  it('the extractor finds fenced TypeScript blocks and nothing else', () => {
    const md = ['text', '```ts', 'const a = 1;', '```', '```bash', 'npm test', '```', '```typescript', 'let b = 2;', '```'].join('\n');
    expect(typeScriptBlocks(md)).toEqual([
      { line: 3, code: 'const a = 1;' },
      { line: 9, code: 'let b = 2;' },
    ]);
  });

  it('every TypeScript block in README.md and docs/, and the scaffold sources, type-check', () => {
    fs.rmSync(WORK_DIR, { recursive: true, force: true });
    fs.mkdirSync(WORK_DIR, { recursive: true });
    const origins = new Map<string, string>();
    let count = 0;
    for (const doc of documents()) {
      for (const block of typeScriptBlocks(fs.readFileSync(path.join(PROJECT_ROOT, doc), 'utf8'))) {
        const name = `block-${++count}.ts`;
        // `export {}` makes each block a module of its own, as a file of the reader's would be.
        fs.writeFileSync(path.join(WORK_DIR, name), `${block.code}\nexport {};\n`);
        origins.set(name, `${doc}:${block.line}`);
      }
    }
    // Scaffold files keep their names and folders, so their relative imports resolve as in a created project.
    for (const source of scaffoldSources()) {
      const target = path.join(WORK_DIR, source);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(path.join(PROJECT_ROOT, source), target);
      count++;
    }
    expect(count).toBeGreaterThan(0);
    fs.writeFileSync(
      path.join(WORK_DIR, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: {
          noEmit: true,
          rootDir: '../..',
          // What a project that installed the package resolves, pointed at the sources.
          paths: { 'ls-ml-backend': ['../../src/sdk/index.ts'], 'ls-ml-backend/testing': ['../../src/testing/index.ts'] },
        },
        include: ['./**/*.ts'],
        exclude: [],
      }),
    );
    let output = '';
    try {
      execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), '-p', WORK_DIR], { encoding: 'utf8' });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    // Name the document and line each error comes from, not the generated file.
    const report = output.replace(/test\/\.code-blocks\/(block-\d+\.ts)/g, (_m, file: string) => `${origins.get(file)} (${file})`);
    expect(report).toBe('');
  }, 120_000);
});
