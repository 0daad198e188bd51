/**
 * What a `.npy` header says and what follows from it, with no parsing or encoding: the
 * format's constants, the header's fields, the data size, the growth axis and the shape of
 * one row along it. Pure: no I/O. `lib/header.ts` re-exports it with the parser and the
 * encoder.
 *
 * @module
 */

import { checkDescr, type Descr, MAX_DIMS } from "./descr.ts";
import { NpyShapeError, quote } from "./errors.ts";
import { pyReprIntTuple } from "./_pyliteral.ts";

/**
 * The six bytes every `.npy` file starts with: `\x93NUMPY`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, MAGIC } from "@npy/append-array";
 *
 * const bytes = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [1] });
 * assert.deepEqual(bytes.subarray(0, 6), MAGIC);
 * ```
 */
export const MAGIC: Uint8Array = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59);
/**
 * NumPy aligns the start of the data to this many bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ARRAY_ALIGN, encodeHeader } from "@npy/append-array";
 *
 * const bytes = encodeHeader({ descr: [["a", "<i8"]], fortranOrder: false, shape: [7] });
 * assert.equal(bytes.length % ARRAY_ALIGN, 0);
 * ```
 */
export const ARRAY_ALIGN = 64;
/**
 * Spaces of growth room NumPy leaves, less the digits of the growth dimension.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, GROWTH_AXIS_MAX_DIGITS } from "@npy/append-array";
 *
 * // Room for the row count to grow to 21 digits: a rewrite in place never runs out.
 * const text = new TextDecoder().decode(encodeHeader({ descr: "<f4", fortranOrder: false, shape: [5] }));
 * assert.ok(text.includes("(5,), }" + " ".repeat(GROWTH_AXIS_MAX_DIGITS - 1)));
 * ```
 */
export const GROWTH_AXIS_MAX_DIGITS = 21;
/**
 * NumPy's default limit on the header text, in characters (padding included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, MAX_HEADER_SIZE, NpyFormatError, parseHeader } from "@npy/append-array";
 *
 * const wide = Array.from({ length: 1000 }, (_, i) => [`field${i}`, "<f4"] as const);
 * const bytes = encodeHeader({ descr: wide, fortranOrder: false, shape: [1] });
 * assert.ok(bytes.length > MAX_HEADER_SIZE);
 * assert.throws(() => parseHeader(bytes), NpyFormatError); // as numpy.load refuses it
 * assert.equal(parseHeader(bytes, { maxHeaderSize: 100_000 }).shape[0], 1);
 * ```
 */
export const MAX_HEADER_SIZE = 10_000;

/**
 * The format's major version; the minor version is always 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, type NpyVersion, parseHeader } from "@npy/append-array";
 *
 * const version: NpyVersion = parseHeader(
 *   encodeHeader({ descr: [["名前", "<f4"]], fortranOrder: false, shape: [1] }),
 * ).version;
 * assert.equal(version, 3); // non-latin1 field names need version 3.0
 * ```
 */
export type NpyVersion = 1 | 2 | 3;

/**
 * What a header says about the array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dataByteLength, type HeaderFields } from "@npy/append-array";
 *
 * const fields: HeaderFields = { descr: "<c16", fortranOrder: true, shape: [4, 5] };
 * assert.equal(dataByteLength(fields), 320);
 * ```
 */
export interface HeaderFields {
  /** The dtype, as NumPy writes it. */
  readonly descr: Descr;
  /** `true`: the data is column-major and grows along the last axis. */
  readonly fortranOrder: boolean;
  /**
   * The array's shape; `[]` for a 0-d array. A dimension beyond 2^53 − 1 (possible only in
   * an array with no elements, such as NumPy's `(0, 9007199254740993)`) is a `bigint`;
   * every other dimension is a `number`.
   */
  readonly shape: readonly (number | bigint)[];
}

/**
 * A parsed header: its fields, the format version and where the data starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, type NpyHeader, parseHeader } from "@npy/append-array";
 *
 * const header: NpyHeader = parseHeader(
 *   encodeHeader({ descr: "<i2", fortranOrder: false, shape: [3] }),
 * );
 * assert.equal(header.headerLength, 128); // the data starts here
 * ```
 */
export interface NpyHeader extends HeaderFields {
  /** Major version of the format: 1 (u16 length), 2 (u32 length), 3 (u32, utf-8). */
  readonly version: NpyVersion;
  /** Bytes from the start of the file to the data: the whole preamble. */
  readonly headerLength: number;
}

/** `the header of "a.npy"`, or `the .npy header` for bytes from no file: for messages. */
export function where(path: string | undefined): string {
  return path === undefined ? "the .npy header" : `the header of ${quote(path)}`;
}

/** The bytes before the header text: magic, version, and the header length field. */
export function preambleSize(version: NpyVersion): number {
  return version === 1 ? 10 : 12;
}

/**
 * The number of bytes the array's data takes: the product of the shape times the itemsize.
 *
 * @param fields The header's descr and shape.
 * @returns Data bytes (0 for an empty array; the itemsize for a 0-d one).
 * @throws {NpyShapeError} When a dimension is not a non-negative integer or the size
 *   exceeds 2^53 − 1 bytes.
 * @throws {NpyDtypeError} When the descr is not usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dataByteLength } from "@npy/append-array";
 *
 * assert.equal(dataByteLength({ descr: "<f4", fortranOrder: false, shape: [3, 4] }), 48);
 * assert.equal(dataByteLength({ descr: "<f4", fortranOrder: false, shape: [] }), 4);
 * ```
 */
