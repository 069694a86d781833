/** Generated span data for the span-tagger tests: sentences with person names and numbers, seeded. */
import type { SpanExample, TrainingSpan } from '../../../models/span-tagger/lib/index.js';
import { createRandom, randomInt, type Random } from '../../../models/shared/random.js';

const FIRST = ['John', 'Mary', 'Ivan', 'Olga', 'Pierre', 'Ana', 'Kofi', 'Mei', 'Lars', 'Priya', 'Omar', 'Sofia', 'Hiro', 'Eva', 'Tomás', 'Zoë'];
const LAST = ['Smith', 'Petrov', 'Dubois', 'García', 'Mensah', 'Chen', 'Larsen', 'Patel', 'Haddad', 'Rossi', 'Tanaka', 'Novak', 'Müller', "O'Neil"];
/** Names only in the held-out data: the model must go by shape and context. */
export const UNSEEN_FIRST = ['Greta', 'Bruno', 'Ingrid', 'Rafael'];
export const UNSEEN_LAST = ['Lindqvist', 'Okafor', 'Moreau', 'Kowalski'];

const TEMPLATES = [
  '{N} paid {D} dollars for the old car.',
  'Yesterday {N} met {N} near the station.',
  'The report by {N} lists {D} items and {D} errors.',
  'We waited {D} minutes before {N} arrived.',
  'Nobody expected the rain today.',
  'According to {N}, the bridge is {D} meters long.',
  'She said that {N} would call back at {D}.',
  'Prices rose by {D} percent last year.',
];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

function number(random: Random): string {
  const kind = randomInt(random, 3);
  if (kind === 0) return String(1 + randomInt(random, 99));
  if (kind === 1) return `${1 + randomInt(random, 9)},${String(randomInt(random, 1000)).padStart(3, '0')}`;
  return `${randomInt(random, 100)}.${randomInt(random, 10)}`;
}

/** `count` one- or two-sentence paragraphs; `unseen` draws names from the held-out lists only. */
export function generateExamples(count: number, seed: number, unseen = false): SpanExample[] {
  const random = createRandom(seed);
  const first = unseen ? UNSEEN_FIRST : FIRST;
  const last = unseen ? UNSEEN_LAST : LAST;
  return Array.from({ length: count }, () => {
    let text = '';
    const spans: TrainingSpan[] = [];
    const sentences = 1 + randomInt(random, 2);
    for (let s = 0; s < sentences; s++) {
      if (text) text += ' ';
      const template = pick(random, TEMPLATES);
      for (const piece of template.split(/(\{[ND]\})/)) {
        if (piece === '{N}' || piece === '{D}') {
          const value = piece === '{N}' ? (random() < 0.7 ? `${pick(random, first)} ${pick(random, last)}` : pick(random, last)) : number(random);
          spans.push({ start: text.length, end: text.length + value.length, label: piece === '{N}' ? 'Name' : 'Number' });
          text += value;
        } else {
          text += piece;
        }
      }
    }
    return { text, spans };
  });
}
