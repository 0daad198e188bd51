/**
 * The part of the library that works on bytes alone, with no file system: the `.npy` header
 * (`parseHeader`, `encodeHeader`, `headerRewriter`), descrs, the dtype registry and its
 * plugins, and whole arrays as bytes (`parseNpy`, `encodeNpy`). Nothing here imports a
 * `node:` module, so it runs in a browser or a Web Worker as it does in Deno, Bun and Node.
 * The main entry point re-exports all of it, with the file readers and writers.
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseNpy } from "@npy/append-array/core";
 *
 * const bytes = encodeNpy({ data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] });
 * assert.deepEqual(parseNpy(bytes).shape, [2, 2]);
 * ```
 *
 * Importing this module has no side effects.
 *
 * @module
 */
export {
  NpyDtypeError,
  type NpyErrorOptions,
  NpyFormatError,
  NpyHeaderSpaceError,
  NpyRecoveryError,
  NpyShapeError,
} from "./lib/errors.ts";
export {
  DATETIME_UNITS,
  type DatetimeUnit,
  type Descr,
  descrEquals,
  type DescrField,
  type FieldDescr,
  type FieldName,
  formatDescr,
  itemsizeOf,
  normalizeDescr,
  parseDescr,
  parseTypestr,
  type SubarrayDescr,
  type Typestr,
} from "./lib/descr.ts";
export {
  ARRAY_ALIGN,
  dataByteLength,
  encodeHeader,
  type EncodeHeaderOptions,
  GROWTH_AXIS_MAX_DIGITS,
  growthAxis,
  type HeaderFields,
  headerRewriter,
  MAGIC,
  MAX_HEADER_SIZE,
  type NpyHeader,
  type NpyVersion,
  parseHeader,
  type ParseHeaderOptions,
  peekHeaderLength,
} from "./lib/header.ts";
export {
  type Casting,
  type CastOptions,
  type DecodeOptions,
  type Dtype,
  type DtypePlugin,
  DtypeRegistry,
  type EncodeOptions,
} from "./lib/registry.ts";
export { BUILTIN_PLUGINS, defaultRegistry } from "./dtypes/mod.ts";
export {
  type AnyTypedArray,
  type Float16ArrayLike,
  type NumericArray,
  type NumericDtype,
  type NumericInput,
  numericPlugin,
} from "./dtypes/numeric.ts";
export { type BoolDtype, type BoolInput, boolPlugin } from "./dtypes/bool.ts";
export {
  type ComplexDtype,
  type ComplexInput,
  type ComplexObject,
  complexPlugin,
} from "./dtypes/complex.ts";
export { type BytesDtype, bytesPlugin, type StringInput, type VoidInput } from "./dtypes/bytes.ts";
export { type DatetimeDtype, type DatetimeInput, datetimePlugin, NAT } from "./dtypes/datetime.ts";
export {
  type RecordColumns,
  type RecordDtype,
  type RecordField,
  type RecordObject,
  recordPlugin,
} from "./dtypes/record.ts";
export {
  encodeNpy,
  type EncodeNpyOptions,
  type NpyArray,
  type NpyArrayLike,
  type NpyChunk,
  type NpyReaderOptions,
  parseNpy,
} from "./lib/npy.ts";
