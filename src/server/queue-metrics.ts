/**
 * Training queue metrics, read when Prometheus scrapes (gauges with `collect`), so no event path pays for
 * them. In distributed mode every API process reports the whole queue (counts, workers and finished trainings
 * come from Redis), so aggregate them with `max`, not `sum`.
 */
import { Gauge, Histogram } from 'prom-client';
import type { AppContext } from '../context.js';

const registered = new WeakSet<object>();

export function registerQueueMetrics(ctx: Pick<AppContext, 'metrics' | 'queue' | 'versions'>): void {
  const registry = ctx.metrics.registry;
  if (registered.has(registry)) return;
  registered.add(registry);
  const { queue, versions } = ctx;

  new Gauge({
    name: 'training_jobs',
    help: 'Training jobs by status (completed and failed: those the queue still keeps)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await queue.counts().catch(() => undefined); // Redis down: the rest of the scrape still answers
      for (const [status, n] of Object.entries(counts ?? {})) this.set({ status }, n);
    },
  });

  new Gauge({
    name: 'training_workers',
    help: 'Processes consuming training jobs: live heartbeats (distributed), or this process (embedded)',
    registers: [registry],
    async collect() {
      const workers = await queue.workers().catch(() => undefined);
      if (workers) this.set(workers.length);
    },
  });

  new Gauge({
    name: 'project_seconds_since_last_training',
    help: "Seconds since the project's newest trained model version was published",
    labelNames: ['project'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const { projectId, versions: doc } of await versions.list().catch(() => [])) {
        const trained = doc.versions.filter((v) => v.jobId !== undefined || v.artifact !== undefined).map((v) => Date.parse(v.createdAt));
        const newest = Math.max(...trained.filter(Number.isFinite));
        if (Number.isFinite(newest)) this.set({ project: projectId }, Math.max(0, (now - newest) / 1000));
      }
    },
  });

  const durations = new Histogram({
    name: 'training_duration_seconds',
    help: 'Duration of finished trainings (last attempt), by outcome, whichever process ran them',
    labelNames: ['outcome'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  queue.onFinished((job) => {
    if (job.durationMs !== null) durations.observe({ outcome: job.status }, job.durationMs / 1000);
  });
}
