/**
 * The shapes Label Studio sends to an ML backend (docs/protocol.md), as zod schemas. Every type used by
 * the server, the SDK and the pipeline is derived from these; unknown keys pass through untouched because
 * Label Studio adds fields between versions.
 */
import { z } from 'zod';
import { jsonSchema } from '../util/json.js';
import { integerIdSchema, projectUidSchema } from '../util/ids.js';

const id = integerIdSchema;
/** A JSON object with any keys (task data, a result region). Cheaper to validate than `z.record`, same outcome for JSON. */
const anyObject = z.looseObject({});

export const taskSchema = z.looseObject({
  id: id.optional(),
  data: anyObject.default({}),
});
export type Task = z.infer<typeof taskSchema>;

export const setupRequestSchema = z.looseObject({
  project: projectUidSchema,
  schema: z.string().max(1_000_000),
  hostname: z.string().nullish(),
  access_token: z.string().nullish(),
  extra_params: jsonSchema.nullish(),
});
export type SetupRequest = z.infer<typeof setupRequestSchema>;

export const predictRequestSchema = z.looseObject({
  tasks: z.union([z.array(taskSchema), taskSchema.transform((t) => [t])]),
  project: projectUidSchema.nullish(),
  label_config: z.string().max(1_000_000).nullish(),
  params: z
    .looseObject({
      login: z.string().nullish(),
      password: z.string().nullish(),
      context: z.unknown().optional(),
    })
    .nullish(),
});
export type PredictRequest = z.infer<typeof predictRequestSchema>;

/** Label Studio's eight project counters: inside `project`, not beside `action` as its docs show. */
export const projectCountersSchema = z.object({
  task_number: z.number().int().nullish(),
  finished_task_number: z.number().int().nullish(),
  total_annotations_number: z.number().int().nullish(),
  num_tasks_with_annotations: z.number().int().nullish(),
  useful_annotation_number: z.number().int().nullish(),
  ground_truth_number: z.number().int().nullish(),
  skipped_annotations_number: z.number().int().nullish(),
  total_predictions_number: z.number().int().nullish(),
  min_annotations_to_start_training: z.number().int().nullish(),
});

export const webhookProjectSchema = z.looseObject({
  id,
  label_config: z.string().nullish(),
  created_at: z.string().nullish(),
  ...projectCountersSchema.shape,
});
export type WebhookProject = z.infer<typeof webhookProjectSchema>;

export const annotationSchema = z.looseObject({
  id,
  result: z.array(anyObject).nullish(),
  was_cancelled: z.boolean().nullish(),
  ground_truth: z.boolean().nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  task: id.nullish(),
  project: id.nullish(),
});
export type Annotation = z.infer<typeof annotationSchema>;

const idOnly = z.looseObject({ id });

export const TRAINING_ACTIONS = [
  'START_TRAINING',
  'ANNOTATION_CREATED',
  'ANNOTATION_UPDATED',
  'ANNOTATIONS_CREATED',
  'ANNOTATION_DELETED',
  'ANNOTATIONS_DELETED',
] as const;
export type TrainingAction = (typeof TRAINING_ACTIONS)[number];

const oneOrMany = <T extends z.ZodType>(schema: T) => z.union([z.array(schema), schema.transform((v) => [v])]);

/**
 * Webhook payloads by action. Actions we do not act on are accepted with any body that has an `action`.
 * `ANNOTATION_DELETED` is in Label Studio's docs but its code only sends the plural; both work.
 */
export const webhookEventSchema = z.discriminatedUnion('action', [
  z.looseObject({ action: z.literal('START_TRAINING'), project: webhookProjectSchema }),
  z.looseObject({
    action: z.enum(['ANNOTATION_CREATED', 'ANNOTATION_UPDATED']),
    project: webhookProjectSchema,
    annotation: annotationSchema,
    task: taskSchema.nullish(),
  }),
  z.looseObject({
    action: z.literal('ANNOTATIONS_CREATED'),
    project: webhookProjectSchema,
    annotation: oneOrMany(annotationSchema),
    task: oneOrMany(taskSchema).nullish(),
  }),
  z.looseObject({
    action: z.enum(['ANNOTATION_DELETED', 'ANNOTATIONS_DELETED']),
    project: webhookProjectSchema,
    annotations: oneOrMany(idOnly).optional(),
    annotation: idOnly.optional(),
  }),
  z.looseObject({ action: z.literal('TASKS_DELETED'), project: webhookProjectSchema, tasks: oneOrMany(idOnly) }),
  z.looseObject({ action: z.literal('PROJECT_UPDATED'), project: webhookProjectSchema }),
]);
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** Actions with a schema above; anything else is answered `200 {"status":"Unknown event"}`. */
export const HANDLED_ACTIONS: ReadonlySet<string> = new Set([...TRAINING_ACTIONS, 'TASKS_DELETED', 'PROJECT_UPDATED']);

export const webhookEnvelopeSchema = z.looseObject({ action: z.string().min(1) });
