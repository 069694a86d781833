/**
 * The built-in model: text classification for any label config with a `Choices` control on a `Text`
 * object (the first such pair, or the control named in `extra_params`, e.g. `{"control": "sentiment"}`).
 * Training builds one self-contained ONNX graph (strings in, probabilities out: normalisation,
 * tokenisation, n-gram hashing and the linear layer all inside), served with onnxruntime-node.
 * Written only against the public SDK, so it doubles as the example to copy.
 *
 * Before the first training it returns an honest empty prediction (`result: []`, `score: 0`) per task.
 */
import { LabelConfigError, Model, type FitContext, type FitResult, type Prediction, type Task, type TrainingAction } from '../../src/sdk/index.js';
import { BatchingClassifier } from './lib/batcher.js';
import { loadClassifier, trainTextClassifier, type ClassifierMode } from './lib/index.js';

interface Target {
  control: string;
  toName: string;
  dataKey: string;
  labels: readonly string[];
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
    if (!artifact || !this.target) return;
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
      const choices = selected[i]!.filter((label) => columns.has(label));
      if (choices.length === 0) return { result: [], score: 0 };
      let score = 1;
      for (const label of choices) score = Math.min(score, probs[i * C + columns.get(label)!]!);
      return {
        result: [{ from_name: target.control, to_name: target.toName, type: 'choices', value: { choices } }],
        score: Math.round(score * 1e6) / 1e6,
      };
    });
  }

  override async fit(_event: TrainingAction, _data: unknown, ctx: FitContext): Promise<FitResult> {
    const target = this.target;
    if (!target) throw new Error('the label config has no Choices control on a Text object: nothing to train');
    const texts: string[] = [];
    const targets: string[][] = [];
    const known = new Set(target.labels);
    for (const example of ctx.examples) {
      const region = example.result.find((r) => r.from_name === target.control && r.type === 'choices');
      const choices = ((region?.value as { choices?: unknown } | undefined)?.choices ?? []) as unknown[];
      const labels = choices.filter((c): c is string => typeof c === 'string' && known.has(c));
      if (labels.length === 0) continue;
      texts.push(textOf(example.data[target.dataKey]));
      targets.push(target.mode === 'single' ? [labels[0]!] : labels);
    }
    if (texts.length === 0) {
      throw new Error(`no usable "${target.control}" annotations yet (${ctx.examples.length} stored examples); annotate some tasks first`);
    }
    const trained = await trainTextClassifier({
      texts,
      targets: target.mode === 'single' ? targets.map((t) => t[0]!) : targets,
      labels: target.labels,
      mode: target.mode,
      metadata: { project: this.projectId, control: target.control },
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
    const loaded = this.classifier?.classifier;
    // W (2^bits × labels) and the idf table (2^bits), float32.
    return loaded ? 2 ** loaded.metadata.featurizer.bits * (loaded.labels.length + 1) * 4 : 1024;
  }

  /** The Choices→Text pair to serve. An empty config is accepted (no predictions); any other mismatch is refused. */
  private findTarget(): Target | undefined {
    const wanted = requestedControl(this.extraParams);
    const candidates = Object.entries(this.labelInterface.controls).filter(
      ([name, c]) => c.type === 'Choices' && c.inputs.some((i) => i.type === 'Text') && (!wanted || name === wanted),
    );
    const first = candidates[0];
    if (!first) {
      if (Object.keys(this.labelInterface.controls).length === 0 && !wanted) return undefined;
      throw new LabelConfigError(
        wanted
          ? `extra_params names control "${wanted}", which is not a Choices control on a Text object`
          : 'TextClassifier needs a <Choices> control on a <Text> object in the label config',
      );
    }
    const [control, info] = first;
    const input = info.inputs.find((i) => i.type === 'Text')!;
    const toName = info.to_name.find((n) => this.labelInterface.objects[n]?.type === 'Text') ?? info.to_name[0]!;
    const choiceAttr = (this.labelInterface.controlAttributes[control]?.choice ?? 'single').toLowerCase();
    return { control, toName, dataKey: input.value, labels: info.labels, mode: choiceAttr === 'multiple' ? 'multiple' : 'single' };
  }
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value);
}

/** `extra_params` arrives as a string (Label Studio's textarea) or any JSON value. */
function requestedControl(extraParams: unknown): string | undefined {
  let params = extraParams;
  if (typeof params === 'string') {
    try {
      params = JSON.parse(params);
    } catch {
      return undefined;
    }
  }
  const control = (params as { control?: unknown } | null)?.control;
  return typeof control === 'string' && control ? control : undefined;
}
