/**
 * Small typed helpers over `onnx-proto` for authoring ONNX graphs in TypeScript.
 *
 * onnx-proto is CommonJS: in ESM a named import (`import { onnx }`) fails at run time, so the
 * default import is the only portable form. It ships the ONNX 1.10 schema (IR 8), which is
 * enough for every message we write; newer IR/opset numbers are plain integers.
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

export const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** onnxruntime-node 1.30 loads IR 8 and 9; 8 matches the schema onnx-proto was generated from. */
export const IR_VERSION = 8;
export const MS_DOMAIN = 'com.microsoft';

const utf8 = new TextEncoder();

/**
 * Attribute values we emit. Strings become UTF-8 `s` bytes; integer vs float is explicit
 * (`{ float: x }`) because a JS number alone cannot tell ONNX which one is meant.
 */
export type AttributeValue =
  | number
  | string
  | { float: number }
  | { floats: number[] }
  | { ints: number[] }
  | { strings: string[] }
  | { tensor: TensorProto };

function toAttribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`attribute ${name}: use { float } for non-integers`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: utf8.encode(value) };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: value.floats };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
  if ('strings' in value) return { name, type: AttributeType.STRINGS, strings: value.strings.map((s) => utf8.encode(s)) };
  return { name, type: AttributeType.TENSOR, t: value.tensor };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, AttributeValue> = {},
  domain = '',
): NodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: `${opType}_${outputs[0] ?? 'out'}`,
    domain,
    attribute: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)),
  };
}

/** Float tensor stored as little-endian raw bytes: the smallest encoding and the fastest to decode. */
export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  assertElementCount(name, dims, data.length);
  return {
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

export function int64Tensor(name: string, dims: number[], data: number[]): TensorProto {
  assertElementCount(name, dims, data.length);
  return { name, dims, dataType: DataType.INT64, int64Data: data };
}

export function int32Tensor(name: string, dims: number[], data: number[]): TensorProto {
  return intTensor(name, dims, data, DataType.INT32);
}

/** INT8/16/32 and their unsigned kinds all live in `int32_data` (one varint each). */
export function intTensor(name: string, dims: number[], data: number[], dataType: number): TensorProto {
  assertElementCount(name, dims, data.length);
  return { name, dims, dataType, int32Data: data };
}

/** Int32 tensor as little-endian raw bytes: big index tables encode and decode without per-value work. */
export function int32RawTensor(name: string, dims: number[], data: Int32Array): TensorProto {
  assertElementCount(name, dims, data.length);
  return { name, dims, dataType: DataType.INT32, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Reads a raw int32 initializer back (copied: the decoded buffer may be unaligned for an Int32Array view). */
export function readInt32RawTensor(tensor: TensorProto): Int32Array {
  if (tensor.dataType !== DataType.INT32) throw new TypeError(`tensor ${tensor.name}: not INT32`);
  const raw = tensor.rawData ?? new Uint8Array(0);
  if (raw.byteLength % 4 !== 0) throw new RangeError(`tensor ${tensor.name}: raw data is not a multiple of 4 bytes`);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new Int32Array(copy.buffer);
}

export function stringTensor(name: string, dims: number[], data: string[]): TensorProto {
  assertElementCount(name, dims, data.length);
  return { name, dims, dataType: DataType.STRING, stringData: data.map((s) => utf8.encode(s)) };
}

function assertElementCount(name: string, dims: number[], actual: number): void {
  const expected = dims.reduce((a, d) => a * d, 1);
  if (expected !== actual) throw new RangeError(`tensor ${name}: dims [${dims}] need ${expected} values, got ${actual}`);
}

/** A dimension is a fixed size (number) or a symbolic one such as the batch size (string). */
export function valueInfo(name: string, elemType: number, shape: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface GraphSpec {
  name: string;
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers: TensorProto[];
  /** domain → opset version; '' is ai.onnx */
  opsets: Record<string, number>;
  metadata?: Record<string, string>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
}

export function buildModel(spec: GraphSpec): ModelProto {
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: spec.producerName ?? 'ls-ml-backend',
    producerVersion: spec.producerVersion ?? '',
    docString: spec.docString ?? '',
    opsetImport: Object.entries(spec.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: spec.name,
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers,
    },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Throws whatever protobufjs throws on malformed bytes; callers wrap it in a domain error. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** Reads a float initializer back into a Float32Array, whichever encoding it was stored with. */
export function readFloatTensor(tensor: TensorProto): Float32Array {
  if (tensor.dataType !== DataType.FLOAT) throw new TypeError(`tensor ${tensor.name}: not FLOAT`);
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    if (raw.byteLength % 4 !== 0) throw new RangeError(`tensor ${tensor.name}: raw data is not a multiple of 4 bytes`);
    // Copy: the decoded buffer may be unaligned for a Float32Array view.
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

export function tensorElementCount(tensor: TensorProto): number {
  return (tensor.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
}
