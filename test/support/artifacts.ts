/** Helpers for the built-in models' artifact tests: tamper with an ONNX file, expect a typed artifact error. */
import { expect } from 'vitest';
import { decodeModel, encodeModel, type ModelProto } from '../../models/shared/onnx-builder.js';
import type { ArtifactErrorCode, ModelArtifactError } from '../../models/shared/artifact-metadata.js';

/** Decode, change, re-encode: for artifacts whose metadata disagrees with their graph. */
export function tamper(bytes: Uint8Array, change: (m: ModelProto) => void): Uint8Array {
  const model = decodeModel(bytes);
  change(model);
  return encodeModel(model);
}

/** A change that sets (or, with undefined, removes) one metadata_props entry. */
export function setMeta(key: string, value: string | undefined) {
  return (m: ModelProto) => {
    m.metadataProps = m.metadataProps.filter((p) => p.key !== key);
    if (value !== undefined) m.metadataProps.push({ key, value });
  };
}

/** `fn` throws an instance of `errorClass` with this code and a message matching `message`. */
export function expectArtifactError(errorClass: abstract new (...args: never[]) => ModelArtifactError, fn: () => unknown, code: ArtifactErrorCode, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(errorClass);
    expect((error as ModelArtifactError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    return;
  }
  expect.fail(`expected ${errorClass.name}`);
}
