import type { IRouter } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import { notFound } from '../../util/errors.js';
import { PROJECT_ID_PATTERN } from '../../util/ids.js';

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

  router.get('/projects/:id/versions', async (req, res) => {
    const { id } = projectParams.parse(req.params);
    res.json(await ctx.versions.ensure(id));
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

  router.get('/jobs/:id', async (req, res) => {
    const { id } = jobParams.parse(req.params);
    const job = await ctx.pipeline.job(id);
    if (!job) throw notFound(`no training job ${id}`);
    res.json(job);
  });

}
