/**
 * Label Studio-shaped request bodies for the benches (docs/protocol.md: Setup, Predict, Webhook payloads):
 * full project object with the counters inside `project`, full `task` object, ~3 KB per webhook event.
 */
import fs from 'node:fs';
import { CHOICES, textGenerator, type LabelledText } from './texts.js';

export const LABEL_CONFIG =
  '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single">' +
  CHOICES.map((c) => `<Choice value="${c}"/>`).join('') +
  '</Choices></View>';

/** All bench projects are "created" at the same second, so their uid is `<id>.1777626013`. */
const CREATED_TS = 1777626013;
const CREATED_AT = new Date(CREATED_TS * 1000).toISOString().replace('Z', '000Z');
const BASE_MS = Date.parse('2026-05-01T10:00:00Z');

export const projectUid = (projectId: number) => `${projectId}.${CREATED_TS}`;

/** Microsecond timestamps as Label Studio writes them. */
const lsTime = (offsetSeconds: number) => new Date(BASE_MS + offsetSeconds * 1000).toISOString().replace('Z', '000Z');

export interface ProjectCounters {
  taskNumber: number;
  finished: number;
  minAnnotationsToStartTraining: number;
}

/** Every field of Label Studio's ProjectWebhookSerializer, counters included. */
export function projectObject(projectId: number, c: ProjectCounters): Record<string, unknown> {
  return {
    id: projectId,
    title: `Review sentiment #${projectId}`,
    description: 'Product review sentiment, benchmark project',
    organization: 1,
    label_config: LABEL_CONFIG,
    parsed_label_config: {
      sentiment: {
        type: 'Choices',
        to_name: ['text'],
        inputs: [{ type: 'Text', valueType: null, value: 'text' }],
        labels: [...CHOICES],
        labels_attrs: Object.fromEntries(CHOICES.map((l) => [l, { value: l }])),
      },
    },
    label_config_hash: 1845370291 + projectId,
    expert_instruction: '<p>Pick the sentiment of the whole review.</p>',
    show_instruction: false,
    show_skip_button: true,
    enable_empty_annotation: true,
    reveal_preannotations_interactively: false,
    show_annotation_history: false,
    show_collab_predictions: true,
    evaluate_predictions_automatically: false,
    token: `bench-invite-token-${String(projectId).padStart(8, '0')}`,
    result_count: c.finished,
    color: '#FFFFFF',
    created_by: 1,
    maximum_annotations: 1,
    min_annotations_to_start_training: c.minAnnotationsToStartTraining,
    control_weights: { sentiment: { overall: 1, type: 'Choices', labels: Object.fromEntries(CHOICES.map((l) => [l, 1])) } },
    model_version: 'ls-ml-backend',
    data_types: { text: 'Text' },
    is_draft: false,
    is_published: true,
    created_at: CREATED_AT,
    updated_at: lsTime(c.finished),
    sampling: 'Sequential sampling',
    skip_queue: 'REQUEUE_FOR_OTHERS',
    show_ground_truth_first: false,
    show_overlap_first: false,
    overlap_cohort_percentage: 100,
    task_data_login: null,
    task_data_password: null,
    pinned_at: null,
    task_number: c.taskNumber,
    finished_task_number: c.finished,
    total_predictions_number: c.taskNumber,
    total_annotations_number: c.finished,
    num_tasks_with_annotations: c.finished,
    useful_annotation_number: c.finished,
    ground_truth_number: 0,
    skipped_annotations_number: 0,
  };
}

export interface AnnotationSpec {
  projectId: number;
  taskId: number;
  annotationId: number;
  /** position of the task in its project (inner_id), also used for timestamps */
  seq: number;
  item: LabelledText;
}

