/** The realistic mode's tables and its checks against the targets (bench/load.ts gathers the numbers). */
import type { LoadClientResult } from './load-client.js';
import type { summarize } from './metrics.js';
import type { RedisBytes } from './redis-traffic.js';
import type { Accuracy, FreshVersion } from './training-probe.js';
import { pctOfCore, printTable, round, type CpuBefore, type CpuDuring } from './util.js';
import type { GapReport } from './version-watch.js';

export interface PhaseView {
  client: LoadClientResult['paced'];
  server: ReturnType<typeof summarize> | null;
}

export interface ModeResult {
  name: string;
  mode: 'minimal-express' | 'embedded' | 'redis';
  /** 1-minute load average before the run and at the end of the flood (the machine is shared) */
  loadAvg: { before: number; afterFlood: number };
  cpuBefore: CpuBefore;
  cpuDuringLoad: CpuDuring;
  paced: PhaseView;
  flood: PhaseView | null;
  training?: {
    jobIdsSeen: number;
    /** GET /jobs/:id of every job id the webhook answered with, after the run: status → count */
    jobStatuses: Record<string, number>;
    /** versions published from the first event on (seen by GET /versions): trainings that ran and succeeded */
    versionsPublished: number;
    /** job ids from the answers that GET /jobs/:id reports as run (an id folded into a later job is not) */
    trainingsRun: number;
    trainingsFailed: number;
    longestTrainingS: number | null;
    medianTrainingS: number | null;
    gaps: GapReport & { floodStart: number; floodEnd: number };
    staleAtFloodEnd: { annotations: Record<string, number>; seconds: Record<string, number | null>; raw: Record<string, unknown> };
    startTraining: FreshVersion[];
    startPhaseS: number;
    staleAfterStart: Record<string, number>;
    accuracy: Accuracy;
  };
  redis?: {
    url: string;
    own: boolean;
    load: RedisBytes;
    startPhase: RedisBytes;
    total: RedisBytes;
    trainingsInStartPhase: number;
    bytesPerEvent: number;
    bytesPerTrainingStartPhase: number | null;
    bytesPerTrainingOverall: number | null;
  };
  rssMiB: Record<string, { rssMiB: number; peakRssMiB: number } | null>;
  serverErrors?: string[];
}

export interface Targets {
  redisPacedP99VsEmbedded: number;
  redisFloodVsEmbedded: number;
  redisBytesPerEventKB: number;
  embeddedPacedP99VsExpress: number;
  freshAfterStartS: number;
  accuracyDelta: number;
}

export interface ReportOptions {
  pacedCount: number;
  floodCount: number;
  rate: number;
  senders: number;
  serverEnv: Record<string, string>;
  startTimeoutS: number;
  /** TRAIN_MAX_WAIT_MS of the servers measured (null: the tree has none) */
  maxWaitMs: number | null;
  targets: Targets;
  /** an earlier result file: the accuracy is compared with it */
  baseline?: { results: ModeResult[] };
}

export interface Check {
  check: string;
  target: string;
  measured: string;
  pass: boolean | null;
}

const KB = 1024;
const MB = 1024 * 1024;
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
/** Seconds from START_TRAINING to the fresh version served, per project (Infinity: not within the timeout). */
const freshS = (r: ModeResult) => r.training?.startTraining.map((f) => f.servedS ?? Infinity) ?? [];

