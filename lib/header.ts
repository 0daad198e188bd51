/**
 * The `.npy` header: magic, version 1.0/2.0/3.0, header length and the Python dict that
 * describes the array. Parsing accepts what `numpy.load` accepts in practice; encoding writes
 * the bytes `np.save` writes (NumPy ≥ 1.24: growth room, 64-byte alignment), and can pad a new
 * header to an old one's exact length for a rewrite in place. Pure: bytes only, no I/O.
 *
 * @module
 */

import {
  checkDescr,
  type Descr,
  descrFromPy,
  formatDescr,
  MAX_DIMS,
  normalizeDescr,
} from "./descr.ts";
import {
  NpyDtypeError,
  NpyFormatError,
  NpyHeaderSpaceError,
  NpyShapeError,
  quote,
} from "./errors.ts";
import { parsePyLiteral, PyLiteralError, pyReprIntTuple, PyTuple } from "./_pyliteral.ts";

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

/**
 * Options of {@link parseHeader} and {@link peekHeaderLength}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NpyFormatError, parseHeader, type ParseHeaderOptions } from "@npy/append-array";
 *
 * const options: ParseHeaderOptions = { path: "cut.npy" };
 * assert.throws(() => parseHeader(new Uint8Array(4), options), (e) => {
 *   assert.ok(e instanceof NpyFormatError && e.path === "cut.npy");
 *   return true;
 * });
 * ```
 */
export interface ParseHeaderOptions {
  /** The file the bytes come from, named in error messages. */
  path?: string;
  /**
   * Refuse header texts longer than this many characters, as `numpy.load` does.
   * @default {10_000}
   */
  maxHeaderSize?: number;
}

/**
 * Options of {@link encodeHeader}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, type EncodeHeaderOptions, parseHeader } from "@npy/append-array";
 *
 * const old = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [0] });
 * const options: EncodeHeaderOptions = { version: 1, totalLength: old.length };
 * const grown = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [1_000_000] }, options);
 * assert.equal(grown.length, old.length); // rewritten in place
 * assert.deepEqual(parseHeader(grown).shape, [1_000_000]);
 * ```
 */
export interface EncodeHeaderOptions {
  /**
   * Format version to write. By default the oldest that can hold the header, as NumPy
   * chooses: 1 unless the header needs over 65 535 bytes (2) or non-latin1 names (3).
   */
  version?: NpyVersion;
  /**
   * Pad the header to exactly this many bytes (for a rewrite in place); throws
   * {@link NpyHeaderSpaceError} when it cannot fit. By default pad to a multiple of 64.
   */
  totalLength?: number;
  /**
   * Leave growth room of `21 − digits(growth dimension)` spaces, as NumPy ≥ 1.24 does.
   * `false` writes the minimal header of older NumPy versions (not appendable in place).
   * @default {true}
   */
  growthRoom?: boolean;
  /** The file the header is for, named in error messages. */
  path?: string;
}

const KEYS = ["descr", "fortran_order", "shape"] as const;

function where(path: string | undefined): string {
  return path === undefined ? "the .npy header" : `the header of ${quote(path)}`;
}

/** The bytes before the header text: magic, version, and the header length field. */
export function preambleSize(version: NpyVersion): number {
  return version === 1 ? 10 : 12;
}

/**
 * Reads the fixed start of a `.npy` file (magic, version, header length) and returns the
 * total header length, that is the offset of the data. Needs the first 12 bytes (10 for
 * version 1), so a reader can learn how much more to read before calling
 * {@link parseHeader}.
 *
 * @param prefix At least the first 10–12 bytes of the file.
 * @param options `path` for error messages.
 * @returns Bytes before the data.
 * @throws {NpyFormatError} On a wrong magic, an unknown version or too few bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, peekHeaderLength } from "@npy/append-array";
 *
 * const header = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [3] });
 * assert.equal(peekHeaderLength(header.subarray(0, 12)), 128);
 * ```
 */
export function peekHeaderLength(prefix: Uint8Array, options: ParseHeaderOptions = {}): number {
  return readPreamble(prefix, options).headerLength;
}

