/**
 * {@link ensureAppendable}: giving a file without growth room (old NumPy, other tools) a
 * header that can be rewritten in place, by a copy renamed over it or a shift in place; and
 * {@link isAppendable}: whether a file has the room already.
 *
 * @module
 */

import { NpyRecoveryError, NpyShapeError, quote } from "./errors.ts";
import { fileError, NpyFile, toPath } from "./file.ts";
import { runSteps, runStepsSync, type Steps } from "./_steps.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import { encodeHeader, hasGrowthRoom, type HeaderFields } from "./header.ts";
import { type FileHeader, readHeaderSteps } from "./_header_io.ts";
import {
  bufferFor,
  checkSteps,
  lockFor,
  REPAIR_OPTIONS,
  type RepairOptions,
  type RepairProgress,
  rewriteCopySteps,
} from "./_repair_steps.ts";

/**
 * Options of {@link ensureAppendable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import {
 *   encodeHeader,
 *   type EnsureAppendableOptions,
 *   ensureAppendableSync,
 *   loadNpySync,
 * } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "old.npy");
 * const fields = { descr: "<f8", fortranOrder: false, shape: [2] };
 * writeFileSync(path, encodeHeader(fields, { totalLength: 80 })); // old NumPy: no growth room
 * appendFileSync(path, new Uint8Array(Float64Array.of(1, 2).buffer));
 * const options: EnsureAppendableOptions = { inPlace: true, bufferSize: 4096 }; // no temp copy
 * assert.equal(ensureAppendableSync(path, options).changed, true);
 * assert.deepEqual(loadNpySync(path).data, Float64Array.of(1, 2));
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface EnsureAppendableOptions extends RepairOptions {
  /**
   * Take the file's writer lock (`<path>.lock`, as `NpyAppendArray` does) while repairing,
   * so that a live writer, in any process, makes this fail with an `NpyLockError` naming
   * it rather than both changing the file. `false` where the lock file cannot be created.
   * @default {true}
   */
  lock?: boolean;

  /**
   * Shift the data towards the end of the file in place, chunk by chunk from the end, then
   * write the new header — for disks without room for a copy. Not crash-safe: a crash while
   * shifting leaves a broken file. By default the file is rewritten into a temp file beside
   * it and renamed over it, which is crash-safe.
   * @default {false}
   */
  inPlace?: boolean;
  /**
   * Called after each chunk copied or moved.
   * @default {undefined}
   */
  onProgress?: (progress: RepairProgress) => void;
  /**
   * Stops the work: a copy is deleted and the original left untouched; an in-place shift is
   * undone (moved back) before the abort error is thrown.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Bytes copied or moved per step.
   * @default {8 MiB}
   */
  bufferSize?: number;
}

const ENSURE_OPTIONS = {
  ...REPAIR_OPTIONS,
  lock: true,
  inPlace: true,
  onProgress: true,
  signal: true,
  bufferSize: true,
} as const satisfies OptionKeys<EnsureAppendableOptions>;

/**
 * What {@link ensureAppendable} did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import {
 *   encodeHeader,
 *   type EnsureAppendableResult,
 *   ensureAppendableSync,
 * } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "old.npy");
 * const fields = { descr: "<i4", fortranOrder: false, shape: [0] };
 * writeFileSync(path, encodeHeader(fields, { totalLength: 80 })); // old NumPy: no growth room
 * const result: EnsureAppendableResult = ensureAppendableSync(path);
 * assert.deepEqual(result, { changed: true, previousHeaderLength: 80, headerLength: 128 });
 * // It has room now: a second call leaves the file untouched.
 * assert.equal(ensureAppendableSync(path).changed, false);
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface EnsureAppendableResult {
  /** `false` when the file already had room and was left untouched. */
  changed: boolean;
  /** The header length (data offset) before. */
  previousHeaderLength: number;
  /** The header length (data offset) now; a multiple of 64 when changed. */
  headerLength: number;
}

