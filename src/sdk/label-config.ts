/**
 * Label Studio label-config parsing: a port of Label Studio SDK's `parse_config` plus a small
 * `LabelInterface` that models use to find their control/object tags.
 *
 * The XML is parsed with saxes (strict, non-validating) in one streaming pass. DTDs are refused
 * outright: Label Studio configs never need them, and refusing them closes billion-laughs and XXE
 * (saxes itself never fetches anything, and only the five predefined entities plus numeric character
 * references are decoded; any other entity reference is a syntax error).
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { buildLabelMap } from './label-map.js';

/** An object ("input") tag such as `<Text name="text" value="$text"/>`. */
export interface ObjectInput {
  type: string;
  valueType: string | null;
  /** The task-data key, i.e. the tag's `value` (or `valueList`) without its leading `$`. */
  value: string;
}

/** A control ("output") tag, shaped exactly like one entry of Label Studio's `parsed_label_config`. */
export interface ControlInfo {
  type: string;
  to_name: string[];
  /** Repeater index variables (e.g. `{{idx}}`) found in `toName`, each mapped to the regex `.*`. */
  regex?: Record<string, string>;
  conditionals?: { type: 'tag' | 'label' | 'choice'; name: string };
  dynamic_labels?: true;
  inputs: ObjectInput[];
  labels: string[];
  labels_attrs: Record<string, Record<string, string>>;
}

export type ParsedLabelConfig = Record<string, ControlInfo>;

/** Bad label config (syntax, forbidden construct, size) or a config that does not fit the caller. HTTP → 400. */
export class LabelConfigError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'LabelConfigError';
  }
}

export interface LabelConfigLimits {
  maxBytes: number;
  maxElements: number;
  maxDepth: number;
}

/** Real configs are a few KB with tens of tags; these bounds only stop abusive input. */
export const DEFAULT_LABEL_CONFIG_LIMITS: Readonly<LabelConfigLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxElements: 50_000,
  maxDepth: 200,
});

const LABEL_TAGS = new Set(['Label', 'Choice', 'Relation']);
/** Tags that carry name+toName but are not controls. */
const NON_CONTROL_TAGS = new Set(['Filter']);
/** Label Studio's Repeater substitutes this when it has no explicit `indexFlag`. */
const DEFAULT_REPEATER_INDEX_FLAG = '{{idx}}';

interface RawControl {
  type: string;
  to_name: string[];
  regex?: Record<string, string>;
  conditionals?: ControlInfo['conditionals'];
  dynamic_labels?: true;
}

/** One open element on the parse stack: only what descendants need to know. */
interface Frame {
  /** Name of the nearest control among this element and its ancestors. */
  controlName: string | undefined;
  /** Repeater index variables in scope (this element and its ancestors). */
  indexFlags: readonly string[];
}

/** Python `has_variable`: a value like `$var` means the labels come from task data. */
const isVariable = (value: string | undefined): boolean =>
  value !== undefined && value.length > 1 && value.startsWith('$');

const stripDollar = (value: string): string => (value.startsWith('$') ? value.slice(1) : value);

function conditionalsOf(attrs: Record<string, string>): ControlInfo['conditionals'] {
  if (attrs.perRegion !== 'true') return undefined;
  if (attrs.whenTagName) return { type: 'tag', name: attrs.whenTagName };
  if (attrs.whenLabelValue) return { type: 'label', name: attrs.whenLabelValue };
  if (attrs.whenChoiceValue) return { type: 'choice', name: attrs.whenChoiceValue };
  return undefined;
}

function describeParserError(err: Error, line: number, column: number): LabelConfigError {
  // saxes prefixes its messages with "line:column: "; we report position separately.
  const prefix = `${line}:${column}: `;
  const detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new LabelConfigError(`Invalid label config XML at line ${line}, column ${column}: ${detail}`, line, column);
}

/**
 * Parse a label config into Label Studio's `parsed_label_config` shape (what its API returns for a project).
 * Empty (or whitespace-only) config → `{}`. Throws {@link LabelConfigError} on any XML problem.
 */
export function parseLabelConfig(xml: string | null | undefined, limits?: Partial<LabelConfigLimits>): ParsedLabelConfig {
  return parseDocument(xml, { ...DEFAULT_LABEL_CONFIG_LIMITS, ...limits }).controls;
}

