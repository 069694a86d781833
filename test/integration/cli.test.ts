/**
 * The `ls-ml-backend` command as a user runs it: real processes (`node --import tsx src/cli/index.ts`), exit
 * codes and what they print. Start-up failures are one line (`ls-ml-backend: <problem> — <fix>`, exit 2, no
 * stack); a model file in a folder outside this repo (no package.json, no node_modules) is served and trained
 * through `--model`; `train --wait` follows a job and exits non-zero when it fails; `create` writes a project.
 * The packed package and the built CLI are proven by test/scaffold/run.sh (CI runs it after the tests).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllProcesses, PROJECT_ROOT, spawnCli, type CliProcess } from '../support/processes.js';
import { request } from '../support/server.js';

// By absolute paths: some runs start in folders where `tsx` would not resolve.
const CLI = ['--import', pathToFileURL(path.join(PROJECT_ROOT, 'node_modules/tsx/dist/loader.mjs')).href, path.join(PROJECT_ROOT, 'src/cli/index.ts')];
const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end with only PATH/HOME/TMPDIR from this process's environment, plus `env`. */
function runCli(args: string[], env: Record<string, string> = {}, cwd = PROJECT_ROOT, timeoutMs = 60_000): Promise<CliRun> {
  const base: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR']) if (process.env[key] !== undefined) base[key] = process.env[key]!;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd, env: { ...base, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ls-ml-backend ${args.join(' ')} still running after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit code 2 and one stderr line `ls-ml-backend: <problem> — <fix>`, without a stack trace anywhere. */
function expectStartupFailure(run: CliRun, problem: RegExp): void {
  expect(run.code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(2);
  expect(run.stderr).toMatch(/^ls-ml-backend: [^\n]+ — [^\n]+\n$/);
  expect(run.stderr).toMatch(problem);
  expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at /);
}

let dir: string;
const write = (file: string, text: string) => {
  const full = path.join(dir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  return full;
};

beforeAll(() => {
  // Outside the repo: the model files below have no package.json and no node_modules to resolve from.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-cli-'));
});

afterAll(async () => {
  await killAllProcesses();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('help and version', () => {
  it('--version prints the package version', async () => {
    const run = await runCli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it.each([[[]], [['start']], [['serve']], [['worker']], [['train']], [['create']]])('--help works on %j', async (command) => {
    const run = await runCli([...command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: ls-ml-backend/);
  });

  it('start --help names its flags and the environment', async () => {
    const { stdout } = await runCli(['start', '--help']);
    for (const text of ['start|serve', '--model', '--port', '--host', 'MODEL_DIR', 'REDIS_URL']) expect(stdout).toContain(text);
  });
});

describe.concurrent('start-up failures: one line, the fix, exit code 2', () => {
  it('an unknown model name', async () => {
    expectStartupFailure(await runCli(['start'], { MODEL: 'nope' }), /model "nope" not found .* built-in name \(built-in, keyword-choices, span-tagger, text-classifier\)/);
  });

  it('a model file that does not compile', async () => {
    const file = write('broken/syntax.ts', "import { Model } from 'ls-ml-backend';\nexport default class X extends Model {\n  predict( { return []; }\n}\n");
    expectStartupFailure(await runCli(['start', '--model', file]), /model .*syntax\.ts does not compile: .*syntax\.ts:3:\d+: ERROR: .* — fix the syntax error/);
  });

  it('a model file that throws while loading', async () => {
    const file = write('broken/throws.ts', "throw new Error('cannot open weights.bin');\nexport default 1;\n");
    expectStartupFailure(await runCli(['start', '--model', file]), /model .*throws\.ts failed to load: cannot open weights\.bin — /);
  });

  it('a model file importing a package that is not installed', async () => {
    const file = write('broken/missing.ts', "import { Model } from 'ls-ml-backend';\nimport pad from 'no-such-package-xyz';\nexport default class X extends Model { predict() { return pad; } }\n");
    expectStartupFailure(await runCli(['start', '--model', file]), /Cannot find package 'no-such-package-xyz'.* — install it next to the model \(npm install no-such-package-xyz\)/);
  });

  it('a model file without a Model subclass', async () => {
    const file = write('broken/plain.ts', 'export default class NotAModel { predict() { return []; } }\n');
    expectStartupFailure(await runCli(['start', '--model', file]), /does not export a Model subclass \(its default export is `NotAModel`, which does not extend Model\)/);
  });

  it('a port in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const run = await runCli(['start', '--port', String(port), '--host', '127.0.0.1'], { MODEL: 'keyword-choices', MODEL_DIR: path.join(dir, 'data-port') });
      expectStartupFailure(run, new RegExp(`port ${port} is already in use .* choose another port with --port`));
    } finally {
      blocker.close();
    }
  });

  it('a MODEL_DIR that cannot be a writable folder', async () => {
    const file = write('a-file', 'not a folder');
    const run = await runCli(['start'], { MODEL: 'keyword-choices', MODEL_DIR: path.join(file, 'data') });
    expectStartupFailure(run, /MODEL_DIR .*a-file\/data is not a writable folder \(ENOTDIR\) — set MODEL_DIR/);
  });

  it('a bad environment variable', async () => {
    expectStartupFailure(await runCli(['start'], { PORT: 'ninety' }), /invalid configuration: PORT: .* — set a valid value/);
  });

  it('a worker without REDIS_URL', async () => {
    expectStartupFailure(await runCli(['worker'], { MODEL: 'keyword-choices', MODEL_DIR: path.join(dir, 'data-worker') }), /the worker needs REDIS_URL .* — set REDIS_URL/);
  });

  it('train against a backend that is not running', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    await new Promise((resolve) => blocker.close(resolve));
    expectStartupFailure(await runCli(['train', '1', '--url', `http://127.0.0.1:${port}`]), /cannot reach the backend at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) — start it/);
  });

  it('create into a folder that is not empty', async () => {
    write('taken/file.txt', 'x');
    expectStartupFailure(await runCli(['create', path.join(dir, 'taken')]), /taken already exists and is not an empty folder — choose a new folder name/);
  });
});

/** A model as a user writes it in any folder: the SDK by package name, a relative .ts import, top-level await. */
const USER_MODEL = `
import { Model, NonRetryableError, choices, choicesOf, type FitContext, type FitResult, type Prediction, type Task, type TrainingAction } from 'ls-ml-backend';
import { words } from './lib/words.js';

const ready: boolean = await Promise.resolve(true);

export default class KeywordModel extends Model {
  private keywords: Record<string, string> = {};

  override async setup(): Promise<void> {
    const artifact = await this.loadArtifact();
    if (artifact) this.keywords = JSON.parse(new TextDecoder().decode(artifact)) as Record<string, string>;
  }

  override predict(tasks: Task[]): Prediction[] {
    const target = this.findTag('Choices', 'Text');
    return tasks.map((task) => {
      const label = target && ready ? words(String(task.data[target.value] ?? '')).map((w) => this.keywords[w]).find(Boolean) : undefined;
      return target && label ? { result: [choices(target.fromName, target.toName, [label])], score: 1 } : { result: [], score: 0 };
    });
  }

  override fit(_event: TrainingAction, _data: unknown, ctx: FitContext): FitResult {
    const target = this.findTag('Choices', 'Text');
    if (!target || ctx.examples.length === 0) throw new NonRetryableError('nothing to learn from yet');
    const keywords: Record<string, string> = {};
    for (const example of ctx.examples) {
      const label = choicesOf(example.result, target.fromName)[0];
      if (label) for (const word of words(String(example.data[target.value]))) keywords[word] = label;
    }
    return { artifact: new TextEncoder().encode(JSON.stringify(keywords)), metrics: { words: Object.keys(keywords).length } };
  }
}
`;

const LABEL_CONFIG = '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>';
const PROJECT_UID = '1.1700000000';

function annotationCreated(id: number, text: string, label: string) {
  return {
    action: 'ANNOTATION_CREATED',
    project: { id: 1 },
    task: { id, data: { text } },
    annotation: { id, task: id, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [label] } }] },
  };
}

