import type { IRouter } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import { JOB_STATUSES } from '../../store/types.js';
import { PROJECT_ID_PATTERN } from '../../util/ids.js';

export const MAX_JOBS_LIMIT = 1000;

/** Strict: a misspelt parameter (`?staus=failed`) is a 400, not a silently unfiltered list. */
export const jobsQuery = z.strictObject({
  project: z.string().regex(PROJECT_ID_PATTERN, 'project id must be 1-64 letters, digits, "_" or "-"').optional(),
  status: z.enum(JOB_STATUSES).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_JOBS_LIMIT))
    .default(50),
});

/**
 * `GET /jobs?project=&status=&limit=`: training requests, newest first, in both queue modes. A request folded
 * into another job before it ran is listed as `superseded`, with `supersededBy` naming the job that trains it.
 */
export function jobRoutes(router: IRouter, ctx: AppContext): void {
  router.get('/jobs', async (req, res) => {
    const { project, status, limit } = jobsQuery.parse(req.query);
    res.json({ jobs: await ctx.queue.list({ projectId: project, status, limit }) });
  });
}