interface ParsedDocument {
  controls: ParsedLabelConfig;
  objects: Record<string, ObjectInput>;
  controlAttributes: Record<string, Record<string, string>>;
}

function parseDocument(xml: string | null | undefined, limits: LabelConfigLimits): ParsedDocument {
  if (xml == null || xml.trim() === '') return { controls: {}, objects: {}, controlAttributes: {} };
  const bytes = Buffer.byteLength(xml, 'utf8');
  if (bytes > limits.maxBytes) {
    throw new LabelConfigError(`Label config is too large: ${bytes} bytes (limit ${limits.maxBytes})`);
  }

  // Maps keep document order and are immune to keys like "__proto__"; converted with
  // Object.fromEntries (which defines own properties) at the end.
  const controls = new Map<string, RawControl>();
  const objects = new Map<string, ObjectInput>();
  const controlAttributes = new Map<string, Record<string, string>>();
  // Keyed by control name, like the reference, so a later duplicate label overwrites attrs but keeps its position.
  const labelsByControl = new Map<string, Map<string, Record<string, string>>>();
  const stack: Frame[] = [{ controlName: undefined, indexFlags: [] }];
  let elementCount = 0;

  const parser = new SaxesParser({ xmlns: false, position: true });
  const failHere = (message: string): never => {
    throw new LabelConfigError(`${message} (line ${parser.line}, column ${parser.column})`, parser.line, parser.column);
  };

  parser.on('error', (err) => {
    throw describeParserError(err, parser.line, parser.column);
  });
  parser.on('doctype', () => {
    failHere('Label config must not contain a DOCTYPE/DTD (entity declarations are not allowed)');
  });
  parser.on('opentagstart', () => {
    elementCount += 1;
    if (elementCount > limits.maxElements) failHere(`Label config has more than ${limits.maxElements} elements`);
    // stack[0] is the virtual document frame, so stack.length equals the new element's depth.
    if (stack.length > limits.maxDepth) failHere(`Label config is nested deeper than ${limits.maxDepth} levels`);
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const parent = stack[stack.length - 1]!;
    const attrs = tag.attributes;

    let indexFlags = parent.indexFlags;
    const indexFlag = attrs.indexFlag ?? (tag.name === 'Repeater' ? DEFAULT_REPEATER_INDEX_FLAG : undefined);
    if (indexFlag) indexFlags = [...indexFlags, indexFlag];

    // Label tags belong to the nearest enclosing control (Choice may sit inside <View>s of its <Choices>).
    if (LABEL_TAGS.has(tag.name) && parent.controlName !== undefined) {
      const key = attrs.alias || attrs.value || attrs.valueList;
      if (key) {
        let labels = labelsByControl.get(parent.controlName);
        if (!labels) labelsByControl.set(parent.controlName, (labels = new Map()));
        labels.set(key, Object.fromEntries(Object.entries(attrs)));
      }
    }

    let controlName = parent.controlName;
    const { name, toName } = attrs;
    if (name && toName && !NON_CONTROL_TAGS.has(tag.name)) {
      controlName = name;
      const control: RawControl = { type: tag.name, to_name: toName.split(',') };
      const regex = Object.fromEntries(
        [...new Set(indexFlags)].filter((v) => control.to_name.some((n) => n.includes(v))).map((v) => [v, '.*']),
      );
      if (Object.keys(regex).length > 0) control.regex = regex;
      const conditionals = conditionalsOf(attrs);
      if (conditionals) control.conditionals = conditionals;
      if (isVariable(attrs.value) || attrs.apiUrl) control.dynamic_labels = true;
      controls.set(name, control);
      controlAttributes.set(name, Object.fromEntries(Object.entries(attrs)));
    } else if (name && (attrs.value || attrs.valueList)) {
      objects.set(name, {
        type: tag.name,
        valueType: attrs.valueType ?? null,
        value: stripDollar(attrs.value || attrs.valueList!),
      });
    }
    stack.push({ controlName, indexFlags });
  });
  parser.on('closetag', () => {
    stack.pop();
  });

  parser.write(xml).close();

  // Inputs are resolved after the whole document: an object tag may follow the control that names it.
  const result: [string, ControlInfo][] = [];
  for (const [name, raw] of controls) {
    const inputs: ObjectInput[] = [];
    for (const objectName of raw.to_name) {
      const input = objects.get(objectName);
      // The reference skips (and logs) toName entries without a matching object tag.
      if (input) inputs.push({ ...input });
    }
    const labels = labelsByControl.get(name) ?? new Map<string, Record<string, string>>();
    result.push([name, { ...raw, inputs, labels: [...labels.keys()], labels_attrs: Object.fromEntries(labels) }]);
  }
  return { controls: Object.fromEntries(result), objects: Object.fromEntries(objects), controlAttributes: Object.fromEntries(controlAttributes) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export interface TagOccurrenceFilters {
  nameFilter?: (name: string) => boolean;
  toNameFilter?: (name: string) => boolean;
}

export interface TagOccurrence {
  fromName: string;
  toName: string;
  /** Task-data key of the object tag (its `value` without `$`). */
  value: string;
}

/**
 * A parsed label config. Build it once per config and share it: `controls` and `objects` are deep-frozen
 * so one request cannot corrupt another's view of the config.
 */
export class LabelInterface {
  readonly controls: ParsedLabelConfig;
  readonly objects: Record<string, ObjectInput>;

  constructor(
    readonly config: string,
    limits?: Partial<LabelConfigLimits>,
  ) {
    const doc = parseDocument(config, { ...DEFAULT_LABEL_CONFIG_LIMITS, ...limits });
    this.controls = deepFreeze(doc.controls);
    this.objects = deepFreeze(doc.objects);
    this.controlAttributes = deepFreeze(doc.controlAttributes);
  }

  /** Every XML attribute of each control tag (e.g. `choice="multiple"`), by control name. */
  readonly controlAttributes: Record<string, Record<string, string>>;

  control(name: string): ControlInfo | undefined {
    return Object.hasOwn(this.controls, name) ? this.controls[name] : undefined;
  }

  /** Labels of a control, in document order. Throws if the config has no such control. */
  labels(controlName: string): readonly string[] {
    return this.requireControl(controlName).labels;
  }

  requireControl(name: string): ControlInfo {
    const control = this.control(name);
    if (!control) throw new LabelConfigError(`Label config has no control tag named "${name}"`);
    return control;
  }

  /**
   * First control of `controlType` (in document order) pointing at an object of `objectType`, or undefined
   * when the config has none. Types compare case-insensitively, like Label Studio's SDK; pass an array to
   * accept several types (`['Labels', 'RectangleLabels']`), and filters to skip controls or objects by name.
   *
   *   const target = labelInterface.findTag('Choices', 'Text');   // { fromName: 'sentiment', toName: 'text', value: 'text' }
   *   task.data[target.value]                                     // the text to classify
   */
  findTag(
    controlType: string | readonly string[],
    objectType: string | readonly string[],
    filters: TagOccurrenceFilters = {},
  ): TagOccurrence | undefined {
    const controlTypes = toLowerSet(controlType);
    const objectTypes = toLowerSet(objectType);
    for (const [fromName, control] of Object.entries(this.controls)) {
      if (!controlTypes.has(control.type.toLowerCase())) continue;
      if (filters.nameFilter && !filters.nameFilter(fromName)) continue;
      for (const toName of control.to_name) {
        if (filters.toNameFilter && !filters.toNameFilter(toName)) continue;
        const object = Object.hasOwn(this.objects, toName) ? this.objects[toName] : undefined;
        if (object && objectTypes.has(object.type.toLowerCase())) return { fromName, toName, value: object.value };
      }
    }
    return undefined;
  }

  /** Like {@link findTag}, but a config without such a pair throws a LabelConfigError naming the types. */
  firstTagOccurrence(
    controlType: string | readonly string[],
    objectType: string | readonly string[],
    filters: TagOccurrenceFilters = {},
  ): TagOccurrence {
    const found = this.findTag(controlType, objectType, filters);
    if (found) return found;
    throw new LabelConfigError(
      `Label config has no <${[...toLowerSet(controlType)].join('|')}> control tag pointing at an ` +
        `<${[...toLowerSet(objectType)].join('|')}> object tag (names compared case-insensitively, filters applied)`,
    );
  }

  /** Model label → config label for `tagName`; see {@link buildLabelMap}. */
  buildLabelMap(tagName: string, modelLabels: readonly string[]): Record<string, string> {
    return buildLabelMap(this, tagName, modelLabels);
  }
}

const toLowerSet = (types: string | readonly string[]): Set<string> =>
  new Set((typeof types === 'string' ? [types] : types).map((t) => t.toLowerCase()));
