/**
 * The built-in model: text classification for any label config with a `Choices` control on a `Text`
 * object (the first such pair, or the control named in `extra_params`, e.g. `{"control": "sentiment"}`).
 * Training builds one self-contained ONNX graph (strings in, probabilities out: normalisation,
 * tokenisation, n-gram hashing and the linear layer all inside), served with onnxruntime-node.
 * Written only against the public SDK, so it doubles as the example to copy.
 *
 * Before the first training it returns an honest empty prediction (`result: []`, `score: 0`) per task.
 */
import {
  Model,
  NonRetryableError,
  choices,
  choicesOf,
  type FitContext,
  type FitResult,
  type Prediction,
  type Task,
  type TrainingAction,
} from '../../src/sdk/index.js';
import { isOtherModelsArtifact } from '../shared/artifact-format.js';
import { findTextTarget, textMaxChars, textOf, type TextTarget } from '../shared/text-target.js';
import { BatchingClassifier } from './lib/batcher.js';
import { ARTIFACT_FORMAT, DEFAULT_MAX_TEXT_CHARS, loadClassifier, trainTextClassifier, type ClassifierMode } from './lib/index.js';

interface Target extends TextTarget {
  mode: ClassifierMode;
}

export default class TextClassifier extends Model {
  private target: Target | undefined;
  private classifier: BatchingClassifier | undefined;
  /** label → probability column, for the labels both the model and the label config have */
  private columns = new Map<string, number>();

  override async setup(): Promise<void> {
    this.target = this.findTarget();
    const artifact = await this.loadArtifact();
    // A corrupt artifact throws here: the host then keeps serving the previous version.
    if (!artifact || !this.target || isOtherModelsArtifact(artifact, ARTIFACT_FORMAT)) return;
    this.classifier = new BatchingClassifier(await loadClassifier(artifact));
    const known = new Set(this.target.labels);
    this.columns = new Map(this.classifier.classifier.labels.flatMap((label, column) => (known.has(label) ? [[label, column] as const] : [])));
  }

  override async predict(tasks: Task[]): Promise<Prediction[]> {
    const { target, classifier } = this;
    if (!target || !classifier) return tasks.map(() => ({ result: [], score: 0 }));
    const texts = tasks.map((t) => textOf(t.data[target.dataKey]));
    const { probs, selected } = await classifier.predict(texts);
    const columns = this.columns;
    const C = classifier.classifier.labels.length;
    return tasks.map((_, i) => {
      // Labels the model knows but the current config does not are never predicted.
      const labels = selected[i]!.filter((label) => columns.has(label));
      if (labels.length === 0) return { result: [], score: 0 };
      let score = 1;
      for (const label of labels) score = Math.min(score, probs[i * C + columns.get(label)!]!);
      return { result: [choices(target.control, target.toName, labels)], score: Math.round(score * 1e6) / 1e6 };
    });
  }

  override async fit(_event: TrainingAction, _data: unknown, ctx: FitContext): Promise<FitResult> {
    const target = this.target;
    // Neither error below goes away by retrying: the job fails at once, with this message on it.
    if (!target) throw new NonRetryableError('the label config has no Choices control on a Text object: nothing to train');
    const texts: string[] = [];
    const targets: string[][] = [];
    const known = new Set(target.labels);
    for (const example of ctx.examples) {
      const labels = choicesOf(example.result, target.control).filter((c) => known.has(c));
      if (labels.length === 0) continue;
      texts.push(textOf(example.data[target.dataKey]));
      targets.push(target.mode === 'single' ? [labels[0]!] : labels);
    }
    if (texts.length === 0) {
      throw new NonRetryableError(`no usable "${target.control}" annotations yet (${ctx.examples.length} stored examples); annotate some tasks first`);
    }
    const trained = await trainTextClassifier({
      texts,
      targets: target.mode === 'single' ? targets.map((t) => t[0]!) : targets,
      labels: target.labels,
      mode: target.mode,
      metadata: { project: this.projectId, control: target.control },
      maxTextChars: textMaxChars() ?? DEFAULT_MAX_TEXT_CHARS,
      onProgress: (p) => ctx.progress(p.fraction),
    });
    ctx.log.info({ examples: texts.length, ...trained.timings }, 'text classifier trained');
    return { artifact: trained.artifact, metrics: { ...trained.metrics, timings: trained.timings } as never };
  }

  override async dispose(): Promise<void> {
    await this.classifier?.classifier.release();
    this.classifier = undefined;
  }

  override get memoryBytes(): number {
    // Tables and session as loaded: ~2.4 MiB for a compact model of a few thousand annotations, ~6 MiB dense.
    return this.classifier?.classifier.memoryBytes ?? 1024;
  }

  /** The Choices→Text pair to serve, with its choice mode. */
  private findTarget(): Target | undefined {
    const found = findTextTarget(this, 'Choices', 'TextClassifier');
    if (!found) return undefined;
    const choiceAttr = (this.labelInterface.controlAttributes[found.control]?.choice ?? 'single').toLowerCase();
    return { ...found, mode: choiceAttr === 'multiple' ? 'multiple' : 'single' };
  }
}

