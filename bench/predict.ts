/**
 * /predict bench: Label Studio-shaped bodies with 1 task (rotating over thousands of texts) and with
 * 100 tasks, wrk -t2 -c8, against a project that was set up and trained (10,000 annotations +
 * START_TRAINING, job awaited through GET /jobs/:id), beside a minimal Express app measured the same way.
 * Both servers stay up and the 1-task runs alternate between them (`--rounds`, after a warm-up of each):
 * this machine's speed drifts by ±15% from one run to the next, so a ratio from two runs taken a minute
 * apart says more about the drift than about the backend.
 * Then: /predict latency while trainings of that 10k-annotation project run back to back in the same
 * process (predicting on another project, and on the project being retrained), and the API process's
 * RSS after 20 more projects were set up, trained and served.
 *
 *   npm run bench:predict [-- --model built-in --duration 10 --rounds 3 --warmup 3 --annotations 10000
 *                              --rss-projects 20 --skip-info --out predict]
 *
 * If the model fails to start, set up or train, the bench falls back to keyword-choices and says so.
 * Prints tables; writes bench/results/<out>.json (default predict.json). Needs wrk (apt-get install -y wrk).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { annotationsCreated, predictBody, projectUid, setupBody, startTraining, type AnnotationSpec, type ProjectCounters } from './lib/labelstudio.js';
import { ran, waitForJobs, type JobView } from './lib/jobs.js';
import { diff, scrapeRoute, summarize } from './lib/metrics.js';
import { startApiServer, startMinimalExpress, type RunningProcess } from './lib/processes.js';
import { textGenerator } from './lib/texts.js';
import { fmtOther, pctOfCore, machineInfo, mapLimit, mustJson, printTable, round, waitForQuiet, writeResult } from './lib/util.js';
import { requireWrk, runWrk, type WrkResult } from './lib/wrk.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'predict' },
    model: { type: 'string', default: 'built-in' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    annotations: { type: 'string', default: '10000' },
    'rss-projects': { type: 'string', default: '20' },
    threads: { type: 'string', default: '2' },
    connections: { type: 'string', default: '8' },
    'skip-info': { type: 'boolean', default: false },
  },
});
const cfg = {
  requestedModel: args.model!,
  durationS: Number(args.duration),
  rounds: Number(args.rounds),
  warmupS: Number(args.warmup),
  annotations: Number(args.annotations),
  rssProjects: Number(args['rss-projects']),
  threads: Number(args.threads),
  connections: Number(args.connections),
  // Only START_TRAINING trains (annotation uploads never do), and without debounce, so each training
  // the bench asks for starts at once and is the only one running.
  trainEnv: { TRAIN_EVERY_N_CHANGES: '1000000000', TRAIN_DEBOUNCE_MS: '0' },
};
const TARGETS = { singleVsExpress: 0.7, singleP99Ms: 15, batchTasksPerSec: 16_000 };
const MAIN = 1; // the 10k-annotation project
const OTHER = 2; // a small trained project, predicted on while MAIN retrains

requireWrk();
const t0 = Date.now();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-predict-'));
const wrkBase = { threads: cfg.threads, connections: cfg.connections, durationS: cfg.durationS };

// ---- request bodies: every request has different texts
const texts = textGenerator(7);
const writeBodies = (name: string, count: number, tasksPerBody: number, projectId: number) => {
  const file = path.join(tmp, name);
  let taskId = 1_000_000;
  const lines = Array.from({ length: count }, () =>
    JSON.stringify(predictBody(projectId, Array.from({ length: tasksPerBody }, () => ({ id: taskId++, text: texts().text })))),
  );
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, bytes: Math.round(fs.statSync(file).size / count) };
};
const single = writeBodies('single.ndjson', 5000, 1, MAIN);
const batch = writeBodies('batch.ndjson', 300, 100, MAIN);
const singleOther = writeBodies('single-other.ndjson', 5000, 1, OTHER);
console.log(`predict bodies: 1 task ≈ ${single.bytes} B (5,000 distinct), 100 tasks ≈ ${Math.round(batch.bytes / 1024)} KB (300 distinct)`);

interface Phase {
  name: string;
  tasksPerRequest: number;
  /** alternating idle rounds: this run's minimal Express phase has the same round number */
  round?: number;
  wrk: WrkResult;
  server: ReturnType<typeof summarize> | null;
  training?: TrainingWindow;
}
const phases: Phase[] = [];
const memory: Record<string, { rssMiB: number; peakRssMiB: number } | null> = {};

