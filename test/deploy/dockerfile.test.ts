/**
 * The image's invariants, checked on the Dockerfile itself (no Docker engine runs here): a non-root user owns
 * a created /data, a health check that really answers (run here against a real server), no dev dependency or
 * compiler in the final stage, only the target's onnxruntime binary (the pruning step runs here against the
 * installed package's real layout), and one entry point that runs every CLI command.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/processes.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import {
  baseImage,
  copyPaths,
  effectiveInstructions,
  execForm,
  keyValues,
  parseDockerfile,
  parseInstructions,
  splitFlags,
  stageNamed,
  type Dockerfile,
  type Instruction,
  type Stage,
} from './dockerfile.js';

const run = promisify(execFile);
const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const manifest = JSON.parse(read('package.json')) as {
  bin: Record<string, string>;
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const dockerfile = parseDockerfile(read('Dockerfile'));
const finalStage = dockerfile.stages.at(-1)!;
const finalInstructions = effectiveInstructions(dockerfile, finalStage);
const only = (instructions: Instruction[], keyword: string) => instructions.filter((i) => i.keyword === keyword);

/** `npm ci` / `npm install` / `npm i` commands in RUN instructions, each with whether it omits dev dependencies. */
function npmInstalls(instructions: Instruction[]): Array<{ command: string; omitsDev: boolean }> {
  return only(instructions, 'RUN').flatMap((i) =>
    [...i.args.matchAll(/\bnpm\s+(?:ci|install|i)\b[^;&|]*/g)].map((m) => ({
      command: m[0].trim(),
      omitsDev: /--omit[= ]dev\b|--production\b|--only[= ]prod/.test(m[0]),
    })),
  );
}

function runInstructionMatching(stage: Stage, pattern: RegExp): Instruction {
  const found = only(stage.instructions, 'RUN').filter((i) => pattern.test(i.args));
  expect(found, `one RUN matching ${pattern} in stage ${stage.name}`).toHaveLength(1);
  return found[0]!;
}

/** The image's environment: ENV instructions of the final stage and its parents. */
function imageEnv(file: Dockerfile = dockerfile): Record<string, string> {
  return Object.assign({}, ...only(effectiveInstructions(file, file.stages.at(-1)!), 'ENV').map((i) => keyValues(i.args)));
}

describe('Dockerfile reader', () => {
  it('joins continuation lines as the builder does and drops comment lines inside them', () => {
    const ins = parseInstructions(['FROM x AS a', 'RUN a \\', '# note', '    && b', 'ENV A=1 B="two words"', ''].join('\n'));
    expect(ins.map((i) => [i.keyword, i.args, i.line])).toEqual([
      ['FROM', 'x AS a', 1],
      ['RUN', 'a     && b', 2],
      ['ENV', 'A=1 B="two words"', 5],
    ]);
    expect(keyValues(ins[2]!.args)).toEqual({ A: '1', B: 'two words' });
  });

  it('resolves global ARGs in FROM and follows stages to their base image', () => {
    const file = parseDockerfile(['ARG BASE=node:20', 'FROM ${BASE} AS one', 'RUN a', 'FROM one AS two', 'RUN b'].join('\n'));
    expect(file.stages.map((s) => [s.name, s.base])).toEqual([['one', 'node:20'], ['two', 'one']]);
    expect(baseImage(file, file.stages[1]!)).toBe('node:20');
    expect(effectiveInstructions(file, file.stages[1]!).map((i) => i.args)).toEqual(['a', 'b']);
    expect(copyPaths('--from=one --chown=1:1 /app/a /app/b ./')).toEqual({ from: 'one', sources: ['/app/a', '/app/b'], dest: './' });
  });
});

