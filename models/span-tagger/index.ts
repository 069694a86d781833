/**
 * Built-in span labelling (named-entity style): a `<Labels>` control on a `<Text>` object (the first such pair,
 * or the control named in `extra_params`, e.g. `{"control": "ner"}`). Training learns a token-level linear
 * model over hashed word, shape, affix and context features from the project's annotations and exports it as
 * an ONNX file (scoring in onnxruntime, featurising and decoding in TypeScript: `lib/`). Predictions are
 * Label Studio spans with offsets in code points, the way Label Studio counts them.
 *
 * Written only against the public SDK, like any user's model. Before the first training it returns an honest
 * empty prediction (`result: []`, `score: 0`) per task.
 */
import {
  Model,
  NonRetryableError,
  TextOffsets,
  span,
  spansOf,
  type FitContext,
  type FitResult,
  type Json,
  type Prediction,
  type Task,
  type TrainingAction,
  type TrainingExample,
} from '../../src/sdk/index.js';
import { isOtherModelsArtifact } from '../shared/artifact-format.js';
import { findTextTarget, textMaxChars, textOf, type TextTarget } from '../shared/text-target.js';
import { ARTIFACT_FORMAT, loadSpanTagger, trainSpanTagger, type SpanExample, type SpanMetrics, type SpanTagger as Tagger } from './lib/index.js';

export default class SpanTagger extends Model {
  private target: TextTarget | undefined;
  private tagger: Tagger | undefined;

  override async setup(): Promise<void> {
    this.target = findTextTarget(this, 'Labels', 'SpanTagger');
    const artifact = await this.loadArtifact();
    // A corrupt artifact throws here: the host then keeps serving the previous version.
    if (!artifact || !this.target || isOtherModelsArtifact(artifact, ARTIFACT_FORMAT)) return;
    this.tagger = await loadSpanTagger(artifact);
  }

  override async predict(tasks: Task[]): Promise<Prediction[]> {
    const { target, tagger } = this;
    if (!target || !tagger) return tasks.map(() => ({ result: [], score: 0 }));
    const texts = tasks.map((t) => textOf(t.data[target.dataKey]));
    const found = await tagger.predict(texts);
    const known = new Set(target.labels);
    return texts.map((text, i) => {
      const offsets = new TextOffsets(text);
      // Labels the model knows but the current config does not are never predicted.
      const spans = found[i]!.filter((s) => known.has(s.label));
      const result = spans.map((s) => span(target.control, target.toName, offsets.spanValue(s.start, s.end, [s.label]), round(s.score)));
      // The task's score is its least sure span: what an annotator should look at first.
      const score = spans.length === 0 ? 0 : Math.min(...spans.map((s) => s.score));
      return { result, score: round(score) };
    });
  }

  override async fit(_event: TrainingAction, _data: unknown, ctx: FitContext): Promise<FitResult> {
    const target = this.target;
    if (!target) throw new NonRetryableError('the label config has no Labels control on a Text object: nothing to train');
    const examples = ctx.examples.flatMap((example) => toSpanExample(example, target));
    if (!examples.some((e) => e.spans.length > 0)) {
      throw new NonRetryableError(`no usable "${target.control}" spans yet (${ctx.examples.length} stored examples); annotate some tasks first`);
    }
    const trained = await trainSpanTagger({
      examples,
      labels: target.labels,
      metadata: { project: this.projectId, control: target.control },
      maxTextChars: textMaxChars(),
      onProgress: (fraction) => ctx.progress(fraction),
    });
    ctx.log.info({ examples: examples.length, ...trained.timings }, 'span tagger trained');
    return { artifact: trained.artifact, metrics: { ...headlineScores(trained.metrics.heldOut), ...trained.metrics, timings: trained.timings } as Record<string, Json> };
  }

  override async dispose(): Promise<void> {
    await this.tagger?.release();
    this.tagger = undefined;
  }

  override get memoryBytes(): number {
    return this.tagger?.memoryBytes ?? 1024;
  }
}

/**
 * One annotation as training text: its spans of our control, placed in JavaScript indices. One that only labels
 * other controls says nothing about ours and is left out.
 */
function toSpanExample(example: TrainingExample, target: TextTarget): SpanExample[] {
  const values = spansOf(example.result, target.control);
  if (values.length === 0) return [];
  const text = textOf(example.data[target.dataKey]);
  if (!text) return [];
  const offsets = new TextOffsets(text);
  const known = new Set(target.labels);
  const spans = values.flatMap((value) => {
    const where = offsets.locate(value);
    const label = value.labels.find((l) => known.has(l));
    return where && label ? [{ ...where, label }] : [];
  });
  return [{ text, spans }];
}

/**
 * The held-out span F1, pooled (micro) and averaged over the labels that have gold spans (macro): `macroF1` is
 * the key the console charts for every model.
 */
function headlineScores(heldOut: SpanMetrics | null): { microF1: number | null; macroF1: number | null } {
  if (!heldOut) return { microF1: null, macroF1: null };
  const labels = Object.values(heldOut.perLabel).filter((s) => s.gold > 0);
  const macroF1 = labels.length === 0 ? null : labels.reduce((sum, s) => sum + s.f1, 0) / labels.length;
  return { microF1: heldOut.micro.f1, macroF1 };
}

const round = (score: number) => Math.round(score * 1e6) / 1e6;
