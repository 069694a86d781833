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
import {
  ARTIFACT_FORMAT,
  DEFAULT_MAX_TEXT_CHARS,
  loadClassifier,
  trainTextClassifier,
  type ClassifierMode,
  type Selection,
  type TrainTextClassifierInput,
} from './lib/index.js';

/** Artifact metadata: how many examples the served setting was selected on (the grid's last run). */
const SELECTED_AT = 'selected_at';
/** Growth of the examples since the grid's last run that makes a training run it again. */
const RESELECT_GROWTH = 1.5;

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
    const reused = this.reusableSelection(texts.length, target.labels);
    const trained = await trainTextClassifier({
      texts,
      targets: target.mode === 'single' ? targets.map((t) => t[0]!) : targets,
      labels: target.labels,
      mode: target.mode,
      ...(reused ? { select: false, ...reused.options } : {}),
      metadata: { project: this.projectId, control: target.control, [SELECTED_AT]: String(reused?.selectedAt ?? texts.length) },
      maxTextChars: textMaxChars() ?? DEFAULT_MAX_TEXT_CHARS,
      onProgress: (p) => ctx.progress(p.fraction),
    });
    ctx.log.info({ examples: texts.length, selectionReused: !!reused, ...trained.timings }, 'text classifier trained');
    const selection = reused ? { ...trained.metrics.selection, reusedFrom: this.modelVersion, selectedAt: reused.selectedAt } : trained.metrics.selection;
    return { artifact: trained.artifact, metrics: { ...trained.metrics, selection, timings: trained.timings } as never };
  }

  /**
   * Model selection costs 3–4× a plain fit, and its answer moves little while the data grows a little: a retrain
   * keeps the served model's setting until the examples have grown by RESELECT_GROWTH since its grid ran (or the
   * labels changed), so the trainings of a busy project stay cheap and Start Training after a burst answers fast.
   */
  private reusableSelection(examples: number, labels: readonly string[]): { options: Partial<TrainTextClassifierInput>; selectedAt: number } | undefined {
    const served = this.classifier?.classifier.metadata;
    const chosen = (served?.metrics?.selection as Selection | undefined)?.chosen;
    const selectedAt = Number(served?.extra[SELECTED_AT]);
    if (!served || !chosen || !(selectedAt > 0) || examples >= selectedAt * RESELECT_GROWTH) return undefined;
    if (served.labels.length !== labels.length || served.labels.some((label, i) => label !== labels[i])) return undefined;
    const charNgrams = chosen.chars ? served.featurizer.charNgrams : undefined;
    if (chosen.chars && !charNgrams) return undefined;
    return { options: { ngramOrder: chosen.wordOrder, charNgrams: charNgrams ?? false, l2: chosen.l2, classWeight: chosen.classWeight }, selectedAt };
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