/**
 * Whether the file's header has room to grow in place ({@link hasGrowthRoom}); when not,
 * {@link ensureAppendable} gives it room.
 *
 * @param path The `.npy` file.
 * @param options `maxHeaderSize`.
 * @returns `true` when rows can be appended with the header rewritten in place.
 * @throws {NpyFormatError} When the header cannot be parsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { isAppendable, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * saveNpySync(join(dir, "a.npy"), new Float64Array(4));
 * assert.equal(await isAppendable(join(dir, "a.npy")), true);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function isAppendable(
  path: string | URL,
  options: RepairOptions = {},
): Promise<boolean> {
  return runSteps(checkSteps(path, options, (_, s) => hasGrowthRoom(s.header)));
}

/**
 * Sync twin of {@link isAppendable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { encodeHeader, isAppendableSync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const fields = { descr: "<i4", fortranOrder: false, shape: [0] };
 * writeFileSync(join(dir, "old.npy"), encodeHeader(fields, { totalLength: 80 })); // old NumPy
 * assert.equal(isAppendableSync(join(dir, "old.npy")), false);
 * saveNpySync(join(dir, "new.npy"), new Int32Array(0));
 * assert.equal(isAppendableSync(join(dir, "new.npy")), true);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function isAppendableSync(path: string | URL, options: RepairOptions = {}): boolean {
  return runStepsSync(checkSteps(path, options, (_, s) => hasGrowthRoom(s.header)));
}

function mismatch(s: FileHeader): boolean {
  return s.size - s.header.headerLength !== s.dataBytes;
}

/**
 * Moves `length` bytes from `from` to `to` inside one file, in chunks ordered so that no
 * byte is overwritten before it is read (from the end when moving towards the end), as
 * steps. `step(moved)` runs after each chunk and may throw to stop; the bytes moved so far
 * are reported through `progress.moved` so the caller can undo them.
 */
function* shiftSteps(
  file: NpyFile,
  from: number,
  to: number,
  length: number,
  buffer: Uint8Array,
  progress: { moved: number },
  step: (moved: number) => void,
): Steps<void> {
  const backward = to > from;
  while (progress.moved < length) {
    const n = Math.min(buffer.length, length - progress.moved);
    const offset = backward ? length - progress.moved - n : progress.moved;
    const chunk = buffer.subarray(0, n);
    yield { read: file, into: chunk, position: from + offset };
    yield { write: file, bytes: chunk, position: to + offset };
    progress.moved += n;
    step(progress.moved);
  }
}

/** The part of a move already done, as a move that puts it back. */
function undoOf(from: number, to: number, length: number, moved: number) {
  return to > from
    ? { from: to + length - moved, to: from + length - moved, length: moved }
    : { from: to, to: from, length: moved };
}

interface EnsurePlan {
  state: FileHeader;
  result: EnsureAppendableResult;
  fields: HeaderFields;
}

function planEnsure(path: string, state: FileHeader): EnsurePlan {
  const { header } = state;
  const fields = { descr: header.descr, fortranOrder: header.fortranOrder, shape: header.shape };
  if (header.shape.length === 0) {
    throw new NpyShapeError(
      `Cannot make ${quote(path)} appendable: a 0-d array has no axis to grow along`,
      { path, actual: [] },
    );
  }
  if (mismatch(state)) {
    const actual = state.size - header.headerLength;
    throw new NpyRecoveryError(
      `Cannot make ${quote(path)} appendable: the data is ${actual} bytes but the header ` +
        `claims ${state.dataBytes}; recover it first (recover() or npy recover)`,
      { path, expectedBytes: state.dataBytes, actualBytes: actual },
    );
  }
  const changed = !hasGrowthRoom(header);
  return {
    state,
    fields,
    result: {
      changed,
      previousHeaderLength: header.headerLength,
      headerLength: changed ? encodeHeader(fields, { path }).length : header.headerLength,
    },
  };
}