// ---- 1. the minimal Express app (the baseline), up until the idle rounds are done
const minimal = await startMinimalExpress(tmp);
const measureMinimal = async (tasksPerRequest: number, bodiesFile: string, round?: number): Promise<Phase> => ({
  name: 'minimal Express 5',
  tasksPerRequest,
  ...(round === undefined ? {} : { round }),
  wrk: await runWrk({ ...wrkBase, url: minimal.url, path: '/predict', bodiesFile, serverPid: minimal.pid }),
  server: null,
});

// ---- 2. the backend, with the requested model (or the fallback)
let model = cfg.requestedModel;
let fallbackReason: string | null = null;
let server: RunningProcess;
let mainTraining: JobView;
try {
  ({ server, training: mainTraining } = await startPrepared(model));
} catch (err) {
  if (model === 'keyword-choices') throw err;
  fallbackReason = err instanceof Error ? err.message : String(err);
  console.warn(`\n!! MODEL=${model} did not work; falling back to MODEL=keyword-choices. Reason:\n${fallbackReason.slice(0, 2000)}\n`);
  model = 'keyword-choices';
  ({ server, training: mainTraining } = await startPrepared(model));
}

let rssProjectsTrained = 0;
let samplePrediction: unknown;
try {
  const otherTraining = await prepareProject(server, OTHER, 500);
  memory[`2 projects trained (${cfg.annotations} + 500 annotations)`] = server.memory();
  samplePrediction = (await mustJson<{ results: unknown[] }>(`${server.url}/predict`, { body: JSON.parse(fs.readFileSync(single.file, 'utf8').split('\n')[0]!) })).results[0];
  console.log(`  trained: project ${MAIN} in ${mainTraining.durationMs} ms (${cfg.annotations} annotations), project ${OTHER} in ${otherTraining.durationMs} ms; sample: ${JSON.stringify(samplePrediction).slice(0, 200)}`);

  console.log(`\n[${model}] idle: ${cfg.warmupS} s warm-up of each server, then ${cfg.rounds} rounds of 1-task /predict (minimal Express, then the backend), then 100-task`);
  await runWrk({ ...wrkBase, durationS: cfg.warmupS, url: minimal.url, path: '/predict', bodiesFile: single.file, serverPid: minimal.pid });
  await runWrk({ ...wrkBase, durationS: cfg.warmupS, url: server.url, path: '/predict', bodiesFile: single.file, serverPid: server.pid });
  for (let round = 1; round <= cfg.rounds; round++) {
    phases.push(await measureMinimal(1, single.file, round));
    phases.push({ ...(await measure(`backend idle`, 1, { bodiesFile: single.file })), round });
  }
  phases.push(await measureMinimal(100, batch.file));
  phases.push(await measure(`backend idle`, 100, { bodiesFile: batch.file }));
  await minimal.stop();

  console.log(`[${model}] trainings of the ${cfg.annotations}-annotation project back to back while predicting`);
  phases.push(await measure(`during training (other project)`, 1, { bodiesFile: singleOther.file, trainProject: MAIN }));
  phases.push(await measure(`during training (same project, hot swaps)`, 1, { bodiesFile: single.file, trainProject: MAIN }));
  memory['after the load phases'] = server.memory();

  console.log(`[${model}] ${cfg.rssProjects} more projects: set up, train (200 annotations each), predict`);
  const ids = Array.from({ length: cfg.rssProjects }, (_, i) => 101 + i);
  await mapLimit(ids, 4, (p) => mustJson(`${server.url}/setup`, { body: setupBody(p) }));
  await mapLimit(ids, 4, (p) => upload(server, p, 200));
  const jobs = await mapLimit(ids, 4, async (p) => (await mustJson<{ job: string }>(`${server.url}/webhook`, { body: startTraining(p, counters(200)) })).job);
  const views = await waitForJobs(server.url, jobs);
  rssProjectsTrained = [...views.values()].filter(ran).length;
  const batchBody = JSON.parse(fs.readFileSync(batch.file, 'utf8').split('\n')[0]!) as Record<string, unknown>;
  for (const p of ids) for (let i = 0; i < 3; i++) await mustJson(`${server.url}/predict`, { body: { ...batchBody, project: projectUid(p) } });
  memory[`after ${cfg.rssProjects} more trained projects served (${cfg.rssProjects + 2} in all)`] = server.memory();
} catch (err) {
  console.error(`server log tail:\n${server.logTail()}`);
  throw err;
} finally {
  await server.stop();
  await minimal.stop();
}

