/**
 * Label Studio-shaped request bodies for tests: what Label Studio itself sends to an ML backend, every field
 * included (see docs/protocol.md for each call). Each builder fills what a real Label Studio would and
 * takes overrides for any field, so a test states only what it cares about:
 *
 *   const project = labelStudio.project({ id: 3, labelConfig });
 *   const task = labelStudio.task({ id: 7, data: { text: 'I love it' }, project: 3 });
 *   const annotation = labelStudio.annotation({ taskId: 7, result: [choices('sentiment', 'text', ['Positive'])] });
 *   await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }));
 *
 * Ids default to a counter and times to "now" (later calls get later times), with Label Studio's microseconds.
 * A project's `created_at` defaults to one fixed time, so its uid (`<id>.<created seconds>`) is the same in
 * `/setup`, `/predict` and the webhooks of one test.
 */
import { LabelInterface, type ParsedLabelConfig } from '../sdk/label-config.js';
import type { Json } from '../util/json.js';

type Fields = Record<string, unknown>;

/** The counters Label Studio keeps per project and sends inside `project` with every webhook. */
export interface ProjectCounters {
  task_number: number;
  finished_task_number: number;
  total_predictions_number: number;
  total_annotations_number: number;
  num_tasks_with_annotations: number;
  useful_annotation_number: number;
  ground_truth_number: number;
  skipped_annotations_number: number;
}

/** A project as webhooks carry it: every Project column, with the counters inside. */
export interface LabelStudioProject extends ProjectCounters {
  id: number;
  title: string;
  label_config: string;
  parsed_label_config: ParsedLabelConfig;
  min_annotations_to_start_training: number;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/** A task as webhooks carry it (no `annotations` / `predictions` lists; `/predict` adds them). */
export interface LabelStudioTask {
  id: number;
  data: Record<string, unknown>;
  project: number;
  [field: string]: unknown;
}

export interface LabelStudioAnnotation {
  id: number;
  result: Array<Record<string, unknown>>;
  was_cancelled: boolean;
  ground_truth: boolean;
  task: number;
  project: number;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

export interface SetupRequest {
  project: string;
  schema: string;
  hostname: string | null;
  access_token: string | null;
  extra_params: Json | undefined;
}

export interface PredictRequest {
  tasks: Array<LabelStudioTask & { annotations: unknown[]; predictions: unknown[] }>;
  project: string;
  label_config: string;
  params: { login: string | null; password: string | null; context: { result?: Array<Record<string, unknown>>; [key: string]: unknown } | null };
}

export interface AnnotationEvent {
  action: 'ANNOTATION_CREATED' | 'ANNOTATION_UPDATED';
  annotation: LabelStudioAnnotation;
  task: LabelStudioTask;
  project: LabelStudioProject;
}

export interface StartTrainingEvent {
  action: 'START_TRAINING';
  project: LabelStudioProject;
}

/** 2026-05-01T09:00:13Z: every project built without `createdAt` shares it, so its uid is stable. */
const DEFAULT_CREATED_AT = '2026-05-01T09:00:13.000000Z';

let lastId = 0;
const nextId = () => ++lastId;

let lastMicros = 0;
/** Now, as Label Studio writes times (microseconds, `Z`), strictly later than the previous call's. */
function now(): string {
  lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
  return lsTime(lastMicros);
}

function lsTime(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString(); // …T09:00:13.123Z
  return `${iso.slice(0, -1)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** `"12.1777626013"`: Label Studio's project uid, the project id and its creation time in whole seconds. */
export function projectUid(project: Pick<LabelStudioProject, 'id' | 'created_at'>): string {
  const seconds = Math.floor(Date.parse(project.created_at.replace(/(\.\d{3})\d+/, '$1')) / 1000);
  if (!Number.isFinite(seconds)) throw new TypeError(`project ${project.id}: created_at "${project.created_at}" is not a date`);
  return `${project.id}.${seconds}`;
}

export interface ProjectOptions extends Partial<Omit<LabelStudioProject, 'id' | 'label_config' | 'created_at'>> {
  id?: number;
  labelConfig: string;
  /** ISO time; default 2026-05-01T09:00:13Z. */
  createdAt?: string;
}

function project({ id = nextId(), labelConfig, createdAt = DEFAULT_CREATED_AT, ...fields }: ProjectOptions): LabelStudioProject {
  const parsed = parsedConfig(labelConfig);
  return {
    id,
    title: `Project #${id}`,
    description: '',
    organization: 1,
    label_config: labelConfig,
    parsed_label_config: parsed?.controls ?? {},
    label_config_hash: stringHash(labelConfig),
    expert_instruction: '',
    show_instruction: false,
    show_skip_button: true,
    enable_empty_annotation: true,
    reveal_preannotations_interactively: false,
    show_annotation_history: false,
    show_collab_predictions: true,
    evaluate_predictions_automatically: false,
    token: `project-invite-token-${id}`,
    result_count: 0,
    color: '#FFFFFF',
    created_by: 1,
    maximum_annotations: 1,
    min_annotations_to_start_training: 0,
    control_weights: parsed ? controlWeights(parsed.controls) : {},
    model_version: '',
    data_types: parsed ? Object.fromEntries(Object.values(parsed.objects).map((o) => [o.value, o.type])) : {},
    is_draft: false,
    is_published: false,
    created_at: createdAt,
    updated_at: createdAt,
    sampling: 'Sequential sampling',
    skip_queue: 'REQUEUE_FOR_OTHERS',
    show_ground_truth_first: false,
    show_overlap_first: false,
    overlap_cohort_percentage: 100,
    task_data_login: null,
    task_data_password: null,
    pinned_at: null,
    task_number: 0,
    finished_task_number: 0,
    total_predictions_number: 0,
    total_annotations_number: 0,
    num_tasks_with_annotations: 0,
    useful_annotation_number: 0,
    ground_truth_number: 0,
    skipped_annotations_number: 0,
    ...fields,
  };
}

/** Label Studio refuses a broken config before any webhook is sent; a test may still want to send one. */
function parsedConfig(labelConfig: string): LabelInterface | undefined {
  try {
    return new LabelInterface(labelConfig);
  } catch {
    return undefined;
  }
}

function controlWeights(controls: ParsedLabelConfig): Fields {
  return Object.fromEntries(
    Object.entries(controls).map(([name, c]) => [name, { overall: 1, type: c.type, labels: Object.fromEntries(c.labels.map((l) => [l, 1])) }]),
  );
}

/** A stable 31-bit number for a text, standing in for Label Studio's `label_config_hash`. */
function stringHash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h & 0x7fffffff;
}

