/**
 * The event pipeline's front door, used by the HTTP routes: apply a webhook event to the stores, update
 * the project's stats, decide (policy) and request training (queue). Also the read side: stats and jobs.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { TRAINING_ACTIONS, type TrainingAction, type WebhookEvent } from '../labelstudio/payloads.js';
import type { VersionManager } from '../runtime/versions.js';
import type { AnnotationStore, JobRecord, StatsStore } from '../store/types.js';
import { emptyStats, progressOf, stalenessOf, type ProjectProgress, type Staleness } from '../store/stats.js';
import { applyEvent, countersOf, labelConfigOf } from './events.js';
import { trainingPayload } from './job-payload.js';
import { decideTraining, isAnnotationAction, trainingOutlook, type TrainingOutlook, type TrainingPolicy } from './policy.js';
import type { TrainingQueue } from './queue.js';

export interface PipelineDeps {
  annotations: AnnotationStore;
  stats: StatsStore;
  queue: TrainingQueue;
  versions: VersionManager;
  policy: TrainingPolicy;
  log: Logger;
  /** Called when PROJECT_UPDATED carries a new label config. */
  onLabelConfig: (projectId: string, labelConfig: string) => Promise<void>;
  registry: Registry;
}

export interface HandledEvent {
  training: boolean;
  job: string | null;
  reason: string;
}

export interface ProjectStatsView extends ProjectProgress {
  annotations: { stored: number; usable: number; tasks: number };
  servedVersion: string;
  /** How far the served model lags: annotation changes it was not trained on, seconds since the newest of them. */
  staleness: Staleness;
  /** The threshold in force and the annotation changes still needed before an annotation event trains. */
  nextTraining: TrainingOutlook;
  lastJob: JobSummary | null;
  recentJobs: JobSummary[];
}

type JobSummary = Pick<JobRecord, 'id' | 'status' | 'event' | 'createdAt' | 'durationMs' | 'error' | 'version'>;

const TRAINING_ACTION_SET: ReadonlySet<string> = new Set(TRAINING_ACTIONS);

export class EventPipeline {
  private readonly gauges;

  constructor(private readonly d: PipelineDeps) {
    this.gauges = {
      labelStudio: new Gauge({
        name: 'project_label_studio_counter',
        help: "Label Studio's project counters as last received (finished_task_number, …)",
        labelNames: ['project', 'counter'],
        registers: [d.registry],
      }),
      staleAnnotations: new Gauge({
        name: 'project_staleness_annotations',
        help: 'Annotation changes the served model was not trained on',
        labelNames: ['project'],
        registers: [d.registry],
      }),
      staleSeconds: new Gauge({
        name: 'project_staleness_seconds',
        help: 'Seconds since the newest annotation change the served model was not trained on (0 when current)',
        labelNames: ['project'],
        registers: [d.registry],
      }),
      changed: new Gauge({
        name: 'project_annotations_changed_since_training',
        help: 'Annotation changes received since the last training',
        labelNames: ['project'],
        registers: [d.registry],
      }),
    };
  }

  async handle(event: WebhookEvent): Promise<HandledEvent> {
    const projectId = String(event.project.id);
    const labelConfig = labelConfigOf(event);
    // Independent writes, sent together: in Redis mode the common webhook costs one round trip, not two.
    const [write, stats] = await Promise.all([
      applyEvent(this.d.annotations, projectId, event),
      this.d.stats.recordEvent(projectId, {
        counters: countersOf(event.project),
        labelConfigChanged: labelConfig !== undefined,
        annotation: isAnnotationAction(event.action),
      }),
    ]);
    if (labelConfig !== undefined) await this.d.onLabelConfig(projectId, labelConfig);
    const revision = write?.revision ?? (await this.d.annotations.revision(projectId));
    const progress = progressOf(stats, revision);
    const finished = await this.finishedTasks(projectId, progress);
    const decision = decideTraining(event.action, progress, finished, this.d.policy);
    if (!decision.train) {
      return { training: TRAINING_ACTION_SET.has(event.action), job: null, reason: decision.reason };
    }
    const action = event.action as TrainingAction;
    const job = await this.d.queue.request({ projectId, event: action, payload: trainingPayload(event, action) });
    await this.d.stats.markRequested(projectId, revision);
    this.d.log.debug({ projectId, job, reason: decision.reason }, 'training requested');
    return { training: true, job, reason: decision.reason };
  }

  /** `known`: the caller knows the project exists (e.g. from `/setup`), so it gets a view even before any event. */
  async stats(projectId: string, known = false): Promise<ProjectStatsView | undefined> {
    const stats = await this.d.stats.get(projectId);
    const versions = await this.d.versions.list(projectId);
    if (!stats && versions.length === 0 && !known) return undefined;
    const [annotations, revision, jobs] = await Promise.all([
      this.d.annotations.counts(projectId),
      this.d.annotations.revision(projectId),
      this.d.queue.recentJobs(projectId, 10),
    ]);
    const recentJobs = jobs.map(summary);
    const progress = progressOf(stats ?? emptyStats(projectId), revision);
    const finished = progress.labelStudio.finished_task_number;
    return {
      ...progress,
      annotations,
      nextTraining: trainingOutlook(progress, typeof finished === 'number' ? finished : annotations.tasks, this.d.policy),
      // A read: a project known only from its events reports the initial version without creating it.
      servedVersion: this.d.versions.servedOf(versions[0]?.versions),
      staleness: stalenessOf(progress),
      lastJob: recentJobs[0] ?? null,
      recentJobs,
    };
  }

  job(id: string): Promise<JobRecord | undefined> {
    return this.d.queue.job(id);
  }

  /** Copies stats into Prometheus gauges; called on each /metrics scrape rather than per event. */
  async refreshGauges(): Promise<void> {
    const all = await this.d.stats.list();
    const revisions = await Promise.all(all.map((s) => this.d.annotations.revision(s.projectId)));
    const now = Date.now();
    all.forEach((s, i) => {
      for (const [counter, value] of Object.entries(s.labelStudio)) {
        if (typeof value === 'number') this.gauges.labelStudio.set({ project: s.projectId, counter }, value);
      }
      const progress = progressOf(s, revisions[i]!);
      this.gauges.changed.set({ project: s.projectId }, progress.changedSinceTraining);
      const staleness = stalenessOf(progress, now);
      this.gauges.staleAnnotations.set({ project: s.projectId }, staleness.annotations);
      this.gauges.staleSeconds.set({ project: s.projectId }, staleness.seconds);
    });
  }

  /** Label Studio's finished_task_number, or our own count when a payload lacks it. */
  private async finishedTasks(projectId: string, stats: ProjectProgress): Promise<number> {
    const fromLabelStudio = stats.labelStudio.finished_task_number;
    if (typeof fromLabelStudio === 'number') return fromLabelStudio;
    return (await this.d.annotations.counts(projectId)).tasks;
  }
}

function summary(job: JobRecord): JobSummary {
  return { id: job.id, status: job.status, event: job.event, createdAt: job.createdAt, durationMs: job.durationMs, error: job.error, version: job.version };
}
