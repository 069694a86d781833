import type { IRouter } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import type { WebhookEvent } from '../../labelstudio/payloads.js';
import { notFound } from '../../util/errors.js';
import { PROJECT_ID_PATTERN } from '../../util/ids.js';
import { noVersions } from '../../runtime/versions.js';

const projectParams = z.object({ id: z.string().regex(PROJECT_ID_PATTERN, 'project id must be 1-64 letters, digits, "_" or "-"') });
const versionsQuery = z.object({ project: z.string().regex(PROJECT_ID_PATTERN).optional() });
const pinBody = z.object({ version: z.string().min(1).max(200).nullable() });
const jobParams = z.object({ id: z.string().min(1).max(200) });

/**
 * Our own endpoints beside Label Studio's protocol: model versions (Label Studio's picker calls
 * `GET /versions` with no query), pinning, project stats and training jobs.
 */
export function projectRoutes(router: IRouter, ctx: AppContext): void {

  router.get('/versions', async (req, res) => {
    const { project } = versionsQuery.parse(req.query);
    const all = await ctx.versions.list(project);
    const names = new Set<string>();
    for (const { versions } of all) for (const v of versions.versions) names.add(v.version);
    res.json({
      versions: [...names],
      projects: Object.fromEntries(all.map(({ projectId, versions }) => [projectId, versions])),
    });
  });

  // A read never creates a project: an unknown id is a 404 (as for /stats and /jobs), not a made-up record.
  router.get('/projects/:id/versions', async (req, res) => {
    const { id } = projectParams.parse(req.params);
    const versions = await ctx.versions.get(id);
    if (!versions) throw noVersions(id);
    res.json(versions);
  });

  router.put('/projects/:id/model-version', async (req, res) => {
    const { id } = projectParams.parse(req.params);
    const { version } = pinBody.parse(req.body);
    // Resolves once this process serves the pinned version, so the next /setup and /predict already agree.
    res.json(await ctx.versions.pin(id, version ?? undefined));
  });

  router.get('/projects/:id/stats', async (req, res) => {
    const { id } = projectParams.parse(req.params);
    const stats = await ctx.pipeline.stats(id);
    if (!stats) throw notFound(`no stats for project ${id}: no event or setup seen yet`);
    res.json(stats);
  });

  // `ls-ml-backend train`: the same request as Label Studio's Start Training button (a START_TRAINING
  // webhook), so it syncs from Label Studio when credentials are known and coalesces like any other.
  router.post('/projects/:id/train', async (req, res) => {
    const { id } = projectParams.parse(req.params);
    // Label Studio's project ids are integers; the pipeline keys projects by String(id), so another valid id
    // (or one a number would round) passes through as the string it is.
    const numeric = Number(id);
    const project = { id: (String(numeric) === id && Number.isSafeInteger(numeric) ? numeric : id) as number };
    const outcome = await ctx.pipeline.handle({ action: 'START_TRAINING', project } satisfies WebhookEvent);
    res.status(201).json({ status: 'ok', job: outcome.job });
  });

  router.get('/jobs/:id', async (req, res) => {
    const { id } = jobParams.parse(req.params);
    const job = await ctx.pipeline.job(id);
    if (!job) throw notFound(`no training job ${id}`);
    res.json(job);
  });

}