export interface TaskOptions extends Partial<Omit<LabelStudioTask, 'id' | 'data' | 'project'>> {
  id?: number;
  data: Record<string, unknown>;
  /** The project's id; default 1. */
  project?: number;
}

function task({ id = nextId(), data, project: projectId = 1, ...fields }: TaskOptions): LabelStudioTask {
  const at = now();
  return {
    id,
    data,
    meta: {},
    created_at: at,
    updated_at: at,
    is_labeled: false,
    overlap: 1,
    inner_id: id,
    total_annotations: 0,
    cancelled_annotations: 0,
    total_predictions: 0,
    comment_count: 0,
    unresolved_comment_count: 0,
    last_comment_updated_at: null,
    project: projectId,
    updated_by: null,
    file_upload: 1,
    comment_authors: [],
    ...fields,
  };
}

export interface AnnotationOptions extends Partial<Omit<LabelStudioAnnotation, 'id' | 'task' | 'result'>> {
  id?: number;
  taskId: number;
  /** The regions the annotator made (an empty list: submitted without labelling). */
  result: Array<Record<string, unknown>>;
}

function annotation({ id = nextId(), taskId, result, ...fields }: AnnotationOptions): LabelStudioAnnotation {
  const at = now();
  return {
    id,
    result,
    was_cancelled: false,
    ground_truth: false,
    created_at: at,
    updated_at: at,
    draft_created_at: null,
    lead_time: 5.1,
    prediction: {},
    result_count: result.length,
    unique_id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    import_id: null,
    last_action: null,
    bulk_created: false,
    task: taskId,
    project: 1,
    completed_by: 1,
    updated_by: 1,
    parent_prediction: null,
    parent_annotation: null,
    last_created_by: null,
    ...fields,
  };
}