async function startApi(args: string[], env: Record<string, string>): Promise<CliProcess & { url: string }> {
  const proc = spawnCli(['serve', ...args], { TRAIN_DEBOUNCE_MS: '0', MODEL_DIR: fs.mkdtempSync(path.join(dir, 'data-')), ...env });
  const line = await proc.waitForLog('ls-ml-backend listening', 30_000);
  return Object.assign(proc, { url: String(line.url) });
}

describe('a TypeScript model file from a folder outside the repo', () => {
  let api: CliProcess & { url: string };

  beforeAll(async () => {
    const file = write('my-model/model.ts', USER_MODEL);
    write('my-model/lib/words.ts', "export const words = (text: string): string[] => text.toLowerCase().match(/[a-z]+/g) ?? [];\n");
    api = await startApi(['--model', file], {});
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('is served under its own class name', async () => {
    expect((await request(`${api.url}/health`)).body).toMatchObject({ status: 'UP', model_class: 'KeywordModel' });
    const setup = await request(`${api.url}/setup`, { method: 'POST', body: JSON.stringify({ project: PROJECT_UID, schema: LABEL_CONFIG }) });
    expect(setup.body).toEqual({ model_version: 'KeywordModel-v0' });
  });

  it('train --wait exits 1 with the reason when the training fails, without retrying', async () => {
    const run = await runCli(['train', '1', '--url', api.url, '--wait']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^training requested: project 1, job (\S+)\n/);
    expect(run.stdout).toMatch(/\ntraining failed in [\d.]+ m?s: nothing to learn from yet\n$/);
    const jobId = /job (\S+)\n/.exec(run.stdout)![1]!;
    expect((await request(`${api.url}/jobs/${jobId}`)).body).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('train --wait trains it in a training thread and exits 0 once the new version serves', async () => {
    for (const [id, text, label] of [[1, 'great stuff', 'Positive'], [2, 'awful stuff', 'Negative']] as const) {
      const answer = await request(`${api.url}/webhook`, { method: 'POST', body: JSON.stringify(annotationCreated(id, text, label)) });
      expect(answer.body).toEqual({ status: 'ok', job: null }); // stored; too few annotations to train by themselves
    }
    const run = await runCli(['train', '1', '--url', api.url, '--wait']);
    expect(run.code, run.stderr).toBe(0);
    // Not a terminal: one plain line per change, no progress bar.
    expect(run.stdout).toMatch(/\njob \S+: (waiting|active|completed) \d+%\n/);
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).toMatch(/\ntraining completed in [\d.]+ m?s: new version KeywordModel-v1, metrics \{"words":3\}\n$/);
    const predicted = await request(`${api.url}/predict`, { method: 'POST', body: JSON.stringify({ project: PROJECT_UID, tasks: [{ id: 3, data: { text: 'so GREAT' } }] }) });
    expect(predicted.body.results).toEqual([
      { model_version: 'KeywordModel-v1', score: 1, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } }] },
    ]);
  });
});

