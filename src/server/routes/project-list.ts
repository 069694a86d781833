import type { IRouter } from 'express';
import type { AppContext } from '../../context.js';
import type { ProjectStatsView } from '../../pipeline/pipeline.js';

/** `GET /projects`: every project seen through `/setup`, events or a training, with the view `/projects/:id/stats` gives. */
export function projectListRoutes(router: IRouter, ctx: AppContext): void {
  router.get('/projects', async (_req, res) => {
    const [registered, stats, versions] = await Promise.all([ctx.stores.projects.list(), ctx.stores.stats.list(), ctx.versions.list()]);
    const ids = new Set([...registered.map((p) => p.id), ...stats.map((s) => s.projectId), ...versions.map((v) => v.projectId)]);
    const views = await Promise.all([...ids].sort(byProjectId).map((id) => ctx.pipeline.stats(id, true)));
    res.json({ projects: views.filter((v): v is ProjectStatsView => v !== undefined) });
  });
}

/** Label Studio's ids are numbers: 2 before 10; other ids after them, alphabetically. */
function byProjectId(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.POSITIVE_INFINITY;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.POSITIVE_INFINITY;
  return na !== nb ? na - nb : a.localeCompare(b);
}
