/**
 * Result regions: what an annotation's `result` holds and what a prediction's `result` returns, one entry
 * per control (`from_name`) and object (`to_name`). Types for the common controls, readers that pull
 * their values out of an annotation, and builders that make a region ready for a prediction.
 *
 *   const labels = choicesOf(example.result, 'sentiment');             // ['Positive']
 *   return { result: [choices('sentiment', 'text', ['Negative'])], score: 0.9 };
 *
 * Readers trust nothing: an annotation is whatever Label Studio (or a webhook sender) stored, so a region
 * of the wrong type or with a malformed `value` is skipped, never thrown on.
 */

/** Fields every control region has. Label Studio adds more (`origin`, `readonly`, `meta`, …), kept as they are. */
export interface RegionBase {
  /** Region id; Label Studio sets it on annotations, and relations refer to it. Optional in predictions. */
  id?: string;
  /** Name of the control tag (`<Choices name="…">`). */
  from_name: string;
  /** Name of the object tag the control labels (`<Text name="…">`). */
  to_name: string;
  type: string;
  /** Per-region confidence in [0, 1] (predictions only). */
  score?: number;
  [key: string]: unknown;
}

/** `<Choices>`: the selected choices (one unless `choice="multiple"`). */
export interface ChoicesRegion extends RegionBase {
  type: 'choices';
  value: { choices: string[]; [key: string]: unknown };
}

/**
 * A labeled span of text (`<Labels>` on `<Text>`): offsets into the text in Unicode code points, end exclusive,
 * as Label Studio counts them (not JavaScript string indices: `TextOffsets` converts).
 */
export interface SpanValue {
  start: number;
  end: number;
  /** The covered text. */
  text: string;
  labels: string[];
}

export interface LabelsRegion extends RegionBase {
  type: 'labels';
  value: SpanValue & { [key: string]: unknown };
}

/** A box (`<RectangleLabels>` on `<Image>`), in percent of the image size; `rotation` in degrees, clockwise. */
export interface RectangleValue {
  x: number;
  y: number;
  width: number;
  height: number;
  rotation?: number;
  rectanglelabels: string[];
}

export interface RectangleRegion extends RegionBase {
  type: 'rectanglelabels';
  value: RectangleValue & { [key: string]: unknown };
  /** Image size in pixels, as Label Studio records it on annotations. */
  original_width?: number;
  original_height?: number;
}

/** `<TextArea>`: free text, one string per line the annotator submitted. */
export interface TextAreaRegion extends RegionBase {
  type: 'textarea';
  value: { text: string[]; [key: string]: unknown };
}

/**
 * Any other result entry: other controls (polygons, keypoints, ratings, …) and relations (which have
 * `from_id`/`to_id` instead of names). Read its fields yourself, checking them.
 */
export interface OtherRegion {
  id?: string;
  from_name?: string;
  to_name?: string;
  type?: string;
  value?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One entry of a `result`. A plain object literal, as predictions have always returned, still fits. */
export type Region = ChoicesRegion | LabelsRegion | RectangleRegion | TextAreaRegion | OtherRegion;

// ---------------------------------------------------------------------------------------------------------
// Readers

/** Every choice selected in the `fromName` control's regions, in order, each once. */
export function choicesOf(result: readonly Region[] | null | undefined, fromName: string): string[] {
  const found = new Set<string>();
  for (const value of valuesOf(result, fromName, 'choices')) {
    for (const choice of strings(value.choices) ?? []) found.add(choice);
  }
  return [...found];
}

/** The labeled spans of the `fromName` control, in document order of the regions. A span without `text` reads as `''`. */
export function spansOf(result: readonly Region[] | null | undefined, fromName: string): SpanValue[] {
  const spans: SpanValue[] = [];
  for (const value of valuesOf(result, fromName, 'labels')) {
    const labels = strings(value.labels);
    if (!isNumber(value.start) || !isNumber(value.end) || !labels) continue;
    spans.push({ start: value.start, end: value.end, text: typeof value.text === 'string' ? value.text : '', labels });
  }
  return spans;
}

/** The boxes of the `fromName` control, in percent of the image size. */
export function rectanglesOf(result: readonly Region[] | null | undefined, fromName: string): RectangleValue[] {
  const boxes: RectangleValue[] = [];
  for (const value of valuesOf(result, fromName, 'rectanglelabels')) {
    const { x, y, width, height, rotation } = value;
    const labels = strings(value.rectanglelabels);
    if (!isNumber(x) || !isNumber(y) || !isNumber(width) || !isNumber(height) || !labels) continue;
    boxes.push({ x, y, width, height, ...(isNumber(rotation) ? { rotation } : {}), rectanglelabels: labels });
  }
  return boxes;
}

function* valuesOf(result: readonly Region[] | null | undefined, fromName: string, type: string): Generator<Record<string, unknown>> {
  if (!Array.isArray(result)) return;
  for (const region of result as readonly unknown[]) {
    if (typeof region !== 'object' || region === null) continue;
    const { from_name, type: regionType, value } = region as Record<string, unknown>;
    if (from_name === fromName && regionType === type && typeof value === 'object' && value !== null) yield value as Record<string, unknown>;
  }
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The strings of an array (other entries dropped), or undefined when it is not an array. */
const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;

// ---------------------------------------------------------------------------------------------------------
// Builders: a region for a prediction's `result`. `score` is the region's own confidence (optional).

export function choices(fromName: string, toName: string, values: readonly string[], score?: number): ChoicesRegion {
  return withScore({ from_name: fromName, to_name: toName, type: 'choices', value: { choices: [...values] } }, score);
}

export function span(fromName: string, toName: string, value: SpanValue, score?: number): LabelsRegion {
  const { start, end, text, labels } = value;
  return withScore({ from_name: fromName, to_name: toName, type: 'labels', value: { start, end, text, labels: [...labels] } }, score);
}

export function rectangle(fromName: string, toName: string, value: RectangleValue, score?: number): RectangleRegion {
  const { x, y, width, height, rotation, rectanglelabels } = value;
  const box = { x, y, width, height, ...(rotation === undefined ? {} : { rotation }), rectanglelabels: [...rectanglelabels] };
  return withScore({ from_name: fromName, to_name: toName, type: 'rectanglelabels', value: box }, score);
}

const withScore = <R extends RegionBase>(region: R, score: number | undefined): R => (score === undefined ? region : { ...region, score });
