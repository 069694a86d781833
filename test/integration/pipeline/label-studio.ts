/**
 * Label Studio-shaped requests for the pipeline tests, built with the test kit's `labelStudio` builders:
 * webhook bodies with the full `project` object (counters inside it), a full `task` object beside
 * `annotation`, ids-only deletions; plus a small HTTP client for the backend's routes.
 *
 * Every project uses the fixtures' label config (Text + single Choices: Positive / Negative / Neutral)
 * and creation time, so its uid is `<id>.1777626013`.
 */
import { labelStudio, type AnnotationEvent, type StartTrainingEvent, type LabelStudioAnnotation, type LabelStudioProject, type LabelStudioTask } from '../../../src/testing/index.js';
import { fixture } from '../../fixtures/index.js';
import { getJson, postJson, type HttpResult } from '../../support/server.js';

export const CREATED_TS = 1777626013; // 2026-05-01T09:00:13Z, the fixtures' project creation time
const CREATED_AT = '2026-05-01T09:00:13.000000Z';
export const LABEL_CONFIG: string = fixture<{ schema: string }>('setup.json').schema;
export const FROM_NAME = 'sentiment';

export type Choice = 'Positive' | 'Negative' | 'Neutral';

export type Counters = Partial<{
  task_number: number;
  finished_task_number: number;
  total_annotations_number: number;
  num_tasks_with_annotations: number;
  useful_annotation_number: number;
  ground_truth_number: number;
  skipped_annotations_number: number;
  total_predictions_number: number;
  min_annotations_to_start_training: number;
}>;

export interface AnnotationSpec {
  id: number;
  task: number;
  text: string;
  /** null: an empty result (submitted without choosing). */
  choice: Choice | null;
  /** ISO time; Label Studio sends microseconds. */
  updatedAt: string;
  cancelled?: boolean;
}

/** `2026-05-01T10:00:00.000000Z` plus `minutes`, with Label Studio's microsecond precision. */
export function at(minutes: number, micros = 0): string {
  const base = Date.parse('2026-05-01T10:00:00.000Z') + minutes * 60_000;
  return new Date(base).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(micros).padStart(3, '0')}Z`);
}

const project = (id: number, counters: Counters): LabelStudioProject => labelStudio.project({ id, labelConfig: LABEL_CONFIG, createdAt: CREATED_AT, ...counters });

export function resultOf(choice: Choice | null): Array<Record<string, unknown>> {
  if (choice === null) return [];
  return [{ id: `r-${choice}`, from_name: FROM_NAME, to_name: 'text', type: 'choices', origin: 'manual', value: { choices: [choice] } }];
}

export function annotationObject(projectId: number, a: AnnotationSpec): LabelStudioAnnotation {
  return labelStudio.annotation({
    id: a.id,
    taskId: a.task,
    result: resultOf(a.choice),
    was_cancelled: a.cancelled ?? false,
    created_at: at(0),
    updated_at: a.updatedAt,
    project: projectId,
  });
}

export function taskObject(projectId: number, id: number, text: string): LabelStudioTask {
  return labelStudio.task({ id, data: { text }, project: projectId, created_at: at(-30), updated_at: at(0), is_labeled: true, total_annotations: 1 });
}

export function annotationEvent(
  action: 'ANNOTATION_CREATED' | 'ANNOTATION_UPDATED',
  projectId: number,
  a: AnnotationSpec,
  counters: Counters = {},
): AnnotationEvent {
  const parts = { project: project(projectId, counters), task: taskObject(projectId, a.task, a.text), annotation: annotationObject(projectId, a) };
  return action === 'ANNOTATION_CREATED' ? labelStudio.annotationCreated(parts) : labelStudio.annotationUpdated(parts);
}

export function annotationsCreated(projectId: number, specs: AnnotationSpec[], counters: Counters = {}): Record<string, unknown> {
  const tasks = new Map(specs.map((a) => [a.task, taskObject(projectId, a.task, a.text)]));
  return labelStudio.annotationsCreated({ project: project(projectId, counters), tasks: [...tasks.values()], annotations: specs.map((a) => annotationObject(projectId, a)) });
}

export function annotationsDeleted(projectId: number, ids: number[], counters: Counters = {}): Record<string, unknown> {
  return labelStudio.annotationsDeleted({ project: project(projectId, counters), ids });
}

export function tasksDeleted(projectId: number, taskIds: number[], counters: Counters = {}): Record<string, unknown> {
  return labelStudio.tasksDeleted({ project: project(projectId, counters), ids: taskIds });
}

export function startTraining(projectId: number, counters: Counters = {}): StartTrainingEvent {
  return labelStudio.startTraining({ project: project(projectId, counters) });
}

/** A task as Label Studio's `GET /api/tasks?fields=all` returns it, with its annotations (for the fake LS). */
export function labeledTask(projectId: number, a: AnnotationSpec): Record<string, unknown> {
  return { ...taskObject(projectId, a.task, a.text), annotations: [annotationObject(projectId, a)], predictions: [] };
}

// ---------------------------------------------------------------------------------------------------------
// The backend, over HTTP

export interface Prediction {
  choice: string | undefined;
  modelVersion: string | undefined;
}

export interface WebhookAnswer {
  status: string;
  job: string | null;
}

export class Backend {
  constructor(readonly url: string) {}

  setup(projectId: number, extra: Record<string, unknown> = {}): Promise<HttpResult<{ model_version: string }>> {
    return postJson(`${this.url}/setup`, { project: `${projectId}.${CREATED_TS}`, schema: LABEL_CONFIG, extra_params: null, ...extra });
  }

  webhook(body: unknown): Promise<HttpResult<WebhookAnswer>> {
    return postJson(`${this.url}/webhook`, body);
  }

  /** Posts a webhook and insists on a 2xx answer. */
  async send(body: unknown): Promise<WebhookAnswer> {
    const res = await this.webhook(body);
    if (res.status !== 200 && res.status !== 201) throw new Error(`/webhook answered ${res.status}: ${res.text}`);
    return res.body;
  }

  stats(projectId: number): Promise<HttpResult<any>> {
    return getJson(`${this.url}/projects/${projectId}/stats`);
  }

  job(id: string): Promise<HttpResult<any>> {
    return getJson(`${this.url}/jobs/${encodeURIComponent(id)}`);
  }

  /** Polls `/jobs/:id` until it reaches completed or failed; returns the record. */
  async finishedJob(id: string, timeoutMs = 20_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    let last: HttpResult<any> | undefined;
    while (Date.now() < deadline) {
      last = await this.job(id);
      if (last.status === 200 && (last.body.status === 'completed' || last.body.status === 'failed')) return last.body;
      // Folded into a newer request before it ran (distributed mode): follow the job that trains its data.
      if (last.status === 200 && last.body.status === 'superseded') {
        id = last.body.supersededBy;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`job ${id} did not finish within ${timeoutMs} ms; last answer: ${last?.status} ${last?.text}`);
  }

  async predict(projectId: number, texts: string[]): Promise<Prediction[]> {
    const res = await postJson(`${this.url}/predict`, {
      tasks: texts.map((text, i) => ({ id: 9_000 + i, data: { text } })),
      project: `${projectId}.${CREATED_TS}`,
      label_config: LABEL_CONFIG,
      params: { context: null },
    });
    if (res.status !== 200) throw new Error(`/predict answered ${res.status}: ${res.text}`);
    return (res.body.results as Array<{ result: Array<{ value: { choices: string[] } }>; model_version?: string }>).map((r) => ({
      choice: r.result[0]?.value.choices[0],
      modelVersion: r.model_version,
    }));
  }
}
