/**
 * onnxruntime session settings shared by training and serving, for both built-in models.
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

/**
 * RSS a loaded model adds beyond its tables: the onnxruntime session, its kernels (the classifier's
 * Tokenizer's compiled pattern among them) and its memory arena after small runs. Measured on the text
 * classifier: 20 sessions of one model, each after a 64-text run, RSS delta / 20, minus the tables (dense
 * 6.1 MiB, compact 2.4 MiB per model).
 */
export const SESSION_OVERHEAD_BYTES = 1.75 * 2 ** 20;
