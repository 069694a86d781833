/**
 * What each webhook action does to the stores (README "Webhook handling"). Pure with respect to the
 * queue: it returns how many annotations changed and leaves the training decision to the pipeline.
 */
import type { WebhookEvent, WebhookProject } from '../labelstudio/payloads.js';
import { projectCountersSchema } from '../labelstudio/payloads.js';
import type { AnnotationStore } from '../store/types.js';
import { storedAnnotation } from './stored-annotation.js';

export interface AppliedEvent {
  changes: number;
  counters: Record<string, number | null> | undefined;
  labelConfig: string | undefined;
}

export async function applyEvent(annotations: AnnotationStore, projectId: string, event: WebhookEvent): Promise<AppliedEvent> {
  const applied = (changes: number, labelConfig?: string): AppliedEvent => ({ changes, counters: countersOf(event.project), labelConfig });
  switch (event.action) {
    case 'ANNOTATION_CREATED':
    case 'ANNOTATION_UPDATED': {
      const taskId = event.task?.id ?? event.annotation.task;
      if (taskId == null) return applied(0);
      const stored = storedAnnotation(event.annotation, taskId, event.task?.data ?? {});
      return applied(await annotations.upsert(projectId, [stored]));
    }
    case 'ANNOTATIONS_CREATED': {
      const tasks = new Map((event.task ?? []).map((t) => [t.id, t]));
      const stored = event.annotation.flatMap((a) => {
        const taskId = a.task ?? undefined;
        return taskId == null ? [] : [storedAnnotation(a, taskId, tasks.get(taskId)?.data ?? {})];
      });
      return applied(await annotations.upsert(projectId, stored));
    }
    case 'ANNOTATION_DELETED':
    case 'ANNOTATIONS_DELETED': {
      const ids = [...(event.annotations ?? []), ...(event.annotation ? [event.annotation] : [])].map((a) => a.id);
      return applied(await annotations.remove(projectId, ids));
    }
    case 'TASKS_DELETED':
      return applied(await annotations.removeTasks(projectId, event.tasks.map((t) => t.id)));
    case 'PROJECT_UPDATED':
      return applied(0, event.project.label_config ?? undefined);
    case 'START_TRAINING':
      return applied(0);
  }
}

const COUNTER_KEYS = Object.keys(projectCountersSchema.shape) as Array<keyof typeof projectCountersSchema.shape>;

function countersOf(project: WebhookProject): Record<string, number | null> | undefined {
  const counters: Record<string, number | null> = {};
  for (const key of COUNTER_KEYS) if (project[key] !== undefined) counters[key] = project[key] ?? null;
  return Object.keys(counters).length ? counters : undefined;
}
