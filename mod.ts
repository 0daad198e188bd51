/**
 * Append rows to NumPy `.npy` files that are larger than memory, from Deno, Bun and Node,
 * so that `numpy.load(path, mmap_mode="r")` opens them unchanged at any moment.
 *
 * The header core parses and writes `.npy` headers exactly as NumPy does:
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, parseHeader } from "@npy/append-array";
 *
 * const header = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [0, 3] });
 * assert.equal(header.length % 64, 0);
 * assert.deepEqual(parseHeader(header).shape, [0, 3]);
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
  loadNpy,
  loadNpySync,
  type NpyArray,
  type NpyArrayLike,
  type NpyChunk,
  type NpyChunksOptions,
  NpyReader,
  type NpyReaderOptions,
  type NpyReadOptions,
  parseNpy,
  saveNpy,
  saveNpySync,
} from "./lib/reader.ts";
export {
  ensureAppendable,
  type EnsureAppendableOptions,
  type EnsureAppendableResult,
  ensureAppendableSync,
  hasGrowthRoom,
  isAppendable,
  isAppendableSync,
  needsRecovery,
  needsRecoverySync,
  recover,
  type RecoverOptions,
  type RecoverResult,
  recoverSync,
  type RepairOptions,
  type RepairProgress,
} from "./lib/repair.ts";
export { NpyAppendArray, type NpyAppendArrayOptions } from "./lib/writer.ts";
export { NpyLockError, type NpyLockHolder } from "./lib/errors.ts";
export {
  DEFAULT_SHARD_BYTES,
  mergeStacks,
  type MergeStacksOptions,
  type MergeStacksResult,
  mergeStacksSync,
  NpyStackReader,
  type NpyStackReaderOptions,
  NpyStackWriter,
  type NpyStackWriterOptions,
  recoverStack,
  type RecoverStackOptions,
  type RecoverStackResult,
  recoverStackSync,
  STACK_FORMAT,
  STACK_FORMAT_VERSION,
} from "./lib/stack.ts";
