import type { Request, IRouter } from 'express';
import type { AppContext } from '../../context.js';
import { HANDLED_ACTIONS, webhookEnvelopeSchema, webhookEventSchema, type WebhookProject } from '../../labelstudio/payloads.js';
import { hasValidBasicAuth, safeEqual, UnauthorizedError } from '../middleware/basic-auth.js';

export const WEBHOOK_SECRET_HEADER = 'x-webhook-secret';

/**
 * `POST /webhook`: every project event Label Studio has (its auto-created webhook sends all of them,
 * without credentials, with a 1 s timeout). We apply the event to the stores, maybe enqueue training,
 * and answer at once; training never runs in the request.
 */
export function webhookRoutes(router: IRouter, ctx: AppContext): void {
  router.post('/webhook', async (req, res) => {
    const { action } = webhookEnvelopeSchema.parse(req.body);
    if (!HANDLED_ACTIONS.has(action)) {
      // Harmless whoever sends it; refusing would count as failed deliveries and get the webhook disabled.
      ctx.metrics.webhookEvents.inc({ action: 'other', outcome: 'ignored' });
      res.status(200).json({ status: 'Unknown event' });
      return;
    }
    const event = webhookEventSchema.parse(req.body);
    await authorizeWebhook(ctx, req, event.project);
    const outcome = await ctx.pipeline.handle(event);
    ctx.metrics.webhookEvents.inc({ action, outcome: outcome.training ? 'training' : 'stored' });
    res.status(outcome.training ? 201 : 200).json({ status: 'ok', job: outcome.job });
  });
}

/**
 * Who may drive training (README "Securing /webhook"):
 * - WEBHOOK_SECRET set: the `X-Webhook-Secret` header (added in Label Studio's webhook settings) or basic auth.
 * - Only basic auth set: basic auth, or an event for a project that an authenticated `/setup` registered,
 *   whose id and creation time match the registered `<id>.<created_ts>` uid.
 * - Neither set (local development): everyone.
 */
async function authorizeWebhook(ctx: AppContext, req: Request, project: WebhookProject): Promise<void> {
  const { webhookSecret, basicAuth } = ctx.config;
  if (basicAuth && hasValidBasicAuth(req, basicAuth)) return;
  if (webhookSecret) {
    const given = req.headers[WEBHOOK_SECRET_HEADER];
    if (typeof given === 'string' && safeEqual(given, webhookSecret)) return;
    throw new UnauthorizedError(`missing or wrong ${WEBHOOK_SECRET_HEADER} header`);
  }
  if (!basicAuth) return;
  const record = await ctx.host.projectRecord(String(project.id));
  if (!record?.trusted) {
    throw new UnauthorizedError(`project ${project.id} was not registered by an authenticated /setup; send basic auth or set WEBHOOK_SECRET`);
  }
  if (!uidMatches(record.uid, project.created_at)) {
    throw new UnauthorizedError(`project ${project.id}: created_at does not match the project registered by /setup`);
  }
}

/** `"12.1718022013"` matches a project created at 1718022013 (seconds, as Label Studio builds the uid). */
function uidMatches(uid: string, createdAt: string | null | undefined): boolean {
  const registered = uid.split('.')[1];
  if (registered === undefined) return true; // registered without a timestamp: nothing to compare
  if (!createdAt) return false;
  const millis = Date.parse(createdAt.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(millis) && String(Math.floor(millis / 1000)) === registered;
}
