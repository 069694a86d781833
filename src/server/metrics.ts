/**
 * Prometheus metrics (prom-client). One registry per app instance so tests can run several apps in
 * one process; `collectDefaultMetrics` adds the process metrics.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  /** Observe a request duration; label children are cached (prom-client hashes label objects per call). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  countPredictions(projectId: string, n: number): void;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  predictions: Counter<'project'>;
  webhookEvents: Counter<'action' | 'outcome'>;
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The histogram's count doubles as the request counter (http_request_duration_seconds_count).
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const predictions = new Counter({
    name: 'predictions_served_total',
    help: 'Task predictions returned by /predict',
    labelNames: ['project'],
    registers: [registry],
  });
  const durationChildren = new Map<string, ReturnType<typeof requestDuration.labels>>();
  const predictionChildren = new Map<string, ReturnType<typeof predictions.labels>>();
  return {
    registry,
    requestDuration,
    predictions,
    observeRequest(method, route, status, seconds) {
      const key = `${method} ${route} ${status}`;
      let child = durationChildren.get(key);
      if (!child) durationChildren.set(key, (child = requestDuration.labels(method, route, String(status))));
      child.observe(seconds);
    },
    countPredictions(projectId, n) {
      let child = predictionChildren.get(projectId);
      if (!child) predictionChildren.set(projectId, (child = predictions.labels(projectId)));
      child.inc(n);
    },
    webhookEvents: new Counter({
      name: 'webhook_events_total',
      help: 'Webhook events received, by action and outcome',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
  };
}