/**
 * Gives a file without growth room (old NumPy, npyjs, other tools) NumPy's `np.save` header
 * for the same array, with room to grow and the data at a multiple of 64 bytes, so it can
 * be appended to in place. A file that already has room ({@link isAppendable}) is left
 * untouched. No other process may write to the file meanwhile.
 *
 * By default the file is streamed into a temp file beside it, flushed, atomically renamed
 * over the original and the directory flushed: a crash at any point leaves either the old
 * or the new file, never a broken one; an abort deletes the temp file. With `inPlace: true`
 * the data is shifted towards the end chunk by chunk, from the end, and the new header
 * written last: no second copy is needed, but a crash while shifting leaves a broken file
 * (an abort moves the shifted bytes back first).
 *
 * @param path The `.npy` file.
 * @param options `inPlace`, `onProgress`, `signal`, `bufferSize`, `maxHeaderSize`.
 * @returns Whether the file changed and its header length before and after.
 * @throws {NpyFormatError} When the header cannot be parsed.
 * @throws {NpyRecoveryError} When the data does not match the header (recover it first).
 * @throws {NpyShapeError} For a 0-d array, which cannot grow.
 * @throws {NpyLockError} When a live writer holds the file (see `lock`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { encodeHeader, ensureAppendable, isAppendableSync, loadNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "old.npy");
 * const fields = { descr: "<f8", fortranOrder: false, shape: [2] };
 * const header = encodeHeader(fields, { totalLength: 80 }); // old NumPy: 16-byte aligned
 * writeFileSync(path, Buffer.concat([header, new Uint8Array(new Float64Array([1, 2]).buffer)]));
 * assert.equal(isAppendableSync(path), false);
 * const result = await ensureAppendable(path);
 * assert.equal(result.changed, true);
 * assert.equal(isAppendableSync(path), true);
 * assert.deepEqual([...(loadNpySync(path).data as Float64Array)], [1, 2]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function ensureAppendable(
  path: string | URL,
  options: EnsureAppendableOptions = {},
): Promise<EnsureAppendableResult> {
  return runSteps(ensureSteps(path, options));
}

/** ensureAppendable() as steps: the lock, then the copy or the shift in place. */
function* ensureSteps(
  path: string | URL,
  options: EnsureAppendableOptions,
): Steps<EnsureAppendableResult> {
  path = toPath(path);
  const action = `make ${quote(path)} appendable`;
  checkOptionKeys(options, ENSURE_OPTIONS, action);
  const lock = lockFor(path, action, options);
  let done = false;
  try {
    const result = yield* ensureFileSteps(path, action, options);
    done = true;
    return result;
  } catch (e) {
    throw fileError(e, action, path);
  } finally {
    lock?.releaseSync(!done); // failed (a file to recover first): keep a dead writer's trace
  }
}

function* ensureFileSteps(
  path: string,
  action: string,
  options: EnsureAppendableOptions,
): Steps<EnsureAppendableResult> {
  const file = NpyFile.openSync(path, options.inPlace ? "r+" : "r");
  try {
    const plan = planEnsure(path, yield* readHeaderSteps(file, options.maxHeaderSize));
    if (!plan.result.changed) return plan.result;
    options.signal?.throwIfAborted();
    if (!options.inPlace) {
      yield* rewriteCopySteps(file, plan.state, plan.fields, plan.state.dataBytes, {
        ...options,
        action,
      });
      return plan.result;
    }
    const { from, to, length, buffer, header, progress, step } = prepareShift(
      path,
      action,
      plan,
      options,
    );
    if (to > from) file.truncateSync(to + length);
    try {
      yield* shiftSteps(file, from, to, length, buffer, progress, step);
    } catch (e) {
      const undo = undoOf(from, to, length, progress.moved);
      yield* shiftSteps(file, undo.from, undo.to, undo.length, buffer, { moved: 0 }, () => {});
      file.truncateSync(plan.state.size);
      throw e;
    }
    yield { write: file, bytes: header, position: 0 };
    if (to < from) file.truncateSync(to + length);
    file.fsyncSync();
    return plan.result;
  } finally {
    file.closeSync();
  }
}

/**
 * Sync twin of {@link ensureAppendable}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import {
 *   encodeHeader,
 *   ensureAppendableSync,
 *   loadNpySync,
 *   NpyAppendArray,
 * } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "old.npy");
 * const fields = { descr: "<f8", fortranOrder: false, shape: [0, 2] };
 * writeFileSync(path, encodeHeader(fields, { totalLength: 80 })); // old NumPy: no growth room
 * ensureAppendableSync(path);
 * {
 *   using w = NpyAppendArray.openSync(path);
 *   w.appendSync([[1, 2], [3, 4]]);
 * }
 * assert.deepEqual(loadNpySync(path).shape, [2, 2]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function ensureAppendableSync(
  path: string | URL,
  options: EnsureAppendableOptions = {},
): EnsureAppendableResult {
  return runStepsSync(ensureSteps(path, options));
}

function prepareShift(
  path: string,
  action: string,
  plan: EnsurePlan,
  options: EnsureAppendableOptions,
) {
  const header = encodeHeader(plan.fields, { path });
  const from = plan.state.header.headerLength;
  const to = header.length;
  const length = plan.state.dataBytes;
  const buffer = bufferFor(options, length, action);
  const progress = { moved: 0 };
  const step = (moved: number) => {
    options.onProgress?.({ bytesDone: moved, bytesTotal: length });
    if (moved < length) options.signal?.throwIfAborted();
  };
  return { from, to, length, buffer, header, progress, step };
}
