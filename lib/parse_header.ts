/**
 * Parsing a `.npy` header: the preamble (magic, version, header length), then the Python dict
 * that describes the array. Accepts what `numpy.load` accepts in practice and nothing else;
 * never evaluates code. Pure: bytes only, no I/O.
 *
 * @module
 */

import { checkDescr, type Descr, descrFromPy } from "./descr.ts";
import { NpyDtypeError, NpyFormatError } from "./errors.ts";
import {
  dataLength,
  MAGIC,
  MAX_HEADER_SIZE,
  type NpyHeader,
  type NpyVersion,
  preambleSize,
  where,
} from "./header_fields.ts";
import { parsePyLiteral, PyLiteralError, pyReprString, PyTuple } from "./_pyliteral.ts";

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
const KEYS = ["descr", "fortran_order", "shape"] as const;

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
          i < bytes.length ? "it is not a .npy file" : `there are only ${bytes.length} bytes`
        } (expected the magic string \\x93NUMPY at offset 0)`,
        { path, offset: i },
      );
    }
  }
  if (bytes.length < 8) {
    throw new NpyFormatError(
      `Cannot parse ${where(path)}: there are only ${bytes.length} bytes (expected the ` +
        `version at offset 6)`,
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
      `Cannot parse ${where(path)}: there are only ${bytes.length} bytes (expected the ` +
        `header length at offset 8)`,
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
  function bad(reason: string, index = 0, cause?: PyLiteralError): NpyFormatError {
    const options = { path, offset: offsetOf(index) };
    return new NpyFormatError(
      `Cannot parse ${where(path)}: ${reason}`,
      cause === undefined ? options : { ...options, cause },
    );
  }

  let dict;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    // The literal parser's message is the reason alone ("expected ':' after key …"), written
    // to be placed after the action.
    throw bad(`${e.message} at offset ${offsetOf(e.index)}`, e.index, e);
  }
  if (!(dict instanceof Map)) throw bad("expected a dict {'descr': …, 'fortran_order': …}");
  const keys = [...dict.keys()].sort();
  const rawDescr = dict.get("descr");
  if (keys.length !== 3 || KEYS.some((k, i) => keys[i] !== k) || rawDescr === undefined) {
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
    descr = descrFromPy(rawDescr);
  } catch (e) {
    if (!(e instanceof NpyDtypeError)) throw e;
    const shown = typeof rawDescr === "string" ? ` ${pyReprString(rawDescr)}` : "";
    throw new NpyDtypeError(
      `Cannot parse ${where(path)}: its 'descr'${shown} is not a dtype numpy.load accepts`,
      { path, descr: e.descr, cause: e },
    );
  }
  let itemsize: number;
  try {
    itemsize = checkDescr(descr);
  } catch (e) {
    if (!(e instanceof NpyDtypeError)) throw e;
    // Of a descr descrFromPy took, checkDescr refuses only the object dtype.
    throw new NpyDtypeError(
      `Cannot parse ${where(path)}: its 'descr' uses the object dtype (pickled Python ` +
        `objects), which can be neither appended to nor memory-mapped`,
      { path, descr, cause: e },
    );
  }
  dataLength(shape, itemsize, (reason) => bad(reason));
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
