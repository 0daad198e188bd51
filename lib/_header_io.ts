/**
 * Reading a `.npy` header from an open file without trusting it: the fixed 12-byte prefix
 * first, then exactly the header length it announces, bounded by `maxHeaderSize` and by the
 * file size, so a hostile length never causes a large allocation. Internal (reader, repair).
 *
 * @module
 */

import { NpyFormatError, NpyRecoveryError, NpyShapeError, quote } from "./errors.ts";
import type { NpyFile } from "./file.ts";
import {
  dataByteLength,
  MAX_HEADER_SIZE,
  type NpyHeader,
  type NpyVersion,
  parseHeader,
  peekHeaderLength,
  preambleSize,
} from "./header.ts";
import { runSteps, runStepsSync, type Steps } from "./_steps.ts";
import { bytesEqual } from "./header_rewriter.ts";

/**
 * A header whose dimensions are all numbers. Readers, writers and repairs count rows in JS
 * numbers, so they refuse a dimension beyond 2^53 − 1 ({@link numberShaped}); such a shape
 * only occurs in an array with no elements.
 */
export interface NumberShapedHeader extends NpyHeader {
  /** The shape, every dimension a number. */
  readonly shape: readonly number[];
}

/**
 * `header`, checked to have only number dimensions.
 * @throws {NpyShapeError} For a dimension beyond 2^53 − 1, naming the file.
 */
export function numberShaped(header: NpyHeader, path?: string): NumberShapedHeader {
  const at = header.shape.findIndex((d) => typeof d === "bigint");
  if (at < 0) return header as NumberShapedHeader;
  throw new NpyShapeError(
    `Cannot open ${path === undefined ? "the .npy bytes" : quote(path)}: dimension ${at} ` +
      `of the shape is ${header.shape[at]}, beyond the 2^53 - 1 this library counts rows ` +
      `and columns in (the array has no elements; parseHeader() reads its header)`,
    { path },
  );
}

/** A parsed header with the facts about the file it came from. */
export interface FileHeader {
  /** The parsed header. */
  header: NumberShapedHeader;
  /** File size in bytes when the header was read. */
  size: number;
  /** Data bytes the header claims. */
  dataBytes: number;
}

function checkPrefix(
  prefix: Uint8Array,
  size: number,
  path: string,
  maxHeaderSize: number,
): number {
  const headerLength = peekHeaderLength(prefix, { path });
  const limit = preambleSize(prefix[6] as NpyVersion) + maxHeaderSize * (prefix[6] === 3 ? 4 : 1);
  if (headerLength > limit) {
    throw new NpyFormatError(
      `Cannot parse the header of ${quote(path)}: the header is ${headerLength} bytes, more ` +
        `than maxHeaderSize ${maxHeaderSize} allows (NumPy's limit too; raise it only for ` +
        `trusted files)`,
      { path, offset: 8, maxHeaderSize },
    );
  }
  if (headerLength > size) {
    throw new NpyFormatError(
      `Cannot parse the header of ${quote(path)}: the header length ${headerLength} runs ` +
        `past the end of the ${size}-byte file`,
      { path, offset: 8 },
    );
  }
  return headerLength;
}

/**
 * Reads and parses the header of an open file, as I/O steps (lib/_steps.ts).
 * @throws {NpyFormatError} / {NpyDtypeError} as {@link parseHeader}, and for a header
 *   length past the end of the file or beyond `maxHeaderSize`.
 */
export function* readHeaderSteps(
  file: NpyFile,
  maxHeaderSize: number = MAX_HEADER_SIZE,
): Steps<FileHeader> {
  const size = (yield { size: file })!;
  const prefix = new Uint8Array(Math.min(12, size));
  yield { read: file, into: prefix, position: 0 };
  const headerLength = checkPrefix(prefix, size, file.path, maxHeaderSize);
  const bytes = new Uint8Array(headerLength);
  const again = new Uint8Array(headerLength);
  let n = 0;
  // A header read while a writer rewrites it may mix old and new bytes into digits that
  // still parse (a row count that goes back): it is read until two reads in a row agree.
  for (let attempt = 1; attempt <= 5; attempt++) {
    n = (yield { read: file, into: bytes, position: 0 })!;
    const m = (yield { read: file, into: again, position: 0 })!;
    if (m === n && bytesEqual(bytes.subarray(0, n), again.subarray(0, n))) break;
    yield { pause: 1 };
  }
  const parsed = finish(bytes.subarray(0, n), size, file.path, maxHeaderSize);
  // Size again, after the header: an appender writes rows before it rewrites the header,
  // so the rows of the header just read are in the file by now.
  parsed.size = (yield { size: file })!;
  return parsed;
}

/** Reads and parses the header of an open file (see readHeaderSteps). */
export function readHeaderSync(file: NpyFile, maxHeaderSize = MAX_HEADER_SIZE): FileHeader {
  return runStepsSync(readHeaderSteps(file, maxHeaderSize));
}

/** Async form of {@link readHeaderSync}. */
export function readHeader(file: NpyFile, maxHeaderSize = MAX_HEADER_SIZE): Promise<FileHeader> {
  return runSteps(readHeaderSteps(file, maxHeaderSize));
}

function finish(bytes: Uint8Array, size: number, path: string, maxHeaderSize: number): FileHeader {
  const header = numberShaped(parseHeader(bytes, { path, maxHeaderSize }), path);
  return { header, size, dataBytes: dataByteLength(header) };
}

/** The error for a file whose data is shorter than its header claims. */
export function truncatedError(
  path: string,
  action: string,
  expectedBytes: number,
  actualBytes: number,
): NpyRecoveryError {
  return new NpyRecoveryError(
    `Cannot ${action} ${quote(path)}: the data is ${actualBytes} bytes but the header ` +
      `claims ${expectedBytes} (a crash or a cut download; recover() makes it loadable)`,
    { path, expectedBytes, actualBytes },
  );
}

/**
 * Rows `[start, end)` of `rows` as non-negative indices. Negative ones count from the end, as
 * in a Python slice; unlike a slice, a range reaching outside the array is an error, not cut.
 * @param of What the rows are of, for the message: `"x.npy"`, `the stack "d"`.
 * @throws {RangeError} Naming the valid range.
 */
export function rowRange(
  start: number | undefined,
  end: number | undefined,
  rows: number,
  of: string,
): [number, number] {
  const fromEnd = (i: number) => (i < 0 && i >= -rows ? rows + i : i);
  const s = fromEnd(start ?? 0), e = fromEnd(end ?? rows);
  if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e < s || e > rows) {
    throw new RangeError(
      `Cannot read rows [${start ?? 0}, ${end ?? rows}) of ${of}: the valid range is ` +
        `[0, ${rows}) (integers, start <= end; negative ones count from the end, down to ` +
        `-${rows})`,
    );
  }
  return [s, e];
}
