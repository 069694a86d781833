/**
 * onnxruntime session settings shared by training (featurizer) and serving (classifier).
 *
 * One intra-op thread: on the 2-core target two threads were slower than one for these graphs,
 * and training already runs in its own worker. Severity 3 (errors only) keeps ORT's optimizer
 * chatter off stderr.
 */
import * as ort from 'onnxruntime-node';

export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  logSeverityLevel: 3,
};

export function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, SESSION_OPTIONS);
}
