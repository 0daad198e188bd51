/**
 * Rewriting a header in place as a file grows: {@link headerRewriter} gives the header for
 * each new row count at the file's length, and {@link hasGrowthRoom} tells whether a header
 * can hold every row count the file could ever reach. Pure: bytes only, no I/O.
 *
 * @module
 */

import { encodeHeader } from "./encode_header.ts";
import { NpyFormatError, NpyHeaderSpaceError, NpyShapeError } from "./errors.ts";
import {
  type HeaderFields,
  type NpyHeader,
  type NpyVersion,
  rowByteLength,
  rowShapeOf,
  shapeWithRows,
  where,
} from "./header_fields.ts";

/**
 * The header of one file as its row count changes, for rewriting it in place: `rewrite(rows)`
 * gives {@link encodeHeader}'s bytes for `fields` with `rows` along the growth axis, in the
 * file's `version` and `totalLength`. Up to `rewrite.fastRows` rows only the digits change in
 * one buffer, reused by every call (write it before the next call); past that each call
 * encodes, and throws {@link NpyHeaderSpaceError} when the header has no room.
 *
 * @param fields The header; its growth dimension is replaced by `rows`.
 * @param options The file's version and header length.
 * @returns The rewriter.
 * @throws {NpyFormatError} / {NpyDtypeError} As {@link encodeHeader}; a 0-d shape has no
 *   growth axis.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, headerRewriter } from "@npy/append-array";
 *
 * const fields = { descr: "<f4", fortranOrder: false, shape: [0, 3] };
 * const rewrite = headerRewriter(fields, { version: 1, totalLength: 128 });
 * assert.deepEqual(rewrite(12345), encodeHeader({ ...fields, shape: [12345, 3] }));
 * // Digits change in place up to the largest 99…9 rows whose data NumPy can hold.
 * assert.equal(rewrite.fastRows, 10 ** 14 - 1);
 * ```
 */
export function headerRewriter(
  fields: HeaderFields,
  options: { version: NpyVersion; totalLength: number; path?: string },
): ((rows: number) => Uint8Array) & { readonly fastRows: number } {
  if (fields.shape.length === 0) {
    throw new NpyFormatError(
      `Cannot rewrite ${where(options.path)}: a 0-d array has no growth axis`,
      { path: options.path },
    );
  }
  const { fortranOrder } = fields;
  const rowShape = rowShapeOf(fields.shape, fortranOrder);
  const encodeRows = (rows: number): Uint8Array =>
    encodeHeader(
      { ...fields, shape: shapeWithRows(rowShape, rows, fortranOrder) },
      { ...options, growthRoom: false },
    );
  const template = digitTemplate(encodeRows);
  // Checked against the encoder at 0, 7 and the top of the range, which shrinks to the
  // largest 99…9 encodeHeader takes (NumPy's size limits); past it, each call encodes.
  let fastRows = template === undefined ? -1 : 10 ** Math.min(template.maxDigits, 15) - 1;
  const agrees = (rows: number): boolean => {
    try {
      return template !== undefined && bytesEqual(template.render(rows), encodeRows(rows));
    } catch (e) {
      if (isRefusal(e)) return false;
      throw e;
    }
  };
  while (fastRows > 0 && !agrees(fastRows)) fastRows = Math.floor(fastRows / 10);
  if (fastRows >= 0 && !((fastRows < 7 || agrees(7)) && agrees(0))) fastRows = -1;
  const rewrite = (rows: number): Uint8Array =>
    template !== undefined && rows <= fastRows ? template.render(rows) : encodeRows(rows);
  return Object.assign(rewrite, { fastRows });
}

/**
 * The header for 0 rows as a template whose digits `render(rows)` overwrites in one buffer.
 * The growth dimension comes last in the dict text, so its digits start at one offset, then
 * come the rest of the dict up to its "}", padding and "\n"; `maxDigits` fit before the
 * "\n". `undefined` when the header has no room even for 0 rows (every call then encodes,
 * and throws).
 */
function digitTemplate(
  encodeRows: (rows: number) => Uint8Array,
): { render(rows: number): Uint8Array; maxDigits: number } | undefined {
  let header: Uint8Array, one: Uint8Array;
  try {
    header = encodeRows(0);
    one = encodeRows(1);
  } catch (e) {
    if (isRefusal(e)) return undefined;
    throw e;
  }
  const at = header.findIndex((byte, i) => byte !== one[i]);
  if (at < 0) return undefined;
  const suffix = header.slice(at + 1, header.indexOf(0x7d, at) + 1); // up to "}"
  const maxDigits = header.length - 1 - at - suffix.length;
  if (maxDigits < 1) return undefined;
  let digitsNow = 1;
  const render = (rows: number): Uint8Array => {
    let digits = 1;
    for (let r = rows; r >= 10; r = Math.floor(r / 10)) digits++;
    let p = at + digits;
    for (let r = rows; p > at; r = Math.floor(r / 10)) header[--p] = 48 + (r % 10);
    if (digits !== digitsNow) {
      header.set(suffix, at + digits);
      header.fill(0x20, at + digits + suffix.length, header.length - 1);
      digitsNow = digits;
    }
    return header;
  };
  return { render, maxDigits };
}

/** Whether encodeHeader refused a row count (no room, a length field too small, too big). */
function isRefusal(e: unknown): boolean {
  return e instanceof NpyHeaderSpaceError || e instanceof NpyFormatError ||
    e instanceof NpyShapeError;
}

/** Whether two byte arrays hold the same bytes. Internal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether a header can be rewritten in place, at its length and version, for any number of
 * rows the file could ever hold: the growth dimension written as `⌊(2^53 − 1) / rowBytes⌋`
 * (the largest row count whose data size is a safe integer) still fits. Headers written by
 * NumPy ≥ 1.24 or this library always do; a 0-d array never does (it cannot grow).
 *
 * @param header A parsed header.
 * @returns `true` when appending can rewrite the header in place forever.
 * @throws {NpyShapeError} For a dimension beyond 2^53 − 1 (an array with no elements that
 *   cannot be appended to).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, hasGrowthRoom, parseHeader } from "@npy/append-array";
 *
 * const fields = { descr: "<f4", fortranOrder: false, shape: [3, 4] };
 * assert.equal(hasGrowthRoom(parseHeader(encodeHeader(fields))), true);
 * // Old NumPy aligned to 16 bytes and left no room: 80 bytes here.
 * assert.equal(hasGrowthRoom(parseHeader(encodeHeader(fields, { totalLength: 80 }))), false);
 * ```
 */
export function hasGrowthRoom(header: NpyHeader): boolean {
  const big = header.shape.findIndex((d) => typeof d === "bigint");
  if (big >= 0) {
    throw new NpyShapeError(
      `Cannot check the growth room of ${where(undefined)}: dimension ${big} of the shape is ` +
        `${header.shape[big]}, beyond the 2^53 - 1 this library counts rows in (the array ` +
        `has no elements and cannot be appended to)`,
    );
  }
  if (header.shape.length === 0) return false;
  const rowBytes = rowByteLength(header);
  const rows = Math.floor(Number.MAX_SAFE_INTEGER / Math.max(rowBytes, 1));
  const shape = shapeWithRows(
    rowShapeOf(header.shape, header.fortranOrder),
    rows,
    header.fortranOrder,
  );
  try {
    encodeHeader({ ...header, shape }, {
      version: header.version,
      totalLength: header.headerLength,
    });
    return true;
  } catch (e) {
    if (e instanceof NpyHeaderSpaceError || e instanceof NpyFormatError) return false;
    throw e;
  }
}
