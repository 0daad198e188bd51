/**
 * Encoding a `.npy` header exactly as `np.save` writes it (NumPy ≥ 1.24: growth room, 64-byte
 * alignment), or padded to an old header's exact length for a rewrite in place. Pure: bytes
 * only, no I/O.
 *
 * @module
 */

import { checkDescr, formatDescr, normalizeDescr } from "./descr.ts";
import { NpyFormatError, NpyHeaderSpaceError, NpyShapeError } from "./errors.ts";
import {
  ARRAY_ALIGN,
  dataLength,
  GROWTH_AXIS_MAX_DIGITS,
  growthAxis,
  type HeaderFields,
  MAGIC,
  type NpyVersion,
  preambleSize,
  where,
} from "./header_fields.ts";
import { pyReprIntTuple } from "./_pyliteral.ts";

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
  dataLength(
    fields.shape,
    checkDescr(fields.descr),
    (reason, actual) =>
      new NpyShapeError(`Cannot encode ${where(path)}: ${reason}`, { path, actual }),
  );
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
 * Refuses a format version other than 1, 2 or 3 (checked at run time: the type alone let
 * version bytes 0, 4 and 255 be written).
 */
function checkVersion(version: unknown, path?: string): void {
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
