/**
 * The span tagger's ONNX graph: token feature rows in, per-token tag scores out.
 *
 *   rows:int32[T, F] → Gather W[R, K] → [T, F, K] → ReduceSum(axis 1) → scores:float[T, K]
 *
 * R = kept features + 1: the file keeps only the features with a non-zero weight (their hash buckets,
 * strictly increasing, in the `kept_features` initializer, which the graph does not read), and row R − 1
 * is the zero row every other bucket reads. Mapping bucket → row happens in TypeScript at load, like
 * tokenising and featurizing; decoding (Viterbi over the scores) does too.
 */
import {
  DataType,
  buildModel,
  encodeModel,
  floatTensor,
  int32RawTensor,
  int64Tensor,
  node,
  valueInfo,
} from '../../shared/onnx-builder.js';

export const OPSET_AI_ONNX = 20;

export const NAMES = {
  input: 'rows',
  output: 'scores',
  W: 'W',
  kept: 'kept_features',
} as const;

export interface SpanTaggerGraphOptions {
  /** feature templates per token (the input's second dimension) */
  features: number;
  /** tags (the output's second dimension) */
  tags: number;
  /** (kept.length + 1) × tags, row-major; the last row is zeros */
  W: Float32Array;
  /** kept hash buckets, strictly increasing: bucket kept[r] reads row r */
  kept: Int32Array;
  metadata: Record<string, string>;
  docString?: string;
}

export function buildSpanTaggerGraph(o: SpanTaggerGraphOptions): Uint8Array {
  const rows = o.kept.length + 1;
  if (o.W.length !== rows * o.tags) throw new RangeError(`W must have ${rows} × ${o.tags} values, got ${o.W.length}`);
  return encodeModel(
    buildModel({
      name: 'span_tagger',
      nodes: [
        node('Gather', [NAMES.W, NAMES.input], ['gathered'], { axis: 0 }), // [T, F, K]
        node('ReduceSum', ['gathered', 'axis1'], [NAMES.output], { keepdims: 0 }), // [T, K]
      ],
      initializers: [
        floatTensor(NAMES.W, [rows, o.tags], o.W),
        int64Tensor('axis1', [1], [1]),
        int32RawTensor(NAMES.kept, [o.kept.length], o.kept),
      ],
      inputs: [valueInfo(NAMES.input, DataType.INT32, ['T', o.features])],
      outputs: [valueInfo(NAMES.output, DataType.FLOAT, ['T', o.tags])],
      opsets: { '': OPSET_AI_ONNX },
      metadata: o.metadata,
      docString: o.docString ?? '',
    }),
  );
}
