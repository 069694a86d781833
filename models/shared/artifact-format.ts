/**
 * Which model wrote an artifact. Both built-in models store one ONNX file whose `format` metadata names them; a
 * project whose label config changed kind (Choices ↔ Labels) still serves the other model's last version until it
 * trains again, and that file is not corrupt, just not ours: the model then predicts nothing instead of failing
 * (a failing setup would mark a good version bad).
 */
import { decodeModel } from '../shared/onnx-builder.js';

/** True when `bytes` is an ONNX model whose `format` metadata names a format other than `ownFormat`. */
export function isOtherModelsArtifact(bytes: Uint8Array, ownFormat: string): boolean {
  let format: string | undefined;
  try {
    format = decodeModel(bytes).metadataProps?.find((p) => p.key === 'format')?.value ?? undefined;
  } catch {
    return false; // not ONNX at all: the model's own loader reports it as corrupt
  }
  return format !== undefined && format !== ownFormat;
}