function readPreamble(
  bytes: Uint8Array,
  { path }: ParseHeaderOptions,
): { version: NpyVersion; textLength: number; headerLength: number } {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new NpyFormatError(
        `Cannot parse ${where(path)}: ${
          i < bytes.length ? "not a .npy file" : `only ${bytes.length} bytes`
        }: expected the magic string \\x93NUMPY at offset 0`,
        { path, offset: i },
      );
    }
  }
  if (bytes.length < 8) {
    throw new NpyFormatError(
      `Cannot parse ${where(path)}: only ${bytes.length} bytes: expected the version at offset 6`,
      { path, offset: bytes.length },
    );
  }
  const major = bytes[6], minor = bytes[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new NpyFormatError(
      `Cannot parse ${where(path)}: unknown format version ${major}.${minor} at offset 6 ` +
        `(expected 1.0, 2.0 or 3.0)`,
      { path, offset: 6 },
    );
  }
  const version = major as NpyVersion;
  const fixed = preambleSize(version);
  if (bytes.length < fixed) {
    throw new NpyFormatError(
      `Cannot parse ${where(path)}: only ${bytes.length} bytes: expected the header length ` +
        `at offset 8`,
      { path, offset: bytes.length },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const textLength = version === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  return { version, textLength, headerLength: fixed + textLength };
}

/**
 * Parses a `.npy` header from the bytes at the start of a file (the data may follow).
 * Accepts what `numpy.load` accepts in practice — either quote, any whitespace, trailing
 * commas, Python 2 `L` suffixes, headers without growth room or alignment — and nothing else.
 * Never evaluates code; nesting and length are bounded.
 *
 * @param bytes The file's first bytes, at least up to the end of the header.
 * @param options `path` for messages, `maxHeaderSize` (default 10 000 characters).
 * @returns Version, descr, fortran order, shape and the header length (the data offset).
 * @throws {NpyFormatError} On a wrong magic or version, a length past the end of `bytes`,
 *   text that is not the expected dict, missing or extra keys, a bad shape, a header longer
 *   than `maxHeaderSize`, invalid utf-8 in a version 3 header, or a data size beyond 2^53.
 * @throws {NpyDtypeError} When the descr is not a NumPy dtype, or is the object dtype.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, parseHeader } from "@npy/append-array";
 *
 * const bytes = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [3, 4] });
 * assert.deepEqual(parseHeader(bytes), {
 *   version: 1,
 *   descr: "<f4",
 *   fortranOrder: false,
 *   shape: [3, 4],
 *   headerLength: 128,
 * });
 * ```
 */
export function parseHeader(bytes: Uint8Array, options: ParseHeaderOptions = {}): NpyHeader {
  const { path, maxHeaderSize = MAX_HEADER_SIZE } = options;
  const { version, textLength, headerLength } = readPreamble(bytes, options);
  const start = preambleSize(version);
  if (headerLength > bytes.length) {
    throw new NpyFormatError(
      `Cannot parse ${where(path)}: the header length ${textLength} at offset 8 runs past ` +
        `the end of the ${bytes.length} bytes given`,
      { path, offset: 8 },
    );
  }
  // A utf-8 character takes at most 4 bytes: longer byte runs cannot be within the limit.
  if (textLength > maxHeaderSize * (version === 3 ? 4 : 1)) {
    throw tooLong(textLength);
  }
  const raw = bytes.subarray(start, headerLength);
  let text: string;
  if (version === 3) {
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
    } catch (cause) {
      throw new NpyFormatError(
        `Cannot parse ${where(path)}: a version 3.0 header must be valid utf-8`,
        { path, offset: start, cause },
      );
    }
    let chars = 0;
    for (const _ of text) chars++;
    if (chars > maxHeaderSize) throw tooLong(chars);
  } else {
    text = decodeLatin1(raw);
  }

  function tooLong(length: number): NpyFormatError {
    return new NpyFormatError(
      `Cannot parse ${where(path)}: the header text is ${length} characters, more than ` +
        `maxHeaderSize ${maxHeaderSize} (NumPy's limit too; raise it only for trusted files)`,
      { path, offset: 8, maxHeaderSize },
    );
  }
  function offsetOf(index: number): number {
    return start +
      (version === 3 ? new TextEncoder().encode(text.slice(0, index)).length : index);
  }
  function bad(message: string, index = 0): NpyFormatError {
    return new NpyFormatError(`Cannot parse ${where(path)}: ${message}`, {
      path,
      offset: offsetOf(index),
    });
  }

  let dict;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    throw bad(`${e.message} at offset ${offsetOf(e.index)}`, e.index);
  }
  if (!(dict instanceof Map)) throw bad("expected a dict {'descr': …, 'fortran_order': …}");
  const keys = [...dict.keys()].sort();
  if (keys.length !== 3 || KEYS.some((k, i) => keys[i] !== k)) {
    throw bad(
      `expected exactly the keys 'descr', 'fortran_order', 'shape', found ${
        keys.map((k) => `'${k}'`).join(", ") || "none"
      }`,
    );
  }
  const fortranOrder = dict.get("fortran_order");
  if (typeof fortranOrder !== "boolean") {
    throw bad("'fortran_order' must be True or False");
  }
  const rawShape = dict.get("shape");
  if (
    !(rawShape instanceof PyTuple) ||
    !rawShape.items.every((d) => (typeof d === "number" || typeof d === "bigint") && d >= 0)
  ) {
    throw bad("'shape' must be a tuple of non-negative integers such as (3, 4) or (5,)");
  }
  const shape = rawShape.items as (number | bigint)[];
  let descr: Descr;
  try {
    descr = descrFromPy(dict.get("descr")!);
  } catch (e) {
    if (e instanceof NpyDtypeError) {
      throw new NpyDtypeError(`Cannot parse ${where(path)}: ${e.message}`, {
        path,
        descr: e.descr,
        cause: e,
      });
    }
    throw e;
  }
  try {
    dataByteLength({ descr, shape, fortranOrder });
  } catch (e) {
    if (e instanceof NpyDtypeError) {
      throw new NpyDtypeError(`Cannot parse ${where(path)}: ${e.message}`, {
        path,
        descr: e.descr,
        cause: e,
      });
    }
    if (e instanceof NpyShapeError) throw bad(e.message);
    throw e;
  }
  return { version, descr, fortranOrder, shape, headerLength };
}

