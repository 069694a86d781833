/**
 * What each webhook action does to the annotation store (README "Webhook handling"). Pure with respect
 * to the queue: it returns what the write did and leaves the training decision to the pipeline.
 */
import type { WebhookEvent, WebhookProject } from '../labelstudio/payloads.js';
import { projectCountersSchema } from '../labelstudio/payloads.js';
import type { AnnotationStore, AnnotationWrite } from '../store/types.js';
import { storedAnnotation } from './stored-annotation.js';

/** The annotation write the event caused, if any. */
export async function applyEvent(annotations: AnnotationStore, projectId: string, event: WebhookEvent): Promise<AnnotationWrite | undefined> {
  switch (event.action) {
    case 'ANNOTATION_CREATED':
    case 'ANNOTATION_UPDATED': {
      const taskId = event.task?.id ?? event.annotation.task;
      if (taskId == null) return undefined;
      return annotations.upsert(projectId, [storedAnnotation(event.annotation, taskId, event.task?.data ?? {})]);
    }
    case 'ANNOTATIONS_CREATED': {
      const tasks = new Map((event.task ?? []).map((t) => [t.id, t]));
      const stored = event.annotation.flatMap((a) => {
        const taskId = a.task ?? undefined;
        return taskId == null ? [] : [storedAnnotation(a, taskId, tasks.get(taskId)?.data ?? {})];
      });
      return annotations.upsert(projectId, stored);
    }
    case 'ANNOTATION_DELETED':
    case 'ANNOTATIONS_DELETED': {
      const ids = [...(event.annotations ?? []), ...(event.annotation ? [event.annotation] : [])].map((a) => a.id);
      return annotations.remove(projectId, ids);
    }
    case 'TASKS_DELETED':
      return annotations.removeTasks(projectId, event.tasks.map((t) => t.id));
    case 'PROJECT_UPDATED':
    case 'START_TRAINING':
      return undefined;
  }
}

/** The label config a PROJECT_UPDATED carries (Label Studio sends the whole project). */
export function labelConfigOf(event: WebhookEvent): string | undefined {
  return event.action === 'PROJECT_UPDATED' ? (event.project.label_config ?? undefined) : undefined;
}

const COUNTER_KEYS = Object.keys(projectCountersSchema.shape) as Array<keyof typeof projectCountersSchema.shape>;

/** Label Studio's project counters, which every webhook carries inside `project`. */
export function countersOf(project: WebhookProject): Record<string, number | null> | undefined {
  const counters: Record<string, number | null> = {};
  for (const key of COUNTER_KEYS) if (project[key] !== undefined) counters[key] = project[key] ?? null;
  return Object.keys(counters).length ? counters : undefined;
}
