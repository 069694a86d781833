import type { IRouter } from 'express';
import type { AppContext } from '../../context.js';
import { setupRequestSchema } from '../../labelstudio/payloads.js';
import { projectIdFromUid } from '../../util/ids.js';
import { hasValidBasicAuth } from '../middleware/basic-auth.js';

/** Label Studio gives `/setup` 3 s; past this we answer with the stored version and let the build finish. */
const SETUP_BUDGET_MS = 2_000;

export function setupRoutes(router: IRouter, ctx: AppContext): void {
  router.post('/setup', async (req, res) => {
    const body = setupRequestSchema.parse(req.body);
    const projectId = projectIdFromUid(body.project);
    const trusted = !ctx.config.basicAuth || hasValidBasicAuth(req, ctx.config.basicAuth);
    const registration = ctx.host.register({
      id: projectId,
      uid: body.project,
      labelConfig: body.schema,
      extraParams: body.extra_params ?? null,
      hostname: body.hostname ?? undefined,
      accessToken: body.access_token ?? undefined,
      trusted,
    });
    const model = await Promise.race([registration, delay(SETUP_BUDGET_MS)]);
    if (!model) registration.catch(() => {}); // the error, if any, shows on the next /setup or /predict
    const modelVersion = model ? model.modelVersion : await ctx.versions.current(projectId);
    res.json({ model_version: modelVersion });
  });
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
