/**
 * On START_TRAINING, pull the project's labeled tasks from Label Studio so annotations the backend never
 * saw (made before it was connected, or while it was down) are trained on too (docs/protocol.md, Training
 * data from Label Studio). Failure is recorded in the job and training goes on with what the store holds.
 */
import type { Logger } from 'pino';
import { LabelStudioClient } from '../labelstudio/client.js';
import type { AnnotationStore, ProjectStore } from '../store/types.js';
import { storedAnnotation } from './stored-annotation.js';

export interface LabelStudioCredentials {
  url: string | undefined;
  apiKey: string | undefined;
}

export interface SyncDeps {
  annotations: AnnotationStore;
  projects: ProjectStore;
  labelStudio: LabelStudioCredentials;
  signal: AbortSignal;
}

export type SyncReport =
  | { status: 'skipped'; reason: string }
  | { status: 'ok'; tasks: number; annotations: number; changed: number }
  | { status: 'failed'; error: string };

export async function syncFromLabelStudio(deps: SyncDeps, projectId: string, log: Logger): Promise<SyncReport> {
  const record = await deps.projects.get(projectId);
  // The operator's configuration wins over what /setup carried, as for file downloads.
  const url = deps.labelStudio.url ?? record?.hostname;
  const token = deps.labelStudio.apiKey ?? record?.accessToken;
  if (!url || !token) return { status: 'skipped', reason: 'no Label Studio URL and token (LABEL_STUDIO_URL/API_KEY or /setup)' };
  try {
    const client = new LabelStudioClient({ baseUrl: url, token });
    const tasks = await client.fetchLabeledTasks(projectId, { signal: deps.signal });
    const annotations = tasks.flatMap((t) => t.annotations.map((a) => storedAnnotation(a, t.id, t.data)));
    const { changed } = await deps.annotations.upsert(projectId, annotations);
    log.info({ tasks: tasks.length, annotations: annotations.length, changed }, 'synced labeled tasks from Label Studio');
    return { status: 'ok', tasks: tasks.length, annotations: annotations.length, changed };
  } catch (err) {
    // LabelStudioError messages never contain the token.
    const error = err instanceof Error ? err.message : String(err);
    log.warn({ err: error }, 'Label Studio sync failed; training on stored annotations');
    return { status: 'failed', error };
  }
}
