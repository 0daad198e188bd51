/**
 * Whole arrays as bytes, with no file system: {@link parseNpy} reads the bytes of a `.npy`
 * file, {@link encodeNpy} makes them as `np.save` does, from any {@link NpyChunk}. The
 * readers and writers of files build on the same types.
 *
 * @module
 */

import type { Descr } from "./descr.ts";
import { NpyRecoveryError, NpyShapeError, quote } from "./errors.ts";
import {
  dataByteLength,
  encodeHeader,
  type HeaderFields,
  type NpyVersion,
  parseHeader,
} from "./header.ts";
import {
  type Casting,
  type DecodeOptions,
  defaultRegistry,
  type DtypeRegistry,
} from "./registry.ts";
import { type ChunkTarget, type NpyArrayLike, shapeText, sizeOf } from "./_chunk.ts";
import { ChunkEncoder } from "./_chunk_normalizer.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import { numberShaped } from "./_header_io.ts";

export type { NpyArrayLike }; // (it lives with the chunk code that takes it apart)

/**
 * An array read from a `.npy` file: the header's facts and the decoded data.
 *
 * @typeParam T The decoded data, e.g. `Float32Array` for `"<f4"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, type NpyArray, parseNpy } from "@npy/append-array";
 *
 * const bytes = encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
 * const a = parseNpy(bytes) as NpyArray<Float32Array>;
 * assert.equal(a.descr, "<f4");
 * assert.deepEqual(a.shape, [2, 3]);
 * assert.equal(a.fortranOrder, false);
 * assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
 * ```
 */
export interface NpyArray<T = unknown> {
  /** The dtype, as the file's header writes it. */
  readonly descr: Descr;
  /** The shape of this array (of the rows read, for a range). */
  readonly shape: readonly number[];
  /** `true`: `data` is in column-major order, as the file stores it. */
  readonly fortranOrder: boolean;
  /** The elements in the file's order, decoded by the dtype registry. */
  readonly data: T;
}

/**
 * Options of {@link NpyReader.open}, {@link loadNpy} and {@link parseNpy}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, truncateSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import {
 *   NpyReader,
 *   type NpyReaderOptions,
 *   NpyRecoveryError,
 *   saveNpySync,
 * } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "cut.npy");
 * saveNpySync(path, { data: new Int32Array(8), shape: [4, 2] });
 * truncateSync(path, 128 + 20); // two whole rows of 8 bytes, then half a row
 * assert.throws(() => NpyReader.openSync(path), NpyRecoveryError);
 * const options: NpyReaderOptions = { allowTruncated: true };
 * {
 *   using r = NpyReader.openSync(path, options);
 *   assert.equal(r.rows, 4);
 *   assert.equal(r.availableRows, 2);
 *   assert.deepEqual(r.readSync(0, 2).shape, [2, 2]);
 * }
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyReaderOptions {
  /**
   * Where the codec for the file's descr comes from.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
  /**
   * How record dtypes are decoded: `"objects"` or `"columns"` (see {@link DecodeOptions}).
   * @default {"objects"}
   */
  layout?: DecodeOptions["layout"];
  /**
   * Refuse header texts longer than this many characters, as `numpy.load` does.
   * @default {10_000}
   */
  maxHeaderSize?: number;
  /**
   * Open a file whose data is shorter than its header claims instead of throwing
   * {@link NpyRecoveryError}; rows that are fully present can then be read
   * ({@link NpyReader.availableRows}), and reading past them throws. Ignored by
   * {@link loadNpy} and {@link parseNpy}, which always need the whole array.
   * @default {false}
   */
  allowTruncated?: boolean;
}

export const READER_OPTIONS = {
  registry: true,
  layout: true,
  maxHeaderSize: true,
  allowTruncated: true,
} as const satisfies OptionKeys<NpyReaderOptions>;