describe('POST /projects/:id/train behind basic auth, and a JavaScript model file', () => {
  let api: CliProcess & { url: string };
  const auth = { BASIC_AUTH_USER: 'trainer', BASIC_AUTH_PASS: 's3cret' };

  beforeAll(async () => {
    const file = write(
      'js-model/model.js',
      "import { Model } from 'ls-ml-backend';\nexport default class PlainJs extends Model {\n  predict(tasks) { return tasks.map(() => ({ result: [], score: 0 })); }\n}\n",
    );
    api = await startApi(['--model', file], auth);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('serves the .js model', async () => {
    const health = await request(`${api.url}/health`, { headers: { authorization: `Basic ${Buffer.from('trainer:s3cret').toString('base64')}` } });
    expect(health.body).toMatchObject({ model_class: 'PlainJs' });
  });

  it('answers 201 with the job, as a START_TRAINING webhook does; 401 without credentials; 400 for a bad id', async () => {
    const authorization = `Basic ${Buffer.from('trainer:s3cret').toString('base64')}`;
    expect((await request(`${api.url}/projects/7/train`, { method: 'POST' })).status).toBe(401);
    const accepted = await request(`${api.url}/projects/7/train`, { method: 'POST', headers: { authorization } });
    expect(accepted.status).toBe(201);
    expect(accepted.body).toEqual({ status: 'ok', job: expect.any(String) });
    const job = await request(`${api.url}/jobs/${accepted.body.job}`, { headers: { authorization } });
    expect(job.body).toMatchObject({ projectId: '7', event: 'START_TRAINING' });
    const refused = await request(`${api.url}/projects/not%20an%20id/train`, { method: 'POST', headers: { authorization } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: expect.any(String), details: [{ path: ['id'] }] });
  });

  it('train takes credentials from the URL or BASIC_AUTH_USER/PASS, and says so when they are missing', async () => {
    expectStartupFailure(await runCli(['train', '7', '--url', api.url]), /asks for credentials \(401\) — put them in the URL/);
    const withUrl = await runCli(['train', '7', '--url', api.url.replace('http://', 'http://trainer:s3cret@')]);
    expect(withUrl.code, withUrl.stderr).toBe(0);
    expect(withUrl.stdout).toMatch(/^training requested: project 7, job \S+\n$/);
    const fromEnv = await runCli(['train', '7'], { ...auth, LS_ML_BACKEND_URL: api.url });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
  });
});

describe('create', () => {
  const manifestOf = (project: string) => JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as Record<string, any>;

  it('writes a project that depends on the given tarball and starts its model', async () => {
    const tarball = write('packs/ls-ml-backend-9.9.9.tgz', '');
    const project = path.join(dir, 'projects', 'My Backend');
    const run = await runCli(['create', project, '--sdk', tarball], {}, dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('npm install');
    expect(fs.readdirSync(project).sort()).toEqual(
      ['.dockerignore', '.gitignore', 'Dockerfile', 'README.md', 'docker-compose.yml', 'model.test.ts', 'model.ts', 'package.json', 'tsconfig.json'],
    );
    const manifest = manifestOf(project);
    expect(manifest).toMatchObject({
      name: 'my-backend',
      type: 'module',
      scripts: { start: 'ls-ml-backend start --model ./model.ts', test: 'tsc --noEmit && vitest run' },
      dependencies: { 'ls-ml-backend': 'file:../../packs/ls-ml-backend-9.9.9.tgz' },
      allowScripts: { 'onnxruntime-node': false, 'better-sqlite3': true },
    });
    expect(Object.keys(manifest.devDependencies).sort()).toEqual(['@types/node', 'typescript', 'vitest']);
    expect(fs.readFileSync(path.join(project, 'README.md'), 'utf8')).toMatch(/^# my-backend\n/);
  });

  it('depends on this version by default and writes other specs as given', async () => {
    const byDefault = path.join(dir, 'projects', 'default-spec');
    expect((await runCli(['create', byDefault])).code).toBe(0);
    expect(manifestOf(byDefault).dependencies).toEqual({ 'ls-ml-backend': `^${VERSION}` });
    const tagged = path.join(dir, 'projects', 'tagged');
    expect((await runCli(['create', tagged, '--sdk', 'next'])).code).toBe(0);
    expect(manifestOf(tagged).dependencies).toEqual({ 'ls-ml-backend': 'next' });
  });

  it('refuses a --sdk path that does not exist', async () => {
    expectStartupFailure(await runCli(['create', path.join(dir, 'projects', 'nope'), '--sdk', './missing.tgz'], {}, dir), /--sdk \.\/missing\.tgz: .*missing\.tgz does not exist/);
  });
});
