import type { IRouter } from 'express';
import type { AppContext } from '../../context.js';
import { predictRequestSchema } from '../../labelstudio/payloads.js';
import { finalizePredictions } from '../../sdk/model-response.js';
import type { PredictContext } from '../../sdk/types.js';
import { HttpError } from '../../util/errors.js';
import { DEFAULT_PROJECT_ID, projectIdFromUid } from '../../util/ids.js';

/**
 * `POST /predict`: exactly one result item per task, in order, each stamped with the served version
 * (the one `/setup` reports), or Label Studio drops the batch or re-predicts forever (docs/protocol.md, Predict).
 */
export function predictRoutes(router: IRouter, ctx: AppContext): void {
  router.post('/predict', async (req, res) => {
    const body = predictRequestSchema.parse(req.body);
    const projectId = body.project ? projectIdFromUid(body.project) : DEFAULT_PROJECT_ID;
    const model = await ctx.host.model(projectId, body.label_config);
    const { context, ...params } = body.params ?? {};
    const output = await model.predict(body.tasks, (context ?? null) as PredictContext, params);
    const results = finalizePredictions(output, model.modelVersion);
    if (results.length !== body.tasks.length) {
      throw new HttpError(
        500,
        'model_contract_violation',
        `${model.constructor.name}.predict returned ${results.length} results for ${body.tasks.length} tasks; it must return exactly one per task`,
      );
    }
    ctx.metrics.countPredictions(projectId, results.length);
    res.json({ results });
  });
}