function decodeLatin1(bytes: Uint8Array): string {
  // TextDecoder's "latin1" is windows-1252, which differs in 0x80–0x9f: decode by hand.
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
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
  const itemsize = checkDescr(fields.descr);
  checkShape(fields.shape);
  // As NumPy: itemsize × every non-zero dimension must fit in an intp even when another
  // dimension is 0, so that `(0, 2**62)` of `<f8` is refused and `(0, 2**53 + 1)` is not.
  let product = BigInt(itemsize);
  for (const d of fields.shape) {
    if (d !== 0 && d !== 0n) product *= BigInt(d);
    if (product > INTP_MAX) {
      throw new NpyShapeError(
        `the shape ${pyReprIntTuple(fields.shape)} of itemsize ${itemsize} takes more than ` +
          `2^63 - 1 bytes, which NumPy refuses too`,
        { actual: numberDims(fields.shape) },
      );
    }
  }
  if (fields.shape.some((d) => d === 0 || d === 0n)) return 0;
  if (product > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NpyShapeError(
      `the shape ${pyReprIntTuple(fields.shape)} of itemsize ${itemsize} takes more than ` +
        `2^53 - 1 bytes`,
      { actual: numberDims(fields.shape) },
    );
  }
  return Number(product);
}

const INTP_MAX = 2n ** 63n - 1n;

// Error details hold number dims; a bigint one is shown as Infinity there (the message has
// the exact value).
function numberDims(shape: readonly (number | bigint)[]): number[] {
  return shape.map((d) => typeof d === "bigint" ? Infinity : d);
}

