/**
 * What the built-in text models share: which control on which `<Text>` object a project asks them to serve, and
 * how a task's text value reads. Written against the public SDK only, like the models themselves.
 */
import { LabelConfigError, type Json, type Model } from '../../src/sdk/index.js';

export interface TextTarget {
  /** the control's name (`from_name`) */
  control: string;
  /** the `<Text>` object's name (`to_name`) */
  toName: string;
  /** the task data key the `<Text>` reads (`$text` → `text`) */
  dataKey: string;
  labels: readonly string[];
}

/**
 * The first `controlType` control on a `<Text>` object, or the one `extra_params` names (`{"control": "…"}`).
 * An empty config is accepted (undefined: no predictions yet); any other mismatch refuses the project.
 */
export function findTextTarget(model: Model, controlType: 'Choices' | 'Labels', modelName: string): TextTarget | undefined {
  const wanted = requestedControl(model.extraParams);
  const found = model.findTag(controlType, 'Text', wanted ? { nameFilter: (name) => name === wanted } : {});
  if (!found) {
    if (Object.keys(model.labelInterface.controls).length === 0 && !wanted) return undefined;
    throw new LabelConfigError(
      wanted
        ? `extra_params names control "${wanted}", which is not a ${controlType} control on a Text object`
        : `${modelName} needs a <${controlType}> control on a <Text> object in the label config`,
    );
  }
  const { fromName: control, toName, value: dataKey } = found;
  return { control, toName, dataKey, labels: model.labelInterface.labels(control) };
}

/** The control named by `extra_params` `{"control": "…"}`, if any (the SDK has already parsed the JSON). */
export function requestedControl(extraParams: Json): string | undefined {
  const control = extraParams !== null && typeof extraParams === 'object' && !Array.isArray(extraParams) ? extraParams.control : undefined;
  return typeof control === 'string' && control ? control : undefined;
}

/**
 * A `<Text>` value is a string; numbers and booleans read as their text. An object or array has no text, and
 * stringifying one costs time and stack without bound (a hostile depth overflows it).
 */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/**
 * TEXT_MAX_CHARS (validated at start-up): how much of each text a training reads. The artifact records it and
 * serving cuts texts to the artifact's value, so a change takes effect with the next training.
 */
export function textMaxChars(): number | undefined {
  const value = process.env.TEXT_MAX_CHARS?.trim();
  return value ? Number(value) : undefined;
}
