/**
 * A small seeded generator of labelled texts for load tests: each class has its own words, mixed into
 * common filler words, so the texts are all different and a model has something to learn.
 * Not an accuracy benchmark (bench/accuracy has that); just realistic-looking, varied input.
 */
import { createRandom } from '../../models/shared/random.js';

export const CHOICES = ['Positive', 'Negative', 'Neutral'] as const;

const CLASS_WORDS: Record<(typeof CHOICES)[number], string[]> = {
  Positive: ['love', 'great', 'excellent', 'perfect', 'happy', 'recommend', 'amazing', 'fantastic', 'reliable', 'delighted', 'superb', 'pleased', 'wonderful', 'solid', 'fast'],
  Negative: ['broken', 'terrible', 'refund', 'awful', 'disappointed', 'worst', 'slow', 'useless', 'cracked', 'late', 'rude', 'poor', 'faulty', 'waste', 'leaking'],
  Neutral: ['arrived', 'package', 'average', 'okay', 'ordinary', 'expected', 'standard', 'normal', 'fine', 'usual', 'typical', 'decent', 'adequate', 'plain', 'regular'],
};

const FILLER = (
  'the a this that it was is product order delivery box item price color size quality after before week day ' +
  'i we my our they with for from on in at by and but so very quite really just also still again then when ' +
  'phone kettle chair lamp jacket shoes charger cable headphones blender mattress backpack printer camera ' +
  'bought used tried opened returned received checked washed charged assembled kept gave told asked ' +
  'customer service support seller store shop online team manual battery screen handle button strap'
).split(' ');

export interface LabelledText {
  text: string;
  choice: (typeof CHOICES)[number];
}

/** Texts of `minWords..maxWords` words, about a quarter of them class words; 5% carry a wrong label. */
export function textGenerator(seed: number, minWords = 12, maxWords = 40): () => LabelledText {
  const random = createRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return () => {
    const choice = pick(CHOICES);
    const n = minWords + Math.floor(random() * (maxWords - minWords + 1));
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(random() < 0.25 ? pick(CLASS_WORDS[choice]) : pick(FILLER));
    const text = words.join(' ');
    return { text: text[0]!.toUpperCase() + text.slice(1) + '.', choice: random() < 0.05 ? pick(CHOICES) : choice };
  };
}
