/**
 * Coalesces concurrent predict calls into one onnxruntime run. Each run has a fixed cost (tensor set-up,
 * native call, a setImmediate hop) that dwarfs the per-text cost for short texts, and Label Studio
 * often sends one task per request. Calls made during one event-loop turn (requests whose bodies arrived
 * together) share a run; a lone call waits only until the end of the current turn.
 */
import type { Classifier, Prediction } from './artifact.js';

interface Waiting {
  texts: readonly string[];
  resolve: (p: Prediction) => void;
  reject: (err: unknown) => void;
}

export class BatchingClassifier {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    readonly classifier: Classifier,
    private readonly maxTexts = 256,
  ) {}

  predict(texts: readonly string[]): Promise<Prediction> {
    // Large requests gain nothing from company; run them alone.
    if (texts.length >= this.maxTexts) return this.classifier.predict(texts);
    return new Promise((resolve, reject) => {
      this.waiting.push({ texts, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 1) {
      const only = batch[0]!;
      return this.classifier.predict(only.texts).then(only.resolve, only.reject);
    }
    try {
      const all = await this.classifier.predict(batch.flatMap((w) => w.texts));
      const C = this.classifier.labels.length;
      let row = 0;
      for (const w of batch) {
        const n = w.texts.length;
        w.resolve({
          labels: all.labels.slice(row, row + n),
          selected: all.selected.slice(row, row + n),
          probs: all.probs.slice(row * C, (row + n) * C),
        });
        row += n;
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