/**
 * Parses the bytes of a whole `.npy` file, with no file system. Bytes after the data are
 * ignored, as NumPy does. The data may be decoded as a view of `bytes` (no copy) when the
 * dtype allows it.
 *
 * @param bytes The file's bytes.
 * @param options `registry`, `layout`, `maxHeaderSize`.
 * @returns The array.
 * @throws {NpyFormatError} When the bytes are not a valid `.npy` file.
 * @throws {NpyDtypeError} When no registered dtype handles the descr.
 * @throws {NpyRecoveryError} When the data is shorter than the header claims.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseNpy } from "@npy/append-array";
 *
 * const bytes = encodeNpy(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
 * const a = parseNpy(bytes);
 * assert.deepEqual(a.shape, [2, 2]);
 * assert.deepEqual([...(a.data as Float64Array)], [1, 2, 3, 4]);
 * ```
 */
export function parseNpy(bytes: Uint8Array, options: NpyReaderOptions = {}): NpyArray {
  checkOptionKeys(options, READER_OPTIONS, "parse the .npy bytes");
  const header = numberShaped(parseHeader(bytes, options)); // (it reads maxHeaderSize)
  const dtype = (options.registry ?? defaultRegistry).resolve(header.descr);
  const dataBytes = dataByteLength(header);
  const actual = bytes.length - header.headerLength;
  if (actual < dataBytes) {
    throw new NpyRecoveryError(
      `Cannot parse the .npy bytes: the data is ${actual} bytes but the header claims ` +
        `${dataBytes}`,
      { expectedBytes: dataBytes, actualBytes: actual },
    );
  }
  return {
    descr: header.descr,
    shape: header.shape,
    fortranOrder: header.fortranOrder,
    data: dtype.decode(
      bytes.subarray(header.headerLength, header.headerLength + dataBytes),
      { layout: options.layout, count: sizeOf(header.shape) },
    ),
  };
}

/**
 * A chunk, as {@link NpyAppendArray.append} and {@link encodeNpy} take it: an ndarray-like
 * `{ data, shape, descr?, fortranOrder? }` whose `data` holds the elements flat in the
 * file's order (column-major when `fortranOrder`); a TypedArray (or a `DataView` of raw
 * bytes); a nested JS array of numbers, bigints, booleans, strings, `Date`s, `[re, im]`
 * pairs or records; a record as a plain object (`{ t: 1n, x: [1, 2] }`, one row of a
 * record file); or a single number, bigint, boolean, string or `Date`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, type NpyChunk, parseNpy } from "@npy/append-array";
 *
 * const expected = encodeNpy(Float64Array.of(1, 2, 3));
 * const same: NpyChunk[] = [[1, 2, 3], { data: [1, 2, 3], shape: [3] }, Float32Array.of(1, 2, 3)];
 * for (const chunk of same) assert.deepEqual(encodeNpy(chunk, { descr: "<f8" }), expected);
 * // A single value is a 0-d array.
 * assert.deepEqual(parseNpy(encodeNpy(7, { descr: "<i4" })).shape, []);
 * ```
 */
export type NpyChunk =
  | NpyArrayLike
  | NpyArray
  | ArrayBufferView
  | readonly unknown[]
  | { readonly [field: string]: unknown }
  | number
  | bigint
  | boolean
  | string
  | Date;

/**
 * Options of {@link encodeNpy} and {@link saveNpy}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, type EncodeNpyOptions, NpyDtypeError, parseHeader } from "@npy/append-array";
 *
 * const options: EncodeNpyOptions = { descr: ">i4", shape: [2, 2], version: 2 };
 * const bytes = encodeNpy([1, 2, 3, 4], options);
 * const header = parseHeader(bytes);
 * assert.equal(header.version, 2);
 * assert.deepEqual(header.shape, [2, 2]);
 * assert.deepEqual(bytes.subarray(-4), Uint8Array.of(0, 0, 0, 4)); // big-endian
 * // float64 -> int32 is not a "same_kind" cast.
 * assert.throws(() => encodeNpy(Float64Array.of(1.5), { descr: "<i4" }), NpyDtypeError);
 * ```
 */