/** Prints the tables and the target checks; returns the checks. */
export function printReport(results: ModeResult[], o: ReportOptions): Check[] {
  const byMode = (m: ModeResult['mode']) => results.find((r) => r.mode === m);
  for (const r of results) if (r.serverErrors?.length) console.log(`\n[${r.name}] log warnings/errors:\n  ${r.serverErrors.join('\n  ')}`);
  for (const r of results) {
    const failed = r.training?.startTraining.filter((f) => f.error) ?? [];
    if (failed.length) console.log(`\n[${r.name}] START_TRAINING not fresh for ${failed.length} project(s), e.g. ${JSON.stringify(failed[0])}`);
  }

  printTable(
    `Latency as the client sees it (Node fetch, own process): ${o.pacedCount} events paced at ${o.rate}/s, then ${o.floodCount} by ${o.senders} senders`,
    ['target', 'paced p50', 'paced p99', 'paced max', 'client lag p99', 'server p50', 'server p99', '> 1 s', 'flood ev/s', 'flood p50', 'flood p99', 'non-2xx', 'server CPU', 'load avg before/after'],
    results.map((r) => [
      r.name,
      r.paced.client.latencyMs.p50,
      r.paced.client.latencyMs.p99,
      r.paced.client.latencyMs.max,
      r.paced.client.scheduleLagMs?.p99 ?? null,
      r.paced.server?.p50Ms ?? null,
      r.paced.server?.p99Ms ?? null,
      r.paced.client.over1s + (r.flood?.client.over1s ?? 0),
      r.flood?.client.eventsPerSec ?? null,
      r.flood?.client.latencyMs.p50 ?? null,
      r.flood?.client.latencyMs.p99 ?? null,
      r.paced.client.sent - r.paced.client.ok2xx + (r.flood ? r.flood.client.sent - r.flood.client.ok2xx : 0),
      pctOfCore(r.cpuDuringLoad.server),
      `${r.loadAvg.before} / ${r.loadAvg.afterFlood}`,
    ]),
  );

  const backends = results.filter((r) => r.training);
  printTable(
    `Training under that load (${Object.keys(o.serverEnv).length ? Object.entries(o.serverEnv).map(([k, v]) => `${k}=${v}`).join(' ') : 'default policy'})`,
    ['target', 'trainings (versions)', 'longest gap in flood s', 'stale at flood end Σ / max', 'stale s max', 'START→fresh p50 / max s', 'training p50 / max s', 'accuracy mean / min', 'Redis in / out MB', 'Redis KB/event', 'Redis KB/training', 'RSS MiB'],
    backends.map((r) => {
      const t = r.training!;
      const stale = Object.values(t.staleAtFloodEnd.annotations);
      const staleS = Object.values(t.staleAtFloodEnd.seconds).filter((v): v is number => v !== null);
      const fs_ = freshS(r);
      return [
        r.name,
        t.versionsPublished,
        max(Object.values(t.gaps.maxGapS)),
        `${stale.reduce((s, v) => s + v, 0)} / ${max(stale)}`,
        staleS.length ? max(staleS) : null,
        fs_.every(Number.isFinite) ? `${median(fs_)} / ${max(fs_)}` : `${fs_.filter((v) => !Number.isFinite(v)).length} never`,
        `${t.medianTrainingS ?? '–'} / ${t.longestTrainingS ?? '–'}`,
        `${t.accuracy.mean} / ${t.accuracy.min}`,
        r.redis ? `${round(r.redis.total.in / MB, 1)} / ${round(r.redis.total.out / MB, 1)}` : null,
        r.redis ? round(r.redis.bytesPerEvent / KB, 1) : null,
        r.redis?.bytesPerTrainingStartPhase ? round(r.redis.bytesPerTrainingStartPhase / KB, 1) : null,
        Object.entries(r.rssMiB).map(([n, m]) => `${n} ${m?.rssMiB ?? '–'}`).join(', '),
      ];
    }),
  );

  const checks: Check[] = [];
  const express = byMode('minimal-express');
  const embedded = byMode('embedded');
  const redis = byMode('redis');
  if (embedded && redis) {
    const ratio = redis.paced.client.latencyMs.p99 / embedded.paced.client.latencyMs.p99;
    checks.push({ check: 'Redis paced p99 vs embedded (client)', target: `≤ ${o.targets.redisPacedP99VsEmbedded}×`, measured: `${redis.paced.client.latencyMs.p99} / ${embedded.paced.client.latencyMs.p99} ms = ${round(ratio, 2)}×`, pass: ratio <= o.targets.redisPacedP99VsEmbedded });
    const f = (redis.flood?.client.eventsPerSec ?? 0) / (embedded.flood?.client.eventsPerSec ?? NaN);
    checks.push({ check: 'Redis flood vs embedded', target: `≥ ${o.targets.redisFloodVsEmbedded}×`, measured: `${redis.flood?.client.eventsPerSec} / ${embedded.flood?.client.eventsPerSec} ev/s = ${round(f, 2)}×`, pass: f >= o.targets.redisFloodVsEmbedded });
  }
  if (redis?.redis) {
    const kb = redis.redis.bytesPerEvent / KB;
    checks.push({ check: 'Redis traffic per event', target: `≤ ${o.targets.redisBytesPerEventKB} KB`, measured: `${round(kb, 1)} KB`, pass: kb <= o.targets.redisBytesPerEventKB });
  }
  if (embedded && express) {
    const ratio = embedded.paced.client.latencyMs.p99 / express.paced.client.latencyMs.p99;
    checks.push({ check: 'embedded paced p99 vs minimal Express (client)', target: `≤ ${o.targets.embeddedPacedP99VsExpress}×`, measured: `${embedded.paced.client.latencyMs.p99} / ${express.paced.client.latencyMs.p99} ms = ${round(ratio, 2)}×`, pass: ratio <= o.targets.embeddedPacedP99VsExpress });
  }
  for (const r of backends) {
    const t = r.training!;
    const worst = max(freshS(r));
    const never = freshS(r).filter((v) => !Number.isFinite(v)).length;
    checks.push({
      check: `${r.name}: START_TRAINING → version with every annotation served`,
      target: `≤ ${o.targets.freshAfterStartS} s (every project)`,
      measured: never ? `${never} project(s) not within ${o.startTimeoutS} s` : `max ${worst} s`,
      pass: worst <= o.targets.freshAfterStartS,
    });
    const gap = max(Object.values(t.gaps.maxGapS));
    const bound = o.maxWaitMs !== null && t.longestTrainingS !== null ? o.maxWaitMs / 1000 + t.longestTrainingS : null;
    checks.push({
      check: `${r.name}: longest time without a new version during the flood`,
      target: o.maxWaitMs === null ? 'TRAIN_MAX_WAIT_MS + one training (no TRAIN_MAX_WAIT_MS in this tree)' : `≤ TRAIN_MAX_WAIT_MS ${o.maxWaitMs / 1000} s + longest training ${t.longestTrainingS} s`,
      measured: `${gap} s (flood lasted ${round((t.gaps.floodEnd - t.gaps.floodStart) / 1000, 1)} s)`,
      pass: bound === null ? false : gap <= bound,
    });
    // Same events, same held-out texts: a model trained on every annotation should score as the baseline's did, project by project.
    const base = o.baseline?.results.find((b) => b.mode === r.mode)?.training?.accuracy;
    const worstDelta = base ? max(Object.entries(t.accuracy.perProject).map(([p, a]) => Math.abs(a - (base.perProject[p] ?? NaN)))) : NaN;
    checks.push({
      check: `${r.name}: held-out accuracy of the final models`,
      target: base === undefined ? 'unchanged (give --baseline to compare)' : `every project within ±${o.targets.accuracyDelta} of the baseline's (mean ${base.mean})`,
      measured: `mean ${t.accuracy.mean}, min ${t.accuracy.min}${base ? `, largest change ${round(worstDelta, 4)}` : ''}`,
      pass: base === undefined ? null : worstDelta <= o.targets.accuracyDelta,
    });
  }
  printTable('Targets', ['check', 'target', 'measured', 'pass'], checks.map((c) => [c.check, c.target, c.measured, c.pass === null ? 'info' : c.pass ? 'PASS' : 'FAIL']));
  return checks;
}
