/**
 * Realistic webhook load (`npm run bench:load`, or `npm run bench:webhook -- --realistic`): a labelling team
 * and then a bulk of annotations arriving while the backend trains its models, as a user runs it: the
 * default built-in model (a Choices project: its text classifier), the default training policy (no TRAIN_* set), LOG_LEVEL info.
 *
 *   20 projects; 20,000 ANNOTATION_CREATED events (project.finished_task_number rising); the first 2,000
 *   paced at 200 events/s, the rest as fast as 8 concurrent senders go (a Node fetch client in its own
 *   process; latency as that client sees it, beside the server's http_request_duration_seconds); then
 *   START_TRAINING for every project.
 *
 * Run for a minimal Express app (same client, same pace), the embedded server, and Redis mode: an API
 * process (TRAIN_EMBEDDED_WORKER=false) plus one separate `worker` process. Reported per mode: paced
 * p50/p99, flood events/s, trainings run, Redis bytes per event and per training, staleness at the end of
 * the flood, Start Training → a served version trained on every annotation, the longest time a project went
 * without a new version during the flood, held-out accuracy of the final models.
 *
 *   npm run bench:load [-- --events 20000 --projects 20 --paced 2000 --rate 200 --senders 8
 *                           --modes embedded,redis --redis-url redis://host:port/db --holdout 300
 *                           --warmup-events 400 --start-timeout-s 120 --max-wait-ms N
 *                           --env TRAIN_MAX_WAIT_MS=5000 (repeatable; the default policy without it)
 *                           --baseline bench/results/load-baseline.json --out load]
 *
 * Redis: the bench starts its own redis-server on a free port unless --redis-url or REDIS_URL names one,
 * whose database must then be empty (it is never flushed) and whose INFO byte counters then include any
 * other client's traffic. Writes bench/results/<out>.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { annotationCreated, setupBody, type ProjectCounters, writeWarmupEvents } from './lib/labelstudio.js';
import { ran, waitForJobs } from './lib/jobs.js';
import { runLoadClient } from './lib/load-client-process.js';
import { printReport, type ModeResult } from './lib/load-report.js';
import { diff, parseRoute, scrapeRoute, summarize } from './lib/metrics.js';
import { startApiServer, startMinimalExpress, startWorker, type RunningProcess } from './lib/processes.js';
import { bytesBetween, keysIn, redisTraffic } from './lib/redis-traffic.js';
import { textGenerator, type LabelledText } from './lib/texts.js';
import { heldOutAccuracy, projectStats, staleAnnotations, staleSeconds, startTrainingAll } from './lib/training-probe.js';
import { errorLines, machineInfo, mapLimit, mustJson, round, waitForQuiet, writeResult } from './lib/util.js';
import { versionGaps, watchVersions } from './lib/version-watch.js';
import { startRedisServer, type RedisServerProcess } from '../test/support/processes.js';

const { values: args } = parseArgs({
  options: {
    realistic: { type: 'boolean', default: false }, // how bench:webhook hands over to this script
    out: { type: 'string', default: 'load' },
    events: { type: 'string', default: '20000' },
    projects: { type: 'string', default: '20' },
    paced: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '200' },
    senders: { type: 'string', default: '8' },
    modes: { type: 'string', default: 'embedded,redis' },
    'redis-url': { type: 'string' },
    holdout: { type: 'string', default: '300' },
    'warmup-events': { type: 'string', default: '400' },
    'start-timeout-s': { type: 'string', default: '120' },
    'max-wait-ms': { type: 'string' },
    // KEY=VALUE for every server and worker process, e.g. TRAIN_MAX_WAIT_MS=5000 to see the bound inside a short flood.
    env: { type: 'string', multiple: true, default: [] },
    baseline: { type: 'string' },
    'skip-express': { type: 'boolean', default: false },
  },
});

const cfg = {
  events: Number(args.events),
  projects: Number(args.projects),
  pacedCount: Math.min(Number(args.paced), Number(args.events)),
  rate: Number(args.rate),
  senders: Number(args.senders),
  modes: args.modes!.split(',').map((m) => m.trim()).filter(Boolean) as Array<'embedded' | 'redis'>,
  redisUrl: args['redis-url'] ?? process.env.REDIS_URL,
  holdout: Number(args.holdout),
  warmupEvents: Number(args['warmup-events']),
  startTimeoutMs: Number(args['start-timeout-s']) * 1000,
  model: 'built-in',
  logLevel: 'info',
  serverEnv: Object.fromEntries(
    args.env!.map((kv) => {
      const at = kv.indexOf('=');
      if (at < 1) throw new Error(`--env ${kv}: expected KEY=VALUE`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  ) as Record<string, string>,
  // Label Studio's default: 0, so the backend's TRAIN_MIN_ANNOTATIONS applies.
  minAnnotationsToStartTraining: 0,
};
for (const m of cfg.modes) if (m !== 'embedded' && m !== 'redis') throw new Error(`--modes: unknown mode ${m} (embedded, redis)`);
const floodCount = cfg.events - cfg.pacedCount;
// The server's own default, from its config schema (a checkout from before the setting has none: null).
const defaultMaxWaitMs = ((await import('../src/config.js')).loadConfig({}).training as { maxWaitMs?: number }).maxWaitMs ?? null;
const maxWaitMs = args['max-wait-ms'] ? Number(args['max-wait-ms']) : cfg.serverEnv.TRAIN_MAX_WAIT_MS ? Number(cfg.serverEnv.TRAIN_MAX_WAIT_MS) : defaultMaxWaitMs;
const TARGETS = { redisPacedP99VsEmbedded: 1.5, redisFloodVsEmbedded: 0.8, redisBytesPerEventKB: 20, embeddedPacedP99VsExpress: 3, freshAfterStartS: 3, accuracyDelta: 0.01 };

// The machine is shared: before each measured load, wait this long at most for other work to calm down.
const QUIET_WAIT_MS = 30_000;

const t0 = Date.now();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-load-'));
const projectIds = Array.from({ length: cfg.projects }, (_, i) => 101 + i);
const perProject = Math.ceil(cfg.events / cfg.projects);
const counters = (finished: number): ProjectCounters => ({ taskNumber: perProject, finished, minAnnotationsToStartTraining: cfg.minAnnotationsToStartTraining });

// ---- the events: event i belongs to project i % P, so every project's finished_task_number rises in send order.
const bodiesFile = path.join(tmp, 'events.ndjson');
{
  const next = textGenerator(42);
  const lines: string[] = [];
  for (let i = 0; i < cfg.events; i++) {
    const projectId = projectIds[i % cfg.projects]!;
    const seq = Math.floor(i / cfg.projects) + 1;
    lines.push(JSON.stringify(annotationCreated({ projectId, taskId: projectId * 100_000 + seq, annotationId: 5_000_000 + i, seq, item: next() }, counters(seq))));
  }
  fs.writeFileSync(bodiesFile, lines.join('\n') + '\n');
}
// ---- warm-up events for projects that are not measured (ids after the measured ones).
const warmupFile = path.join(tmp, 'warmup.ndjson');
writeWarmupEvents(warmupFile, cfg.warmupEvents, 101 + cfg.projects, cfg.projects);
// ---- held-out texts: the same generator (same label signal), another seed, never sent as annotations.
const heldOut: LabelledText[] = (() => {
  const next = textGenerator(4242);
  return Array.from({ length: cfg.holdout }, () => next());
})();
const bodyBytes = fs.statSync(bodiesFile).size / cfg.events;
console.log(`${cfg.events} ANNOTATION_CREATED bodies over ${cfg.projects} projects (${Math.round(bodyBytes)} bytes on average); ${cfg.pacedCount} paced at ${cfg.rate}/s, ${floodCount} by ${cfg.senders} senders`);

const results: ModeResult[] = [];
if (!args['skip-express']) results.push(await expressRun());
for (const mode of cfg.modes) results.push(await backendRun(mode));

async function expressRun(): Promise<ModeResult> {
  const before = round(os.loadavg()[0]!, 2);
  const app = await startMinimalExpress(tmp);
  try {
    console.log(`\n[minimal Express] warm-up, then ${cfg.pacedCount} paced at ${cfg.rate}/s and ${floodCount} by ${cfg.senders} senders`);
    await runLoadClient({ url: app.url, bodiesFile: warmupFile, pacedCount: cfg.warmupEvents, rate: cfg.rate, floodCount: 0, senders: cfg.senders }, [app.pid]);
    const cpuBefore = await waitForQuiet([app.pid], QUIET_WAIT_MS);
    const load = await runLoadClient({ url: app.url, bodiesFile, pacedCount: cfg.pacedCount, rate: cfg.rate, floodCount, senders: cfg.senders }, [app.pid]);
    return {
      name: 'minimal Express 5',
      mode: 'minimal-express',
      loadAvg: { before, afterFlood: round(os.loadavg()[0]!, 2) },
      cpuBefore,
      cpuDuringLoad: load.cpuDuring,
      paced: { client: load.paced, server: null },
      flood: load.flood ? { client: load.flood, server: null } : null,
      rssMiB: { app: app.memory() },
    };
  } finally {
    await app.stop();
  }
}

async function backendRun(mode: 'embedded' | 'redis'): Promise<ModeResult> {
  const name = mode === 'embedded' ? 'embedded' : 'Redis: API + 1 worker';
  let redisUrl: string | undefined;
  let ownRedis: RedisServerProcess | undefined;
  if (mode === 'redis') {
    if (cfg.redisUrl) {
      const keys = await keysIn(cfg.redisUrl);
      if (keys > 0) throw new Error(`the Redis database given holds ${keys} keys: give the bench an empty one, or none (it then starts its own redis-server)`);
      redisUrl = cfg.redisUrl;
    } else {
      ownRedis = await startRedisServer();
      redisUrl = ownRedis.url;
    }
  }
  const before = round(os.loadavg()[0]!, 2);
  const dir = fs.mkdtempSync(path.join(tmp, `${mode}-`));
  const processes: RunningProcess[] = [];
  const api = await startApiServer({ name: `api-${mode}`, model: cfg.model, logLevel: cfg.logLevel, modelDir: path.join(dir, 'api'), redisUrl, env: { ...cfg.serverEnv, ...(mode === 'redis' ? { TRAIN_EMBEDDED_WORKER: 'false' } : {}) } });
  processes.push(api);
  const traffic = redisUrl ? await redisTraffic(redisUrl) : undefined;
  try {
    if (mode === 'redis') processes.push(await startWorker({ name: 'worker', model: cfg.model, logLevel: cfg.logLevel, modelDir: path.join(dir, 'worker'), redisUrl: redisUrl!, env: cfg.serverEnv }));
    const pids = processes.map((p) => p.pid);
    console.log(`\n[${name}] pids ${pids.join(', ')}: /setup ×${cfg.projects}, warm-up, ${cfg.pacedCount} paced at ${cfg.rate}/s, ${floodCount} by ${cfg.senders} senders, START_TRAINING ×${cfg.projects}`);
    await mapLimit(projectIds, 4, (p) => mustJson(`${api.url}/setup`, { body: setupBody(p) }));
    await runLoadClient({ url: api.url, bodiesFile: warmupFile, pacedCount: cfg.warmupEvents, rate: cfg.rate, floodCount: 0, senders: cfg.senders }, pids);

    const cpuBefore = await waitForQuiet(pids, QUIET_WAIT_MS);
    const h0 = await scrapeRoute(api.url, '/webhook');
    const r0 = await traffic?.sample();
    const loadStart = Date.now();
    const watch = watchVersions(api.url);
    const load = await runLoadClient({ url: api.url, bodiesFile, pacedCount: cfg.pacedCount, rate: cfg.rate, floodCount, senders: cfg.senders, metricsUrl: `${api.url}/metrics` }, pids);
    const afterFlood = round(os.loadavg()[0]!, 2);
    const h2 = await scrapeRoute(api.url, '/webhook');
    const r1 = await traffic?.sample();
    const h1 = load.metricsBetween ? parseRoute(load.metricsBetween, '/webhook') : h0;
    const floodStart = load.flood?.startedAt ?? load.paced.endedAt;
    const floodEnd = load.flood?.endedAt ?? load.paced.endedAt;

    // Staleness the moment the events stop: what a user would get from /predict right now.
    const atFloodEnd = await projectStats(api.url, projectIds);

    console.log(`  flood done (${load.flood?.eventsPerSec ?? '–'} events/s); START_TRAINING ×${cfg.projects}`);
    const startBegin = Date.now();
    const fresh = await startTrainingAll(api.url, projectIds, counters(perProject), heldOut[0]!.text, cfg.startTimeoutMs);
    const startEnd = Date.now();
    const r2 = await traffic?.sample();
    await watch.stop();
    const afterStart = await projectStats(api.url, projectIds);
    const accuracy = await heldOutAccuracy(api.url, projectIds, heldOut);

    const jobIds = [...new Set([...load.paced.jobIds, ...(load.flood?.jobIds ?? []), ...fresh.flatMap((f) => (f.job ? [f.job] : []))])];
    // Every training requested has run by now (the START_TRAINING jobs came after them): a short wait only.
    const jobs = [...(await waitForJobs(api.url, jobIds, 5_000)).values()];
    const ranJobs = jobs.filter(ran);
    const durations = ranJobs.map((j) => j.durationMs! / 1000).sort((a, b) => a - b);
    const inStartPhase = ranJobs.filter((j) => j.finishedAt && Date.parse(j.finishedAt) >= startBegin && Date.parse(j.finishedAt) <= startEnd).length;

    const result: ModeResult = {
      name,
      mode,
      loadAvg: { before, afterFlood },
      cpuBefore,
      cpuDuringLoad: load.cpuDuring,
      paced: { client: load.paced, server: summarize(diff(h1, h0)) },
      flood: load.flood ? { client: load.flood, server: summarize(diff(h2, h1)) } : null,
      training: {
        jobIdsSeen: jobIds.length,
        jobStatuses: jobs.reduce<Record<string, number>>((acc, j) => ({ ...acc, [j.status]: (acc[j.status] ?? 0) + 1 }), {}),
        versionsPublished: [...watch.seen.values()].reduce((n, versions) => n + [...versions.values()].filter((t) => t >= loadStart).length, 0),
        trainingsRun: ranJobs.length,
        trainingsFailed: jobs.filter((j) => j.status === 'failed').length,
        longestTrainingS: durations.length ? round(durations.at(-1)!, 2) : null,
        medianTrainingS: durations.length ? round(durations[Math.floor(durations.length / 2)]!, 2) : null,
        gaps: { ...versionGaps(watch.seen, projectIds.map(String), loadStart, floodStart, floodEnd), floodStart, floodEnd },
        staleAtFloodEnd: {
          annotations: Object.fromEntries([...atFloodEnd].map(([p, s]) => [p, staleAnnotations(s)])),
          seconds: Object.fromEntries([...atFloodEnd].map(([p, s]) => [p, staleSeconds(s)])),
          raw: Object.fromEntries([...atFloodEnd].map(([p, s]) => [p, s.staleness ?? { changedSinceTraining: s.changedSinceTraining }])),
        },
        startTraining: fresh,
        startPhaseS: round((startEnd - startBegin) / 1000, 2),
        staleAfterStart: Object.fromEntries([...afterStart].map(([p, s]) => [p, staleAnnotations(s)])),
        accuracy,
      },
      rssMiB: Object.fromEntries(processes.map((p) => [p.name, p.memory()])),
      serverErrors: processes.flatMap((p) => errorLines(p.logFile).map((l) => `${p.name}: ${l}`)),
    };
    if (traffic && r0 && r1 && r2) {
      const total = bytesBetween(r0, r2);
      const startPhase = bytesBetween(r1, r2);
      result.redis = {
        url: ownRedis ? 'own redis-server' : redisUrl!,
        own: Boolean(ownRedis),
        load: bytesBetween(r0, r1),
        startPhase,
        total,
        trainingsInStartPhase: inStartPhase,
        // Everything from the first event to the last fresh version served, per event sent.
        bytesPerEvent: Math.round((total.in + total.out) / cfg.events),
        bytesPerTrainingStartPhase: inStartPhase ? Math.round((startPhase.in + startPhase.out) / inStartPhase) : null,
        bytesPerTrainingOverall: result.training!.versionsPublished ? Math.round((total.in + total.out) / result.training!.versionsPublished) : null,
      };
    }
    return result;
  } catch (err) {
    for (const p of processes) console.error(`[${name}] failed; ${p.name} log tail:\n${p.logTail()}`);
    throw err;
  } finally {
    traffic?.close();
    for (const p of processes.reverse()) await p.stop();
    await ownRedis?.kill();
  }
}

/** TRAIN_MAX_WAIT_MS's default in the tree being measured (none before bounded staleness existed). */