export interface EncodeNpyOptions {
  /**
   * The dtype to write. Otherwise the chunk's own `descr`, else the native-endian descr of
   * a TypedArray (`Float32Array` → `"<f4"`). A chunk's own, different `descr` is cast to
   * this one as NumPy's `astype` does, under `casting`.
   * @default {inferred}
   */
  descr?: Descr;
  /**
   * The array's shape. Otherwise the chunk's own `shape`, else 1-D.
   * @default {[number of elements]}
   */
  shape?: readonly number[];
  /**
   * Whether the data is column-major. Otherwise the chunk's own `fortranOrder`, else false.
   * @default {false}
   */
  fortranOrder?: boolean;
  /**
   * Where the codec for the descr comes from.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
  /**
   * How strictly typed inputs must match the descr (NumPy's casting rules).
   * @default {"same_kind"}
   */
  casting?: Casting;
  /**
   * Format version to write.
   * @default {the oldest that can hold the header, as NumPy chooses}
   */
  version?: NpyVersion;
}

/**
 * A chunk's header fields and data bytes (a view of the chunk when possible), before any
 * header is encoded: the chunk's own shape (or `options.shape`) and order.
 */
function encodeChunk(
  chunk: NpyChunk,
  options: EncodeNpyOptions,
  path?: string,
): { fields: HeaderFields; data: Uint8Array } {
  const target: ChunkTarget = path === undefined
    ? { action: "encode the array" }
    : { action: `encode ${quote(path)}`, path };
  const registry = options.registry ?? defaultRegistry;
  const dtype = options.descr === undefined ? undefined : registry.resolve(options.descr);
  const encoder = new ChunkEncoder(target, registry, options.casting ?? "same_kind");
  const elements = encoder.elements(chunk, dtype);
  const { count } = elements;
  const shape = options.shape ?? elements.shape;
  if (sizeOf(shape) !== count) {
    throw new NpyShapeError(
      `Cannot ${target.action}: the shape ${shapeText(shape)} holds ${sizeOf(shape)} elements ` +
        `but the data has ${count}`,
      { ...(path === undefined ? {} : { path }), expected: [...shape], actual: [count] },
    );
  }
  const fortranOrder = options.fortranOrder ?? elements.fortran;
  const fields = { descr: elements.dtype.descr, fortranOrder, shape: [...shape] };
  return { fields, data: encoder.bytes(elements) };
}

const ENCODE_OPTIONS = {
  descr: true,
  shape: true,
  fortranOrder: true,
  registry: true,
  casting: true,
  version: true,
} as const satisfies OptionKeys<EncodeNpyOptions>;

/** The header and data bytes of a chunk (the data a view of the chunk when possible). */
export function encodeParts(
  chunk: NpyChunk,
  options: EncodeNpyOptions,
  path?: string,
): [header: Uint8Array, data: Uint8Array] {
  checkOptionKeys(
    options,
    ENCODE_OPTIONS,
    path === undefined ? "encode the array" : `write ${quote(path)}`,
  );
  const { fields, data } = encodeChunk(chunk, options, path);
  const { version } = options;
  const header = encodeHeader(fields, {
    ...(version === undefined ? {} : { version }),
    ...(path === undefined ? {} : { path }),
  });
  return [header, data];
}

/**
 * The bytes `np.save` writes for an array: NumPy's exact header (growth room, 64-byte
 * alignment), then the data.
 *
 * @param chunk An ndarray-like `{ data, shape, descr?, fortranOrder? }` or flat values.
 * @param options `descr`, `shape`, `fortranOrder`, `registry`, `casting`, `version`.
 * @returns The file's bytes.
 * @throws {NpyDtypeError} When the descr is unknown or the values cannot be cast to it.
 * @throws {NpyShapeError} When the shape does not match the number of elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseHeader } from "@npy/append-array";
 *
 * const bytes = encodeNpy({ data: new Int16Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
 * assert.equal(bytes.length, 128 + 12);
 * assert.deepEqual(parseHeader(bytes).shape, [2, 3]);
 * ```
 */
export function encodeNpy(chunk: NpyChunk, options: EncodeNpyOptions = {}): Uint8Array {
  const [header, data] = encodeParts(chunk, options);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}