function checkShape(shape: readonly (number | bigint)[]): void {
  const ok = Array.isArray(shape) &&
    shape.every((d) =>
      typeof d === "bigint" ? d >= 0n && d <= INTP_MAX : Number.isSafeInteger(d) && d >= 0
    );
  if (!ok) {
    throw new NpyShapeError(
      `the shape ${
        Array.isArray(shape) ? pyReprIntTuple(shape.map((d) => String(d))) : String(shape)
      } must be a list of non-negative integers below 2^63`,
      { actual: Array.isArray(shape) ? numberDims(shape as (number | bigint)[]) : undefined },
    );
  }
  if (shape.length > MAX_DIMS) {
    throw new NpyShapeError(
      `the shape has ${shape.length} dimensions; NumPy allows at most ${MAX_DIMS}`,
      { actual: numberDims(shape) },
    );
  }
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
 * The header dict's text, without padding: `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (3, 4), }`, keys sorted and spaced as Python's `repr` writes them.
 */
function headerDictText(fields: HeaderFields): string {
  // fields.descr is canonical here (encodeHeader normalised it).
  return `{'descr': ${formatDescr(fields.descr)}, 'fortran_order': ${
    fields.fortranOrder ? "True" : "False"
  }, 'shape': ${pyReprIntTuple(fields.shape)}, }`;
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/**
 * Encodes a header exactly as `np.save` writes it (NumPy ≥ 1.24): the dict with sorted keys
 * and Python spacing, growth room of `21 − digits` spaces after it, then spaces and a newline
 * up to a multiple of 64 bytes. With `totalLength` it pads to that exact length instead, for
 * rewriting a header in place.
 *
 * @param fields The descr, fortran order and shape.
 * @param options `version`, `totalLength`, `growthRoom`, `path`.
 * @returns The header bytes: magic through the final newline.
 * @throws {NpyHeaderSpaceError} When the header does not fit in `totalLength` bytes.
 * @throws {NpyFormatError} When the forced `version` cannot hold the header.
 * @throws {NpyDtypeError} When the descr is not usable.
 * @throws {NpyShapeError} When the shape is not valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader } from "@npy/append-array";
 *
 * const bytes = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [3, 4] });
 * const text = new TextDecoder().decode(bytes.subarray(10));
 * assert.equal(bytes.length, 128);
 * assert.ok(text.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"));
 * assert.ok(text.endsWith(" \n"));
 * ```
 */
export function encodeHeader(fields: HeaderFields, options: EncodeHeaderOptions = {}): Uint8Array {
  const { path, growthRoom = true, totalLength } = options;
  checkVersion(options.version, path);
  fields = { ...fields, descr: normalizeDescr(fields.descr) };
  dataByteLength(fields);
  let text = headerDictText(fields);
  const latin1 = isLatin1(text);
  if (options.version !== undefined && options.version !== 3 && !latin1) {
    throw new NpyFormatError(
      `Cannot encode ${where(path)}: version ${options.version}.0 holds latin1 text only; ` +
        `non-latin1 field names need version 3.0`,
      { path },
    );
  }
  const axis = growthAxis(fields);
  if (totalLength === undefined && growthRoom && axis >= 0) {
    text += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(fields.shape[axis]).length));
  }
  const body = latin1 ? latin1Bytes(text) : new TextEncoder().encode(text);
  let version: NpyVersion = options.version ?? (latin1 ? 1 : 3);
  let length = totalLength ?? alignedLength(version, body.length);
  if (options.version === undefined && version === 1 && length - 10 > 0xffff) {
    version = 2;
    length = totalLength ?? alignedLength(version, body.length);
  }
  const fixed = preambleSize(version);
  const needed = fixed + body.length + 1;
  if (length < needed) {
    throw new NpyHeaderSpaceError(
      `Cannot write ${where(path)} in place: the new header needs ${needed} bytes but only ` +
        `${length} are there (use ensureAppendable to give the file room to grow)`,
      { path, needed, available: length },
    );
  }
  if (length - fixed > (version === 1 ? 0xffff : 0xffffffff)) {
    throw new NpyFormatError(
      `Cannot encode ${where(path)}: ${length - fixed} header bytes do not fit version ` +
        `${version}.0's length field`,
      { path },
    );
  }
  const out = new Uint8Array(length);
  out.set(MAGIC);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, length - fixed, true);
  else view.setUint32(8, length - fixed, true);
  out.set(body, fixed);
  out.fill(0x20, fixed + body.length, length - 1);
  out[length - 1] = 0x0a;
  return out;
}

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
  const axis = growthAxis(fields);
  if (axis < 0) {
    throw new NpyFormatError(
      `Cannot rewrite the header of ${where(options.path)}: a 0-d array has no growth axis`,
      { path: options.path },
    );
  }
  const encodeRows = (rows: number): Uint8Array => {
    const shape = [...fields.shape];
    shape[axis] = rows;
    return encodeHeader({ ...fields, shape }, { ...options, growthRoom: false });
  };
  // The template: the header for 0 rows. The growth dimension comes last in the dict text,
  // so one digit at `at`, then the rest of the dict up to its "}", then padding and "\n".
  let template: Uint8Array | undefined;
  let at = -1;
  let suffix = new Uint8Array(0);
  let maxDigits = 0;
  try {
    template = encodeRows(0);
    const one = encodeRows(1);
    at = template.findIndex((byte, i) => byte !== one[i]);
    suffix = template.slice(at + 1, template.indexOf(0x7d, at) + 1); // up to "}"
    maxDigits = template.length - 1 - at - suffix.length;
  } catch {
    template = undefined; // no room even for 0 rows: every call encodes (and throws)
  }
  let digitsNow = 1;
  const render = (rows: number): Uint8Array => {
    const h = template!;
    let digits = 1;
    for (let r = rows; r >= 10; r = Math.floor(r / 10)) digits++;
    let p = at + digits;
    for (let r = rows; p > at; r = Math.floor(r / 10)) h[--p] = 48 + (r % 10);
    if (digits !== digitsNow) {
      h.set(suffix, at + digits);
      h.fill(0x20, at + digits + suffix.length, h.length - 1);
      digitsNow = digits;
    }
    return h;
  };
  // Checked against the encoder at 0, 7 and the top of the range, which shrinks to the
  // largest 99…9 encodeHeader takes (NumPy's size limits); past it, each call encodes.
  let fastRows = template !== undefined && at >= 0 && maxDigits >= 1
    ? 10 ** Math.min(maxDigits, 15) - 1
    : -1;
  const agrees = (rows: number): boolean => {
    try {
      return bytesEqual(render(rows), encodeRows(rows));
    } catch {
      return false;
    }
  };
  while (fastRows > 0 && !agrees(fastRows)) fastRows = Math.floor(fastRows / 10);
  if (fastRows >= 0 && !((fastRows < 7 || agrees(7)) && agrees(0))) fastRows = -1;
  const rewrite = (rows: number): Uint8Array => rows <= fastRows ? render(rows) : encodeRows(rows);
  return Object.assign(rewrite, { fastRows });
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Refuses a format version other than 1, 2 or 3 (checked at run time: the type alone let
 * version bytes 0, 4 and 255 be written). Internal: encodeNpy and saveNpy call it too.
 */
export function checkVersion(version: unknown, path?: string): void {
  if (version === undefined || version === 1 || version === 2 || version === 3) return;
  const shown = typeof version === "string"
    ? JSON.stringify(version)
    : typeof version === "bigint"
    ? `${version}n`
    : typeof version === "object" && version !== null
    ? "an object"
    : String(version);
  throw new RangeError(
    `Cannot encode ${where(path)}: version ${shown} is not a .npy format version ` +
      `(expected 1, 2 or 3)`,
  );
}

function alignedLength(version: NpyVersion, bodyLength: number): number {
  // NumPy: padlen = 64 - ((magic + len field + text + newline) % 64), never 0.
  const unpadded = preambleSize(version) + bodyLength + 1;
  return unpadded + ARRAY_ALIGN - (unpadded % ARRAY_ALIGN);
}

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