// ---- 3. one run at the default log level (info): a fresh server, smaller project
if (!args['skip-info']) {
  console.log(`\n[${model}, LOG_LEVEL=info] fresh server, project ${MAIN} with 1,000 annotations, 1-task /predict`);
  const info = await startPrepared(model, 'info', 1000);
  try {
    const phase = await measureOn(info.server, 'backend idle, LOG_LEVEL=info', 1, { bodiesFile: single.file });
    phases.push(phase);
  } finally {
    await info.server.stop();
  }
}

// ---- helpers
function counters(finished: number): ProjectCounters {
  return { taskNumber: finished, finished, minAnnotationsToStartTraining: 10 };
}

/** Label Studio's bulk import event, 100 annotations per request. */
async function upload(s: RunningProcess, projectId: number, count: number): Promise<void> {
  const gen = textGenerator(1000 + projectId);
  for (let first = 1; first <= count; first += 100) {
    const items: AnnotationSpec[] = [];
    for (let seq = first; seq < Math.min(count + 1, first + 100); seq++) {
      items.push({ projectId, taskId: projectId * 1_000_000 + seq, annotationId: projectId * 1_000_000 + seq, seq, item: gen() });
    }
    await mustJson(`${s.url}/webhook`, { body: annotationsCreated(items, projectId, counters(first + items.length - 1)) });
  }
}

/** /setup, upload the annotations, START_TRAINING, wait for the job; throws if it did not complete. */
async function prepareProject(s: RunningProcess, projectId: number, annotations: number): Promise<JobView> {
  await mustJson(`${s.url}/setup`, { body: setupBody(projectId) });
  await upload(s, projectId, annotations);
  const { job } = await mustJson<{ job: string }>(`${s.url}/webhook`, { body: startTraining(projectId, counters(annotations)) });
  const view = (await waitForJobs(s.url, [job], 120_000, 50)).get(job);
  if (!ran(view)) throw new Error(`training of project ${projectId} did not complete: ${JSON.stringify(view)}`);
  return view!;
}