function annotationObject(a: AnnotationSpec): Record<string, unknown> {
  return {
    id: a.annotationId,
    result: [
      {
        id: `r${a.annotationId.toString(36)}`,
        from_name: 'sentiment',
        to_name: 'text',
        type: 'choices',
        origin: 'manual',
        value: { choices: [a.item.choice] },
      },
    ],
    was_cancelled: false,
    ground_truth: false,
    created_at: lsTime(a.seq * 60),
    updated_at: lsTime(a.seq * 60),
    draft_created_at: null,
    lead_time: 5 + (a.annotationId % 40) / 3,
    prediction: {},
    result_count: 1,
    unique_id: `0b8f5f3e-0000-4000-8000-${a.annotationId.toString(16).padStart(12, '0')}`,
    import_id: null,
    last_action: null,
    bulk_created: false,
    task: a.taskId,
    project: a.projectId,
    completed_by: 1 + (a.annotationId % 7),
    updated_by: 1 + (a.annotationId % 7),
    parent_prediction: null,
    parent_annotation: null,
    last_created_by: null,
  };
}

/** TaskWebhookSerializer: all task columns, no annotations/predictions arrays. */
function taskObject(a: AnnotationSpec, labeled: boolean): Record<string, unknown> {
  return {
    id: a.taskId,
    data: { text: a.item.text },
    meta: {},
    created_at: lsTime(a.seq),
    updated_at: lsTime(a.seq * 60),
    is_labeled: labeled,
    overlap: 1,
    inner_id: a.seq,
    total_annotations: labeled ? 1 : 0,
    cancelled_annotations: 0,
    total_predictions: 1,
    comment_count: 0,
    unresolved_comment_count: 0,
    last_comment_updated_at: null,
    project: a.projectId,
    updated_by: null,
    file_upload: 5,
    comment_authors: [],
  };
}

export function annotationCreated(a: AnnotationSpec, counters: ProjectCounters): Record<string, unknown> {
  return {
    action: 'ANNOTATION_CREATED',
    annotation: annotationObject(a),
    task: taskObject(a, true),
    project: projectObject(a.projectId, counters),
  };
}

/** Bulk import event: `annotation` and `task` are lists. */
export function annotationsCreated(items: AnnotationSpec[], projectId: number, counters: ProjectCounters): Record<string, unknown> {
  return {
    action: 'ANNOTATIONS_CREATED',
    annotation: items.map(annotationObject),
    task: items.map((a) => taskObject(a, true)),
    project: projectObject(projectId, counters),
  };
}

export function startTraining(projectId: number, counters: ProjectCounters): Record<string, unknown> {
  return { action: 'START_TRAINING', project: projectObject(projectId, counters) };
}

export function setupBody(projectId: number): Record<string, unknown> {
  return { project: projectUid(projectId), schema: LABEL_CONFIG, hostname: 'http://localhost:8080', access_token: null, extra_params: null };
}

/** A /predict body as Label Studio's batch pre-annotation sends it. */
export function predictBody(projectId: number, tasks: Array<{ id: number; text: string }>): Record<string, unknown> {
  return {
    tasks: tasks.map((t, i) => ({
      id: t.id,
      data: { text: t.text },
      meta: {},
      created_at: lsTime(i),
      updated_at: lsTime(i),
      is_labeled: false,
      overlap: 1,
      inner_id: t.id,
      total_annotations: 0,
      cancelled_annotations: 0,
      total_predictions: 0,
      comment_count: 0,
      unresolved_comment_count: 0,
      last_comment_updated_at: null,
      project: projectId,
      updated_by: null,
      file_upload: 5,
      comment_authors: [],
      annotations: [],
      predictions: [],
    })),
    project: projectUid(projectId),
    label_config: LABEL_CONFIG,
    params: { login: null, password: null, context: null },
  };
}

/**
 * Warm-up webhook events, one JSON body a line, for `projects` projects from `firstProjectId` on: projects the
 * bench does not measure, with too few finished tasks to train. The server's first compilations after its
 * start then stay out of the measured percentiles.
 */
export function writeWarmupEvents(file: string, count: number, firstProjectId: number, projects: number): void {
  const next = textGenerator(7);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const projectId = firstProjectId + (i % projects);
    const seq = Math.floor(i / projects) + 1;
    const event = annotationCreated(
      { projectId, taskId: projectId * 100_000 + seq, annotationId: 9_000_000 + i, seq, item: next() },
      { taskNumber: 1000, finished: seq, minAnnotationsToStartTraining: 1000 },
    );
    lines.push(JSON.stringify(event));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}