describe('the image', () => {
  it('is multi-stage and the final stage starts from a plain slim Node image, not from a stage with compilers', () => {
    expect(dockerfile.stages.length).toBeGreaterThan(1);
    expect(stageNamed(dockerfile, finalStage.base), 'the final stage must not inherit another stage').toBeUndefined();
    expect(finalStage.base).toMatch(/^node:20[\w.-]*-slim$/);
    const runs = only(finalInstructions, 'RUN').map((i) => i.args).join('\n');
    expect(runs).not.toMatch(/apt-get install|g\+\+|build-essential/);
  });

  it('runs as a non-root user that owns a /data created before VOLUME, and MODEL_DIR points there', () => {
    const users = only(finalStage.instructions, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0]!.trim();
    expect(['root', '0', '']).not.toContain(user);
    const entry = only(finalStage.instructions, 'ENTRYPOINT')[0]!;
    expect(users.at(-1)!.line).toBeLessThan(entry.line);

    const setup = only(finalStage.instructions, 'RUN').find((i) => /mkdir\s+(-p\s+)?\/data\b/.test(i.args));
    expect(setup, 'a RUN that creates /data').toBeDefined();
    expect(setup!.args).toMatch(new RegExp(`chown\\s+(-R\\s+)?${user}(:${user})?\\s+/data\\b`));
    // Docker discards what a build step does to a path after VOLUME declares it.
    const volume = only(finalStage.instructions, 'VOLUME').find((i) => i.args.includes('/data'));
    if (volume) expect(setup!.line).toBeLessThan(volume.line);
    expect(imageEnv().MODEL_DIR).toBe('/data');
  });

  it('installs no dev dependency in the final stage: its node_modules come from a stage that ran npm ci --omit=dev', () => {
    expect(npmInstalls(finalInstructions).filter((i) => !i.omitsDev)).toEqual([]);
    expect(only(finalStage.instructions, 'COPY').filter((c) => !copyPaths(c.args).from), 'no COPY from the build context').toEqual([]);
    const moduleCopies = only(finalStage.instructions, 'COPY').filter((c) => copyPaths(c.args).sources.some((s) => /node_modules|^\/app\/?$/.test(s)));
    expect(moduleCopies.length).toBeGreaterThan(0);
    for (const copy of moduleCopies) {
      const from = stageNamed(dockerfile, copyPaths(copy.args).from!);
      expect(from, `COPY --from of node_modules names a stage: ${copy.args}`).toBeDefined();
      const installs = npmInstalls(effectiveInstructions(dockerfile, from!));
      expect(installs.length, `stage ${from!.name} installs its node_modules`).toBeGreaterThan(0);
      expect(installs.filter((i) => !i.omitsDev), `stage ${from!.name} installs production dependencies only`).toEqual([]);
    }
  });

  it('removes the dev dependencies that `npm ci --omit=dev` keeps as optional peers of production packages, and nothing else', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
    const devNames = Object.keys(manifest.devDependencies);
    // npm omits `dev` entries; a `devOptional` one (a dev dependency that is also an optional peer) stays.
    const keptByNpm = devNames.filter((n) => lock.packages[`node_modules/${n}`]?.devOptional);
    const step = runInstructionMatching(stageNamed(dockerfile, 'prod-deps')!, /devOptional/);
    const app = makeTempDir('ls-ml-devopt-');
    try {
      fs.copyFileSync(path.join(PROJECT_ROOT, 'package.json'), path.join(app, 'package.json'));
      fs.copyFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), path.join(app, 'package-lock.json'));
      const present = [...new Set([...keptByNpm, ...Object.keys(manifest.dependencies), '@types/node'])];
      for (const name of present) fs.mkdirSync(path.join(app, 'node_modules', name), { recursive: true });
      execFileSync('/bin/sh', ['-c', step.args], { cwd: app, env: { PATH: process.env.PATH ?? '' }, stdio: 'pipe' });
      const left = present.filter((n) => fs.existsSync(path.join(app, 'node_modules', n)));
      expect(left.sort()).toEqual(present.filter((n) => !keptByNpm.includes(n)).sort());
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
    }
  });

  it('the checker above refuses the old image: node_modules pruned in the build stage is not an install without dev dependencies', () => {
    const old = parseDockerfile(
      ['FROM node:20-bookworm-slim AS build', 'RUN npm ci', 'RUN npm run build && npm prune --omit=dev', 'FROM node:20-bookworm-slim', 'COPY --from=build /app/node_modules ./node_modules'].join('\n'),
    );
    const installs = npmInstalls(effectiveInstructions(old, stageNamed(old, 'build')!));
    expect(installs.filter((i) => !i.omitsDev)).toEqual([{ command: 'npm ci', omitsDev: false }]);
  });

  it('has a HEALTHCHECK in the final stage, in exec form (no shell needed)', () => {
    const checks = only(finalStage.instructions, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const { flags, rest } = splitFlags(checks[0]!.args);
    expect(rest).toMatch(/^CMD\s/);
    expect(execForm(rest.replace(/^CMD\s+/, ''))?.[0]).toBe('node');
    expect(flags.timeout).toBeDefined();
  });

  it('enters through the package bin (the `ls-ml-backend` CLI) and starts the API by default', () => {
    const entry = execForm(only(finalStage.instructions, 'ENTRYPOINT').at(-1)!.args);
    const cmd = execForm(only(finalStage.instructions, 'CMD').at(-1)!.args);
    expect(entry).toEqual(['node', manifest.bin['ls-ml-backend']]);
    expect(cmd).toEqual(['start']);
    // dist/src/cli/index.js is compiled from src/cli/index.ts, and the final stage copies dist/.
    expect(fs.existsSync(path.join(PROJECT_ROOT, manifest.bin['ls-ml-backend']!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
    const copied = only(finalStage.instructions, 'COPY').flatMap((c) => copyPaths(c.args).sources);
    expect(copied).toContain('/app/dist');
    expect(copied).toContain('/app/package.json');
  });

  it('the CLI the entry point runs knows `start` and `worker` (the commands compose gives it)', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', '--help'], { cwd: PROJECT_ROOT });
    expect(stdout).toMatch(/^\s+start\b/m);
    expect(stdout).toMatch(/^\s+worker\b/m);
  });

  it('copies from the build context only paths that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const needed of ['node_modules', 'dist', 'data', '.git', 'bench/results']) expect(isIgnored(needed, ignored), needed).toBe(true);
    const sources = dockerfile.stages.flatMap((s) => only(s.instructions, 'COPY')).filter((c) => !copyPaths(c.args).from).flatMap((c) => copyPaths(c.args).sources);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(fs.existsSync(path.join(PROJECT_ROOT, source)), `${source} exists`).toBe(true);
      if (source !== '.') expect(isIgnored(source, ignored), `${source} is not in .dockerignore`).toBe(false);
    }
    // What the build compiles, and what the final stage takes from the build stage besides its output.
    const buildInputs = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    const fromBuild = only(finalStage.instructions, 'COPY')
      .filter((c) => copyPaths(c.args).from === 'build')
      .flatMap((c) => copyPaths(c.args).sources.map((s) => s.replace(/^\/app\//, '')))
      .filter((s) => s !== 'dist' && s !== 'node_modules');
    for (const input of [...buildInputs, ...fromBuild, 'tsconfig.json']) expect(isIgnored(input, ignored), `${input} reaches the build`).toBe(false);
  });
});

/** .dockerignore semantics for the plain patterns used here: a path, a path prefix or `**\/name`. */
function isIgnored(file: string, patterns: string[]): boolean {
  const parts = file.split('/');
  return patterns.some((p) => {
    const pattern = p.replace(/^\/+|\/+$/g, '');
    if (pattern.startsWith('**/')) return parts.includes(pattern.slice(3));
    if (pattern.startsWith('*.')) return file.endsWith(pattern.slice(1));
    return file === pattern || file.startsWith(`${pattern}/`);
  });
}

describe('onnxruntime binaries in the image', () => {
  const prodDeps = stageNamed(dockerfile, 'prod-deps');
  let prune: string;
  let realLayout: string[];
  let work: string;

  beforeAll(() => {
    expect(prodDeps, 'a prod-deps stage').toBeDefined();
    prune = runInstructionMatching(prodDeps!, /onnxruntime-node\/bin/).args;
    const bin = path.join(PROJECT_ROOT, 'node_modules/onnxruntime-node/bin');
    realLayout = listFiles(bin);
    expect(realLayout.some((f) => /^napi-v\d+\/linux\/x64\/onnxruntime_binding\.node$/.test(f))).toBe(true);
    expect(realLayout.some((f) => /\/(darwin|win32)\//.test(f)), 'the package ships other platforms (else this test proves nothing)').toBe(true);
    work = makeTempDir('ls-ml-ort-');
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  /** Empty files laid out like the installed package, under a fresh node_modules; returns the app folder. */
  function fakeInstall(name: string, layout: string[]): string {
    const app = path.join(work, name);
    for (const file of layout) {
      const target = path.join(app, 'node_modules/onnxruntime-node/bin', file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, '');
    }
    return app;
  }

  function runPrune(app: string, targetArch?: string) {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    if (targetArch !== undefined) env.TARGETARCH = targetArch;
    try {
      execFileSync('/bin/sh', ['-c', prune], { cwd: app, env, stdio: 'pipe' });
      return { ok: true, left: listFiles(path.join(app, 'node_modules/onnxruntime-node/bin')) };
    } catch (err) {
      return { ok: false, left: [] as string[], stderr: String((err as { stderr?: Buffer }).stderr ?? err) };
    }
  }

  it('keeps only linux/x64 of the real package layout for an amd64 image (and without BuildKit, which sets no TARGETARCH)', () => {
    const expected = realLayout.filter((f) => /^napi-v\d+\/linux\/x64\//.test(f));
    for (const arch of ['amd64', undefined]) {
      const result = runPrune(fakeInstall(`x64-${arch ?? 'default'}`, realLayout), arch);
      expect(result.ok).toBe(true);
      expect(result.left).toEqual(expected);
    }
  });

  it('keeps linux/arm64 for an arm64 image, and stops the build for an architecture it has no binary for', () => {
    const arm = runPrune(fakeInstall('arm64', realLayout), 'arm64');
    expect(arm.ok).toBe(true);
    expect(arm.left.length).toBeGreaterThan(0);
    expect(arm.left.every((f) => /^napi-v\d+\/linux\/arm64\//.test(f))).toBe(true);
    const other = runPrune(fakeInstall('s390x', realLayout), 's390x');
    expect(other.ok).toBe(false);
    expect(other.stderr).toContain('linux/s390x');
  });

  it('fails the build when a new package layout no longer has the binary where the step looks', () => {
    const moved = realLayout.map((f) => f.replace(/^napi-v\d+\/linux\//, 'linux/'));
    expect(runPrune(fakeInstall('moved', moved), 'amd64').ok).toBe(false);
  });
});

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

describe('the HEALTHCHECK command, run against a real server', () => {
  const [, ...args] = execForm(splitFlags(only(finalStage.instructions, 'HEALTHCHECK')[0]!.args).rest.replace(/^CMD\s+/, ''))!;
  let server: TestServer;
  let port: string;

  beforeAll(async () => {
    server = await startTestServer({ BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: 's3cret:with-colon' });
    port = new URL(server.url).port;
  });
  afterAll(() => server?.close());

  /** The check as Docker runs it in the container: the image's environment plus the container's. */
  async function check(env: Record<string, string>): Promise<number> {
    try {
      await run(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...imageEnv(), ...env }, timeout: 10_000 });
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }

  it('passes with the credentials the server requires (basic auth from the same variables)', async () => {
    expect(await check({ PORT: port, BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: 's3cret:with-colon' })).toBe(0);
  });

  it('fails when /health refuses it (401) and when nothing listens on PORT', async () => {
    expect(await check({ PORT: port })).toBe(1);
    expect(await check({ PORT: port, BASIC_AUTH_USER: 'ops', BASIC_AUTH_PASS: 'wrong' })).toBe(1);
    const closed = await startTestServer();
    const closedPort = new URL(closed.url).port;
    await closed.close();
    expect(await check({ PORT: closedPort })).toBe(1);
  });
});

/** Packages a TypeScript module loads at run time: type-only imports vanish when it is compiled. */
function valueImports(source: string, fileName: string): string[] {
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, removeComments: true },
    fileName,
  }).outputText;
  const found = new Set<string>();
  for (const m of js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire(?:\.resolve)?\s*\(\s*|^import\s+)(['"])([@\w][\w./@-]*)\1/gm)) {
    const spec = m[2]!;
    if (spec.startsWith('node:')) continue;
    found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return [...found];
}

describe('production dependencies (what `npm ci --omit=dev` leaves) cover what the shipped code imports', () => {
  /** Package → the non-test TypeScript files the build compiles that load it. */
  function shippedImports(): Map<string, string[]> {
    const include = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    const byPackage = new Map<string, string[]>();
    const visit = (rel: string) => {
      const full = path.join(PROJECT_ROOT, rel);
      if (fs.statSync(full).isDirectory()) {
        for (const entry of fs.readdirSync(full)) if (entry !== 'node_modules' && entry !== 'fixtures') visit(path.join(rel, entry));
        return;
      }
      if (!rel.endsWith('.ts') || rel.endsWith('.d.ts') || rel.endsWith('.test.ts')) return;
      for (const pkg of valueImports(fs.readFileSync(full, 'utf8'), full)) byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), rel]);
    };
    for (const root of include) visit(root);
    return byPackage;
  }

  it('every package the compiled code loads is a production dependency (or the package itself)', () => {
    const imports = shippedImports();
    expect(imports.has('express'), 'the scan finds the server framework').toBe(true);
    const missing = [...imports].filter(([pkg]) => pkg !== manifest.name && !(pkg in manifest.dependencies)).map(([pkg, files]) => `${pkg} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('the scan sees value imports of any form and ignores type-only ones and strings that merely mention a package', () => {
    const source = [
      "import { describe } from 'vitest';",
      "import type { Page } from 'playwright-core';",
      "import '@scope/side-effect/register';",
      "const lazy = () => import('uplot/dist/x.js');",
      "const hint = 'import x from ' + \"y, z\";",
      'export const d = [describe, lazy, hint];',
    ].join('\n');
    expect(valueImports(source, path.join(os.tmpdir(), 'probe.ts')).sort()).toEqual(['@scope/side-effect', 'uplot', 'vitest']);
  });
});