type TaskLike = LabelStudioTask | TaskOptions;
/** A whole task keeps every field it has; `{ id?, data }` gets the rest. */
const asTask = (t: TaskLike, projectId: number): LabelStudioTask => task({ project: projectId, ...t });

interface AnnotationEventParts {
  project: LabelStudioProject;
  task: LabelStudioTask;
  annotation: LabelStudioAnnotation;
}

/** What Label Studio sends when an annotation is submitted (or skipped): the annotation, its whole task, the project. */
function annotationCreated(parts: AnnotationEventParts): AnnotationEvent {
  return annotationEvent('ANNOTATION_CREATED', parts);
}

/** An annotation was edited (PUT or PATCH in Label Studio). */
function annotationUpdated(parts: AnnotationEventParts): AnnotationEvent {
  return annotationEvent('ANNOTATION_UPDATED', parts);
}

function annotationEvent(action: AnnotationEvent['action'], { project, task: t, annotation: a }: AnnotationEventParts): AnnotationEvent {
  return { action, annotation: { ...a, task: t.id, project: project.id }, task: { ...t, project: project.id }, project };
}

/** A bulk import of annotations: `annotation` and `task` are lists here. */
function annotationsCreated({ project, tasks, annotations }: { project: LabelStudioProject; tasks: LabelStudioTask[]; annotations: LabelStudioAnnotation[] }) {
  return {
    action: 'ANNOTATIONS_CREATED' as const,
    annotation: annotations.map((a) => ({ ...a, project: project.id, bulk_created: true })),
    task: tasks.map((t) => ({ ...t, project: project.id })),
    project,
  };
}

/** Label Studio sends the plural for one deletion too, with ids only. */
function annotationsDeleted({ project, ids }: { project: LabelStudioProject; ids: number[] }) {
  return { action: 'ANNOTATIONS_DELETED' as const, annotations: ids.map((id) => ({ id })), project };
}

function tasksDeleted({ project, ids }: { project: LabelStudioProject; ids: number[] }) {
  return { action: 'TASKS_DELETED' as const, tasks: ids.map((id) => ({ id })), project };
}

/** Sent on every settings change, a new label config included. */
function projectUpdated({ project }: { project: LabelStudioProject }) {
  return { action: 'PROJECT_UPDATED' as const, project };
}

/** The Start Training button (and "start training on annotation submission"). */
function startTraining({ project }: { project: LabelStudioProject }): StartTrainingEvent {
  return { action: 'START_TRAINING', project };
}

export interface SetupOptions {
  project: LabelStudioProject;
  /** Label Studio's own URL. Default null: a test backend must not call a Label Studio it does not run. */
  hostname?: string | null;
  accessToken?: string | null;
  /** The "Extra params" of the model settings: a string from the form, any JSON from the API. */
  extraParams?: Json;
}

/** `/setup`: sent when the model is connected and before every batch of predictions. */
function setupRequest({ project: p, hostname = null, accessToken = null, extraParams = null }: SetupOptions): SetupRequest {
  return { project: projectUid(p), schema: p.label_config, hostname, access_token: accessToken, extra_params: extraParams };
}

export interface PredictOptions {
  project: LabelStudioProject;
  /** Whole tasks, or `{ id?, data }` to have the rest filled in. */
  tasks: TaskLike[];
  /** Interactive pre-annotation: the regions the annotator just drew (`{ result: [...] }`); null for batch predictions. */
  context?: PredictRequest['params']['context'];
  /** The project's task-data credentials, usually null. */
  login?: string | null;
  password?: string | null;
}

/** `/predict`: every selected task in one request, each with its (empty) `annotations` and `predictions`. */
function predictRequest({ project: p, tasks, context = null, login = null, password = null }: PredictOptions): PredictRequest {
  return {
    tasks: tasks.map((t) => ({ annotations: [], predictions: [], ...asTask(t, p.id) })),
    project: projectUid(p),
    label_config: p.label_config,
    params: { login, password, context },
  };
}

export const labelStudio = {
  project,
  task,
  annotation,
  annotationCreated,
  annotationUpdated,
  annotationsCreated,
  annotationsDeleted,
  tasksDeleted,
  projectUpdated,
  startTraining,
  setupRequest,
  predictRequest,
  projectUid,
};
