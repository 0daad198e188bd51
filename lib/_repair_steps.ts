/**
 * What the repairs ({@link recover}, {@link ensureAppendable} and their checks) share: their
 * options and progress, reading a file's header with system errors worded, taking the
 * writer lock, and rewriting a file into a temp file renamed over it. Internal, but the two
 * types are public (`lib/repair.ts` re-exports them).
 *
 * @module
 */

import { quote } from "./errors.ts";
import { WriterLock } from "./_lock.ts";
import { fileError, NpyFile, toPath } from "./file.ts";
import { replaceSteps } from "./_replace.ts";
import { type CopyControl, copySteps, type Steps } from "./_steps.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import { dataByteLength, encodeHeader, type HeaderFields } from "./header.ts";
import { type FileHeader, readHeaderSteps, truncatedError } from "./_header_io.ts";

/**
 * Options shared by the repair functions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import {
 *   isAppendableSync,
 *   NpyFormatError,
 *   type RepairOptions,
 *   saveNpySync,
 * } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, new Float32Array(3));
 * const strict: RepairOptions = { maxHeaderSize: 50 }; // this header's text is longer
 * assert.throws(() => isAppendableSync(path, strict), NpyFormatError);
 * assert.equal(isAppendableSync(path, { maxHeaderSize: 10_000 }), true);
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface RepairOptions {
  /**
   * Refuse header texts longer than this many characters, as `numpy.load` does.
   * @default {10_000}
   */
  maxHeaderSize?: number;
}

/**
 * Progress of {@link ensureAppendable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { encodeHeader, ensureAppendableSync, type RepairProgress } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "old.npy");
 * const fields = { descr: "<f8", fortranOrder: false, shape: [4] };
 * writeFileSync(path, encodeHeader(fields, { totalLength: 80 })); // old NumPy: no growth room
 * appendFileSync(path, new Uint8Array(32));
 * const seen: RepairProgress[] = [];
 * ensureAppendableSync(path, { bufferSize: 16, onProgress: (p) => seen.push(p) });
 * assert.deepEqual(seen, [{ bytesDone: 16, bytesTotal: 32 }, { bytesDone: 32, bytesTotal: 32 }]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface RepairProgress {
  /** Data bytes copied or moved so far. */
  bytesDone: number;
  /** Data bytes to copy or move in all. */
  bytesTotal: number;
}

export const REPAIR_OPTIONS = { maxHeaderSize: true } as const satisfies OptionKeys<RepairOptions>;

const BUFFER_SIZE = 8 << 20;

/** Opens `path` read-only and reads its header, as steps; system errors worded. */
function* headerSteps(path: string, options: RepairOptions): Steps<FileHeader> {
  let file: NpyFile | undefined;
  try {
    file = NpyFile.openSync(path, "r");
    return yield* readHeaderSteps(file, options.maxHeaderSize);
  } catch (e) {
    throw fileError(e, `read ${quote(path)}`, path);
  } finally {
    file?.closeSync();
  }
}

/** isAppendable and needsRecovery: `ask` of the header of `path`. */
export function* checkSteps(
  path: string | URL,
  options: RepairOptions,
  ask: (path: string, state: FileHeader) => boolean,
): Steps<boolean> {
  path = toPath(path);
  checkOptionKeys(options, REPAIR_OPTIONS, `check ${quote(path)}`);
  return ask(path, yield* headerSteps(path, options));
}

/** Takes the writer lock for a repair, unless `options.lock` is `false`. */
export function lockFor(
  path: string,
  action: string,
  options: { lock?: boolean },
): WriterLock | undefined {
  if (options.lock === false) return undefined;
  return WriterLock.acquireSync(path, action);
}

interface CopyOptions {
  /** What the copy is for, in errors: `recover "a.npy"`. */
  action: string;
  onProgress?: (progress: RepairProgress) => void;
  signal?: AbortSignal;
  bufferSize?: number;
}

/**
 * The buffer a repair copies or moves `total` bytes through: `options.bufferSize` bytes at
 * most. `action` names the repair and the file in the error: `make "a.npy" appendable`.
 */
export function bufferFor(
  options: { bufferSize?: number },
  total: number,
  action: string,
): Uint8Array {
  const size = options.bufferSize ?? BUFFER_SIZE;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(
      `Cannot ${action}: options.bufferSize must be a positive integer, not ${size}`,
    );
  }
  return new Uint8Array(Math.max(1, Math.min(size, total)));
}

/**
 * Replaces `src`'s file atomically ({@link replaceSteps}; the caller holds the lock) with
 * `header` then `keep` data bytes of `src` (zero-extended to the new shape's size). On any
 * error or abort the temp file is removed and the original is untouched. Closes `src`.
 */
export function* rewriteCopySteps(
  src: NpyFile,
  state: FileHeader,
  fields: HeaderFields,
  keep: number,
  options: CopyOptions,
): Steps<Uint8Array> {
  const path = src.path;
  const header = encodeHeader(fields, { path });
  const replace = { action: options.action, lock: false };
  const control: CopyControl = {
    onProgress: (done) => options.onProgress?.({ bytesDone: done, bytesTotal: keep }),
    short: (done) => truncatedError(path, "copy", keep, done),
  };
  if (options.signal !== undefined) control.signal = options.signal;
  const buffer = bufferFor(options, keep, options.action);
  yield* replaceSteps(path, replace, function* (out) {
    yield { write: out, bytes: header, position: 0 };
    yield* copySteps(src, state.header.headerLength, out, header.length, keep, buffer, control);
    out.truncateSync(header.length + dataByteLength(fields));
    src.closeSync();
  });
  return header;
}
