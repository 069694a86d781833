/**
 * The default model (`MODEL=built-in`): one backend for both built-in task types, chosen per project by its label
 * config, so a Label Studio instance registers one URL for all its text projects:
 *
 * - a `<Labels>` control on a `<Text>` object (NER-style spans) → `span-tagger`;
 * - a `<Choices>` control on a `<Text>` object → `text-classifier`, which also takes a config with both (its
 *   answer was the default before span labelling existed) and an empty one.
 *
 * `extra_params` `{"control": "…"}` picks a control of either kind. The project's versions and artifacts are
 * those of the chosen model; a label config that switches kind trains the other model from the next training
 * on (until then the old artifact is refused by the new model and the project predicts nothing).
 */
import { Model, type FitContext, type ModelClass, type ModelInit, type PredictContext, type PredictParams, type Task, type TrainingAction } from '../../src/sdk/index.js';
import { requestedControl } from '../shared/text-target.js';
import SpanTagger from '../span-tagger/index.js';
import TextClassifier from '../text-classifier/index.js';

export default class BuiltIn extends Model {
  readonly #model: Model;

  constructor(init: ModelInit) {
    super(init);
    this.#model = new (modelFor(this))(init);
  }

  /** The built-in model serving this project: `TextClassifier` or `SpanTagger`. */
  get modelName(): string {
    return this.#model.constructor.name;
  }

  override setup() {
    return this.#model.setup();
  }

  override predict(tasks: Task[], context: PredictContext, params: PredictParams) {
    return this.#model.predict(tasks, context, params);
  }

  override fit(event: TrainingAction, data: unknown, ctx: FitContext) {
    return this.#model.fit(event, data, ctx);
  }

  override dispose() {
    return this.#model.dispose();
  }

  override get memoryBytes(): number {
    return this.#model.memoryBytes;
  }
}

function modelFor(model: Model): ModelClass {
  const wanted = requestedControl(model.extraParams);
  const wantedType = wanted ? model.labelInterface.controls[wanted]?.type : undefined;
  if (wantedType) return wantedType === 'Labels' ? SpanTagger : TextClassifier;
  const spansOnly = !model.findTag('Choices', 'Text') && model.findTag('Labels', 'Text');
  return spansOnly ? SpanTagger : TextClassifier;
}
