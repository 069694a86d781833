/**
 * What a training job carries and `Model.fit` gets as `data`: the triggering webhook reduced to an
 * allowlist. Jobs are kept at rest (a BullMQ hash per job in Redis, up to 1,000 finished ones), and Label
 * Studio's webhook carries secrets in `project` (the invite `token`, `task_data_login`/`task_data_password`)
 * and task contents the store already holds; a field reaches the job only if it is listed here.
 * `z.object` drops every key it does not name, nested ones included, without walking into them.
 */
import { z } from 'zod';
import { projectCountersSchema, TRAINING_ACTIONS, type TrainingAction, type WebhookEvent } from '../labelstudio/payloads.js';

/** An optional field that is dropped, rather than failing the request, when it has an unexpected shape. */
const optionalString = z.string().nullish().catch(undefined);
const optionalId = z.number().int().nullish().catch(undefined);

const projectFields = z.object({
  id: z.number().int(),
  title: optionalString,
  label_config: optionalString,
  created_at: optionalString,
  ...projectCountersSchema.shape,
});

const annotationRef = z.object({ id: z.number().int(), task: optionalId });
const idRef = z.object({ id: optionalId });
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]).optional().catch(undefined);

export const trainingPayloadSchema = z.object({
  action: z.enum(TRAINING_ACTIONS),
  project: projectFields,
  /** ANNOTATION_CREATED/UPDATED: one; ANNOTATIONS_CREATED: a list; deletions: `{id}`. */
  annotation: oneOrMany(annotationRef),
  /** ANNOTATIONS_DELETED: the deleted ids. */
  annotations: oneOrMany(idRef),
  /** The annotated task(s), id only. */
  task: oneOrMany(idRef),
});
export type TrainingPayload = z.infer<typeof trainingPayloadSchema>;

/** The job payload for a training-triggering webhook event. */
export function trainingPayload(event: WebhookEvent, action: TrainingAction): TrainingPayload {
  const parsed = trainingPayloadSchema.safeParse({ ...event, action });
  // The event passed the webhook schema, so this holds; if a field ever does not fit, the ids still do.
  return parsed.success ? parsed.data : { action, project: { id: event.project.id } };
}
