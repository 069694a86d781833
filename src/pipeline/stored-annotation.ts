import type { StoredAnnotation } from '../store/types.js';

/** The fields both sources (webhook payloads and Label Studio's task API) give for an annotation. */
export interface AnnotationFields {
  id: number;
  result?: Array<Record<string, unknown>> | null;
  was_cancelled?: boolean | null;
  ground_truth?: boolean | null;
  created_at?: string | null;
  updated_at?: string | null;
}

export function storedAnnotation(a: AnnotationFields, taskId: number, taskData: Record<string, unknown>): StoredAnnotation {
  return {
    annotationId: a.id,
    taskId,
    result: a.result ?? [],
    taskData,
    updatedAt: timestampMs(a.updated_at ?? a.created_at),
    cancelled: a.was_cancelled ?? false,
    groundTruth: a.ground_truth ?? false,
  };
}

/** Label Studio sends microseconds ("…13.123456Z"); Date.parse wants at most milliseconds. */
export function timestampMs(value: string | null | undefined): number {
  if (!value) return 0;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) ? ms : 0;
}
