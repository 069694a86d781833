/**
 * A deliberately simple example model: single-choice text classification by keywords.
 * - predict: picks the choice whose keywords occur most in the text; no keyword → an honest empty prediction.
 * - fit: learns, per choice, the words that occur most often in texts annotated with it, and publishes
 *   them as a small JSON artifact (a new model version).
 * Keywords can also be given in `extra_params`: {"keywords": {"Positive": ["love", "great"]}}.
 * It shows the whole SDK surface in ~80 lines; the built-in `text-classifier` is the real model.
 */
import { Model, NonRetryableError, choices, choicesOf, type FitContext, type FitResult, type Prediction, type Task, type TrainingAction } from '../../src/sdk/index.js';

type Keywords = Record<string, string[]>;

const TOKEN = /[\p{L}\p{N}]+/gu;
const tokens = (text: string) => text.toLowerCase().match(TOKEN) ?? [];

export default class KeywordChoices extends Model {
  private keywords: Keywords = {};
  private target: { fromName: string; toName: string; value: string } | undefined;

  override async setup(): Promise<void> {
    // No Choices on Text: predictions stay empty, and fit() says why it cannot learn.
    this.target = this.findTag('Choices', 'Text');
    const trained = await this.loadArtifact();
    // extraParams is already parsed: `{"keywords": …}` typed into Label Studio's textarea arrives as an object.
    const params = this.extraParams;
    const configured = (params !== null && typeof params === 'object' && !Array.isArray(params) ? params.keywords : undefined) as Keywords | undefined;
    this.keywords = { ...(trained ? (JSON.parse(new TextDecoder().decode(trained)) as Keywords) : {}), ...(configured ?? {}) };
    // Choice names are keywords for themselves, so the model does something before any training.
    for (const choice of this.target ? this.labelInterface.labels(this.target.fromName) : []) {
      this.keywords[choice] = [...new Set([choice.toLowerCase(), ...(this.keywords[choice] ?? [])])];
    }
  }

  override predict(tasks: Task[]): Prediction[] {
    return tasks.map((task) => {
      const text = this.target ? task.data[this.target.value] : undefined;
      if (!this.target || typeof text !== 'string') return { result: [], score: 0 };
      const words = new Set(tokens(text));
      let best: { choice: string; hits: number } | undefined;
      for (const [choice, keys] of Object.entries(this.keywords)) {
        const hits = keys.filter((k) => words.has(k)).length;
        if (hits > 0 && (!best || hits > best.hits)) best = { choice, hits };
      }
      if (!best) return { result: [], score: 0 };
      const { fromName, toName } = this.target;
      return {
        result: [choices(fromName, toName, [best.choice])],
        score: best.hits / (best.hits + 1),
      };
    });
  }

  override fit(_event: TrainingAction, _data: unknown, ctx: FitContext): FitResult {
    // Retrying cannot fix the label config or create annotations: NonRetryableError fails the job at once.
    if (!this.target) throw new NonRetryableError('this model needs a Choices control on a Text object');
    const counts = new Map<string, Map<string, number>>();
    for (const example of ctx.examples) {
      const choice = choicesOf(example.result, this.target.fromName)[0];
      const text = example.data[this.target.value];
      if (!choice || typeof text !== 'string') continue;
      const perChoice = counts.get(choice) ?? new Map<string, number>();
      for (const word of tokens(text)) perChoice.set(word, (perChoice.get(word) ?? 0) + 1);
      counts.set(choice, perChoice);
    }
    if (counts.size === 0) throw new NonRetryableError(`no usable ${this.target.fromName} annotations to learn from`);
    const keywords: Keywords = {};
    for (const [choice, words] of counts) {
      keywords[choice] = [...words].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 20).map(([w]) => w);
    }
    return { artifact: new TextEncoder().encode(JSON.stringify(keywords)), metrics: { examples: ctx.examples.length, choices: counts.size } };
  }
}