export function dataByteLength(fields: HeaderFields): number {
  return dataLength(
    fields.shape,
    checkDescr(fields.descr),
    (reason, actual) => new NpyShapeError(`Cannot compute the data length: ${reason}`, { actual }),
  );
}

/**
 * The data bytes of `shape` elements of `itemsize` bytes, as {@link dataByteLength} with the
 * caller's wording: `fail(reason, actual)` makes the error for a shape that no `.npy` file
 * can have, `reason` reading "the shape (…) …". Internal (parser, encoder).
 */
export function dataLength(
  shape: readonly (number | bigint)[],
  itemsize: number,
  fail: (reason: string, actual: number[] | undefined) => Error,
): number {
  const problem = shapeProblem(shape);
  if (problem !== undefined) throw fail(problem, numberDims(shape));
  // As NumPy: itemsize × every non-zero dimension must fit in an intp even when another
  // dimension is 0, so that `(0, 2**62)` of `<f8` is refused and `(0, 2**53 + 1)` is not.
  let product = BigInt(itemsize);
  for (const d of shape) {
    if (d !== 0 && d !== 0n) product *= BigInt(d);
    if (product > INTP_MAX) {
      throw fail(
        `the shape ${pyReprIntTuple(shape)} of itemsize ${itemsize} takes more than ` +
          `2^63 - 1 bytes, which NumPy refuses too`,
        numberDims(shape),
      );
    }
  }
  if (shape.some((d) => d === 0 || d === 0n)) return 0;
  if (product > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fail(
      `the shape ${pyReprIntTuple(shape)} of itemsize ${itemsize} takes more than ` +
        `2^53 - 1 bytes`,
      numberDims(shape),
    );
  }
  return Number(product);
}

const INTP_MAX = 2n ** 63n - 1n;

// Error details hold number dims; a bigint one is shown as Infinity there (the message has
// the exact value). Undefined when the shape is not a list of numbers (a caller's mistake).
function numberDims(shape: readonly unknown[]): number[] | undefined {
  if (!Array.isArray(shape)) return undefined;
  const dims: number[] = [];
  for (const d of shape) {
    if (typeof d === "bigint") dims.push(Infinity);
    else if (typeof d === "number") dims.push(d);
    else return undefined;
  }
  return dims;
}

/** Why `shape` cannot be the shape of an `.npy` array, or `undefined` when it can. */
function shapeProblem(shape: readonly unknown[]): string | undefined {
  const ok = Array.isArray(shape) &&
    shape.every((d) =>
      typeof d === "bigint" ? d >= 0n && d <= INTP_MAX : Number.isSafeInteger(d) && d >= 0
    );
  if (!ok) {
    return `the shape ${
      Array.isArray(shape) ? pyReprIntTuple(shape.map((d) => String(d))) : String(shape)
    } must be a list of non-negative integers below 2^63`;
  }
  if (shape.length > MAX_DIMS) {
    return `the shape has ${shape.length} dimensions; NumPy allows at most ${MAX_DIMS}`;
  }
  return undefined;
}

/**
 * The index of the axis a file grows along: 0 in C order, the last in Fortran order.
 *
 * @param fields The header's shape and order.
 * @returns The axis index; -1 for a 0-d array, which cannot grow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { growthAxis } from "@npy/append-array";
 *
 * assert.equal(growthAxis({ descr: "<f4", fortranOrder: true, shape: [3, 4, 5] }), 2);
 * ```
 */
export function growthAxis(fields: HeaderFields): number {
  if (fields.shape.length === 0) return -1;
  return fields.fortranOrder ? fields.shape.length - 1 : 0;
}

/**
 * The shape of one step along the growth axis: `shape` without its growth dimension (the
 * first in C order, the last in Fortran order); `[]` for a 0-d or 1-d shape. Internal.
 */
export function rowShapeOf<D extends number | bigint>(
  shape: readonly D[],
  fortranOrder: boolean,
): D[] {
  return fortranOrder ? shape.slice(0, -1) : shape.slice(1);
}

/** The growth dimension of `shape` (its row count); `undefined` for a 0-d shape. Internal. */
export function rowCountOf<D extends number | bigint>(
  shape: readonly D[],
  fortranOrder: boolean,
): D | undefined {
  return fortranOrder ? shape.at(-1) : shape[0];
}

/** The shape of `rows` steps of `rowShape` along the growth axis. Internal. */
export function shapeWithRows<D extends number | bigint>(
  rowShape: readonly D[],
  rows: D,
  fortranOrder: boolean,
): D[] {
  return fortranOrder ? [...rowShape, rows] : [rows, ...rowShape];
}

/** Whether two shapes are the same, dimension by dimension. Internal. */
export function sameShape<D extends number | bigint>(a: readonly D[], b: readonly D[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Bytes of one step along the growth axis (a row; a column block in Fortran order); the
 * whole data of a 0-d array. Internal.
 * @throws {NpyShapeError} / {NpyDtypeError} As {@link dataByteLength}.
 */
export function rowByteLength(fields: HeaderFields): number {
  if (fields.shape.length === 0) return dataByteLength(fields);
  const shape = rowShapeOf(fields.shape, fields.fortranOrder);
  return dataByteLength({ descr: fields.descr, fortranOrder: fields.fortranOrder, shape });
}
