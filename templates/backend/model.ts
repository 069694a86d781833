/**
 * {{name}}: a text classifier that learns from your annotations (multinomial naive Bayes over words).
 *
 * It labels any project whose label config has a <Choices> control on a <Text> object, for example:
 *
 *   <View>
 *     <Text name="text" value="$text"/>
 *     <Choices name="sentiment" toName="text" choice="single">
 *       <Choice value="Positive"/>
 *       <Choice value="Negative"/>
 *     </Choices>
 *   </View>
 *
 * The three methods to edit:
 * - setup()   runs once per project and model version: read the label config, load the trained weights.
 * - predict() returns exactly one prediction per task (model_version is filled in for you).
 * - fit()     runs in a training thread when Label Studio asks for training (Start Training, or new
 *             annotations); it returns the learned weights as an artifact, which becomes a new model version.
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
} from 'ls-ml-backend';

/** What fit() learns and setup() reads back: per label, how many texts and how often each word occurred. */
interface Weights {
  labels: string[];
  texts: Record<string, number>;
  wordCounts: Record<string, Record<string, number>>;
  totalWords: Record<string, number>;
  vocabularySize: number;
}

const WORD = /[\p{L}\p{N}]+/gu;
const words = (text: string): string[] => text.toLowerCase().match(WORD) ?? [];

export default class TextClassifier extends Model {
  /** The control to predict (`fromName`), the object it labels (`toName`) and the task field with the text (`value`). */
  private target: { fromName: string; toName: string; value: string } | undefined;
  private weights: Weights | undefined;

  override async setup(): Promise<void> {
    // The first <Choices> on a <Text>, or undefined. To refuse a label config instead, throw here:
    // Label Studio shows the message when the backend is connected.
    this.target = this.findTag('Choices', 'Text');
    // The artifact of the version being served: undefined until the first training.
    const artifact = await this.loadArtifact();
    this.weights = artifact ? (JSON.parse(new TextDecoder().decode(artifact)) as Weights) : undefined;
  }

  override predict(tasks: Task[]): Prediction[] {
    return tasks.map((task) => {
      const text = this.target ? task.data[this.target.value] : undefined;
      // Before the first training there is nothing to say: an empty prediction is better than a guess.
      if (!this.target || !this.weights || typeof text !== 'string') return { result: [], score: 0 };
      const { label, probability } = classify(this.weights, text);
      return { result: [choices(this.target.fromName, this.target.toName, [label], probability)], score: probability };
    });
  }

  override fit(_event: TrainingAction, _data: unknown, ctx: FitContext): FitResult {
    // A NonRetryableError fails the training job at once (no retries) and shows its message on the job.
    if (!this.target) throw new NonRetryableError('the label config needs a <Choices> control on a <Text> object');
    const { fromName, value } = this.target;
    const weights: Weights = { labels: [], texts: {}, wordCounts: {}, totalWords: {}, vocabularySize: 0 };
    const vocabulary = new Set<string>();
    const examples: Array<{ text: string; label: string }> = [];
    // ctx.examples: every stored, non-cancelled annotation of the project, with its task's data.
    for (const [i, example] of ctx.examples.entries()) {
      const label = choicesOf(example.result, fromName)[0];
      const text = example.data[value];
      if (label !== undefined && typeof text === 'string') {
        examples.push({ text, label });
        weights.texts[label] = (weights.texts[label] ?? 0) + 1;
        const counts = (weights.wordCounts[label] ??= {});
        for (const word of words(text)) {
          counts[word] = (counts[word] ?? 0) + 1;
          weights.totalWords[label] = (weights.totalWords[label] ?? 0) + 1;
          vocabulary.add(word);
        }
      }
      ctx.progress((i + 1) / ctx.examples.length); // shown by GET /jobs/:id and `ls-ml-backend train --wait`
    }
    if (examples.length === 0) throw new NonRetryableError(`no annotated texts with a ${fromName} choice yet: annotate a few tasks, then train again`);
    weights.labels = Object.keys(weights.texts).sort();
    weights.vocabularySize = vocabulary.size;
    const correct = examples.filter((e) => classify(weights, e.text).label === e.label).length;
    return {
      artifact: new TextEncoder().encode(JSON.stringify(weights)),
      // Stored with the version: GET /projects/:id/versions lists them.
      metrics: { examples: examples.length, labels: weights.labels.length, trainingAccuracy: correct / examples.length },
    };
  }
}

/** The most probable label and its probability, with add-one smoothing. */
function classify(weights: Weights, text: string): { label: string; probability: number } {
  const total = weights.labels.reduce((sum, label) => sum + (weights.texts[label] ?? 0), 0);
  const logScores = weights.labels.map((label) => {
    const counts = weights.wordCounts[label] ?? {};
    const denominator = (weights.totalWords[label] ?? 0) + weights.vocabularySize + 1;
    let score = Math.log((weights.texts[label] ?? 0) / total);
    for (const word of words(text)) score += Math.log(((counts[word] ?? 0) + 1) / denominator);
    return score;
  });
  const best = Math.max(...logScores);
  const odds = logScores.map((s) => Math.exp(s - best));
  const index = logScores.indexOf(best);
  return { label: weights.labels[index]!, probability: odds[index]! / odds.reduce((a, b) => a + b, 0) };
}