async function startPrepared(modelName: string, logLevel = 'warn', annotations = cfg.annotations) {
  const s = await startApiServer({ name: `api-${modelName}-${logLevel}`, model: modelName, logLevel, modelDir: fs.mkdtempSync(path.join(tmp, 'models-')), env: cfg.trainEnv });
  try {
    memory[`${logLevel}: after start (idle)`] = s.memory();
    console.log(`\n[${modelName}] pid ${s.pid}: set up project ${MAIN}, upload ${annotations} annotations, train`);
    return { server: s, training: await prepareProject(s, MAIN, annotations) };
  } catch (err) {
    const tail = s.logTail(20);
    await s.stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nserver log tail:\n${tail}`);
  }
}

interface TrainingWindow {
  trainings: number;
  failed: number;
  /** share of the wrk window during which a training was running */
  coverage: number;
  meanTrainingMs: number;
  examples: unknown;
}

function measure(name: string, tasksPerRequest: number, o: { bodiesFile: string; trainProject?: number }): Promise<Phase> {
  return measureOn(server, name, tasksPerRequest, o);
}

async function measureOn(s: RunningProcess, name: string, tasksPerRequest: number, o: { bodiesFile: string; trainProject?: number }): Promise<Phase> {
  const cpuBusyBefore = await waitForQuiet([s.pid]);
  const h0 = await scrapeRoute(s.url, '/predict');
  const windowStart = Date.now();
  const load = runWrk({ ...wrkBase, url: s.url, path: '/predict', bodiesFile: o.bodiesFile, waitQuiet: false, serverPid: s.pid });
  const training = o.trainProject === undefined ? undefined : trainUntil(s, o.trainProject, load);
  const wrk = { ...(await load), cpuBusyBefore };
  const windowEnd = Date.now();
  const runs = training ? await training : [];
  const h1 = await scrapeRoute(s.url, '/predict');
  let window: TrainingWindow | undefined;
  if (training) {
    const busy = runs.reduce((sum, j) => {
      const a = Math.max(windowStart, Date.parse(j.startedAt ?? '') || windowStart);
      const b = Math.min(windowEnd, Date.parse(j.finishedAt ?? '') || windowEnd);
      return sum + Math.max(0, b - a);
    }, 0);
    const done = runs.filter(ran);
    window = {
      trainings: done.length,
      failed: runs.filter((j) => j.status === 'failed').length,
      coverage: round(busy / (windowEnd - windowStart), 3),
      meanTrainingMs: round(done.reduce((sum, j) => sum + (j.durationMs ?? 0), 0) / Math.max(1, done.length), 0),
      examples: (done[0]?.result as { examples?: number } | null)?.examples ?? null,
    };
  }
  return { name, tasksPerRequest, wrk, server: summarize(diff(h1, h0)), training: window };
}

/** START_TRAINING, wait for the job, again, until `until` settles: a training is running nearly all the time. */
async function trainUntil(s: RunningProcess, projectId: number, until: Promise<unknown>): Promise<JobView[]> {
  let stop = false;
  void until.finally(() => (stop = true)).catch(() => {});
  const runs: JobView[] = [];
  while (!stop) {
    const { job } = await mustJson<{ job: string }>(`${s.url}/webhook`, { body: startTraining(projectId, counters(cfg.annotations)) });
    const view = (await waitForJobs(s.url, [job], 120_000, 20)).get(job);
    if (view) runs.push(view);
  }
  return runs;
}

// ---- report
const minimalRounds = phases.filter((p) => p.name === 'minimal Express 5' && p.tasksPerRequest === 1);
const idleRounds = phases.filter((p) => p.name === 'backend idle' && p.tasksPerRequest === 1 && p.round !== undefined);
const meanRps = (ps: Phase[]) => round(ps.reduce((sum, p) => sum + p.wrk.requestsPerSec, 0) / ps.length, 1);
const expressSingle = meanRps(minimalRounds);
const expressBatch = phases.find((p) => p.name === 'minimal Express 5' && p.tasksPerRequest === 100)!.wrk.requestsPerSec;
/** A round is compared with the minimal app's run just before it; everything else with the minimal app's mean. */
const baselineOf = (p: Phase) =>
  p.tasksPerRequest === 100 ? expressBatch : (minimalRounds.find((m) => p.round !== undefined && m.round === p.round)?.wrk.requestsPerSec ?? expressSingle);
const label = (p: Phase) => `${p.name === 'minimal Express 5' ? p.name : `${model}: ${p.name}`}${p.round === undefined ? '' : `, round ${p.round}`}`;

if (fallbackReason) console.log(`\nNOTE: MODEL=${cfg.requestedModel} did not work; these numbers are for MODEL=keyword-choices (reason in predict.json).`);
printTable(
  `/predict, wrk -t${cfg.threads} -c${cfg.connections} -d${cfg.durationS}s, every request different texts (model: ${model}${fallbackReason ? `, fallback from ${cfg.requestedModel}` : ''})`,
  ['target', 'tasks/req', 'req/s', 'tasks/s', 'vs express', 'p50 ms', 'p99 ms', 'max ms', 'server p50', 'server p99', 'non-2xx', 'server CPU (core %)', 'other load before/during'],
  phases.map((p) => {
    const base = baselineOf(p);
    return [
      label(p),
      p.tasksPerRequest,
      p.wrk.requestsPerSec,
      round(p.wrk.requestsPerSec * p.tasksPerRequest, 0),
      round(p.wrk.requestsPerSec / base, 2).toFixed(2),
      p.wrk.latencyMs.p50,
      p.wrk.latencyMs.p99,
      p.wrk.latencyMs.max,
      p.server?.p50Ms ?? null,
      p.server?.p99Ms ?? null,
      p.wrk.non2xx + p.wrk.errors.connect + p.wrk.errors.read + p.wrk.errors.write + p.wrk.errors.timeout,
      pctOfCore(p.wrk.cpuDuring.server),
      fmtOther(p.wrk.cpuBusyBefore, p.wrk.cpuDuring),
    ];
  }),
);

printTable(
  `Trainings during the window (${cfg.annotations}-annotation project, START_TRAINING again as soon as one finishes)`,
  ['phase', 'trainings', 'failed', 'window covered', 'mean training ms', 'examples'],
  phases.filter((p) => p.training).map((p) => [p.name, p.training!.trainings, p.training!.failed, `${round(p.training!.coverage * 100, 1)}%`, p.training!.meanTrainingMs, String(p.training!.examples)]),
);

printTable('API process memory (VmRSS / VmHWM from /proc/<pid>/status)', ['when', 'RSS MiB', 'peak MiB'], Object.entries(memory).map(([k, v]) => [k, v?.rssMiB ?? null, v?.peakRssMiB ?? null]));

const idle100 = phases.find((p) => p.name === 'backend idle' && p.tasksPerRequest === 100)!;
const backendSingle = meanRps(idleRounds);
const roundRatios = idleRounds.map((p) => round(p.wrk.requestsPerSec / baselineOf(p), 2).toFixed(2));
/** The worst round's p99: the target must hold in every round. */
const idleP99 = Math.max(...idleRounds.map((p) => p.wrk.latencyMs.p99));
const checks = [
  {
    check: `1 task/request throughput vs minimal Express (mean of ${idleRounds.length} alternating rounds)`,
    target: `≥ ${TARGETS.singleVsExpress * 100}%`,
    measured: `${round((backendSingle / expressSingle) * 100, 1)}% (${backendSingle} vs ${expressSingle} req/s; rounds ${roundRatios.join(', ')})`,
    pass: backendSingle >= TARGETS.singleVsExpress * expressSingle,
  },
  { check: '1 task/request p99 (wrk, worst round)', target: `≤ ${TARGETS.singleP99Ms} ms`, measured: `${idleP99} ms`, pass: idleP99 <= TARGETS.singleP99Ms },
  {
    check: '100 tasks/request',
    target: `≥ ${TARGETS.batchTasksPerSec.toLocaleString('en-US')} tasks/s`,
    measured: `${round(idle100.wrk.requestsPerSec * 100, 0).toLocaleString('en-US')} tasks/s`,
    pass: idle100.wrk.requestsPerSec * 100 >= TARGETS.batchTasksPerSec,
  },
  ...phases
    .filter((p) => p.training)
    .map((p) => ({ check: `p99 ${p.name} vs idle`, target: 'info', measured: `${p.wrk.latencyMs.p99} ms vs ${idleP99} ms idle (worst round)`, pass: null as boolean | null })),
];
printTable(`Targets (model: ${model})`, ['check', 'target', 'measured', 'pass'], checks.map((c) => [c.check, c.target, c.measured, c.pass === null ? 'info' : c.pass ? 'PASS' : 'FAIL']));

const file = writeResult(args.out!, {
  bench: 'predict',
  at: new Date().toISOString(),
  totalSeconds: round((Date.now() - t0) / 1000, 1),
  machine: { ...machineInfo(), loadAvg: os.loadavg().map((l) => round(l, 2)) },
  config: { ...cfg, model, singleBodyBytes: single.bytes, batchBodyBytes: batch.bytes },
  modelFallback: fallbackReason ? { requested: cfg.requestedModel, used: model, reason: fallbackReason } : null,
  mainTraining,
  samplePrediction,
  targets: TARGETS,
  checks,
  phases,
  memory,
  rssProjects: { requested: cfg.rssProjects, trained: rssProjectsTrained },
  notes: [
    'Server, wrk and this script run as separate processes on the same machine (loopback); trainings run in a worker thread of the API process.',
    'During-training phases send START_TRAINING again as soon as the previous job finishes; "window covered" is the share of the wrk window with a training running.',
    'Server p50/p99 are estimated from histogram bucket diffs (buckets 0.5/1/2.5/5/10 ms…), linear inside a bucket.',
  ],
});
console.log(`\ndone in ${round((Date.now() - t0) / 1000, 1)} s → ${file}`);
fs.rmSync(tmp, { recursive: true, force: true });
