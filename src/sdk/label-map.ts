import type { LabelInterface } from './label-config.js';

/**
 * Map a model's class names onto the labels of the control `tagName` (Label Studio ML backend's
 * `build_label_map`).
 *
 * For each config label (keyed by `alias || value`, in document order):
 * - if it has a non-empty `predicted_values="a,b"` attribute, exactly those model names (trimmed,
 *   case-sensitive) map to it, and the label's own value is NOT matched (`predicted_values="jet"` on
 *   "Airplane" means the model's "airplane" stays unmapped);
 * - otherwise the model name must equal the label exactly or, failing that, case-insensitively.
 *
 * A model name takes the first match in this precedence: a `predicted_values` entry, then an exact
 * label, then a case-insensitive label; ties go to the earlier label in the document. (The Python
 * reference lets the last label in its loop win; explicit precedence makes the result predictable.)
 * Model names with no match are omitted. Result keys follow `modelLabels` order.
 *
 * @throws LabelConfigError if the config has no control named `tagName`.
 */
export function buildLabelMap(
  labelInterface: LabelInterface,
  tagName: string,
  modelLabels: readonly string[],
): Record<string, string> {
  const control = labelInterface.requireControl(tagName);

  // First-wins lookups built in one pass over the labels, so mapping is O(labels + modelLabels).
  const byPredictedValue = new Map<string, string>();
  const byExactLabel = new Map<string, string>();
  const byLowerLabel = new Map<string, string>();
  const setFirst = (map: Map<string, string>, key: string, label: string) => {
    if (!map.has(key)) map.set(key, label);
  };
  for (const label of control.labels) {
    const predicted = (control.labels_attrs[label]?.predicted_values ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (predicted.length > 0) {
      for (const value of predicted) setFirst(byPredictedValue, value, label);
    } else {
      setFirst(byExactLabel, label, label);
      setFirst(byLowerLabel, label.toLowerCase(), label);
    }
  }

  const labelMap = new Map<string, string>();
  for (const name of modelLabels) {
    const label = byPredictedValue.get(name) ?? byExactLabel.get(name) ?? byLowerLabel.get(name.toLowerCase());
    if (label !== undefined) labelMap.set(name, label);
  }
  // fromEntries defines own properties, so a model class called "__proto__" cannot touch the prototype.
  return Object.fromEntries(labelMap);
}