// ---- report
const baseline = args.baseline ? (JSON.parse(fs.readFileSync(args.baseline, 'utf8')) as { results: ModeResult[] }) : undefined;
const checks = printReport(results, {
  pacedCount: cfg.pacedCount,
  floodCount,
  rate: cfg.rate,
  senders: cfg.senders,
  serverEnv: cfg.serverEnv,
  startTimeoutS: cfg.startTimeoutMs / 1000,
  maxWaitMs,
  targets: TARGETS,
  baseline,
});

const file = writeResult(args.out!, {
  bench: 'load',
  at: new Date().toISOString(),
  totalSeconds: round((Date.now() - t0) / 1000, 1),
  machine: { ...machineInfo(), loadAvgAtEnd: os.loadavg().map((l) => round(l, 2)) },
  config: { ...cfg, floodCount, avgBodyBytes: Math.round(bodyBytes), maxWaitMs, redisUrl: cfg.modes.includes('redis') ? (cfg.redisUrl ?? 'own redis-server') : null },
  notes: [
    'The load client, each server process and this script are separate processes on the same machine (loopback); the machine is shared, see loadAvg.',
    'Client latency: from the moment fetch is called to the answer read; paced open loop (scheduleLagMs: how late the client called fetch; latencyFromDueMs: due → answer), flood closed loop (8 senders).',
    'Server p50/p99 are estimated from http_request_duration_seconds bucket diffs (linear inside a bucket); the boundary between paced and flood is scraped by the client after the last paced answer.',
    'Stale at flood end: annotations not in the served model per /projects/:id/stats, right after the last event.',
    'START→fresh: START_TRAINING sent → /predict answers with the version of the job it started (that job read the store after the last event).',
    'Longest gap: per project, the longest stretch of the flood without a new version, counted from its last version before the flood.',
    'Redis bytes per event: INFO total_net_input_bytes + total_net_output_bytes from the first event to the last fresh version, divided by the events sent; per training: bytes during the START_TRAINING phase / trainings finished in it.',
  ],
  targets: TARGETS,
  checks,
  // Job ids are many and say nothing once counted.
  results: JSON.parse(JSON.stringify(results, (key, value: unknown) => (key === 'jobIds' && Array.isArray(value) ? value.length : value))) as unknown,
});
// The servers' logs stay (where a failed training or a slow phase is explained); the event files go.
for (const f of [bodiesFile, warmupFile]) fs.rmSync(f, { force: true });
console.log(`\n${results.length} runs in ${round((Date.now() - t0) / 1000, 1)} s → ${file} (server logs in ${tmp})`);
