/**
 * Repairing `.npy` files: {@link recover} makes a file that a crash or a cut download left
 * behind load again, {@link ensureAppendable} gives a file without growth room (old NumPy,
 * other tools) a header that can be rewritten in place, and {@link isAppendable} /
 * {@link needsRecovery} tell whether either is needed. Each has a `Sync` twin.
 *
 * @module
 */

import {
  NpyFormatError,
  NpyHeaderSpaceError,
  NpyRecoveryError,
  NpyShapeError,
  quote,
} from "./errors.ts";
import { hasCommitTrace, WriterLock } from "./_lock.ts";
import { fileError, NpyFile, replaceSteps, toPath } from "./file.ts";
import { copySteps, runSteps, runStepsSync, type Steps } from "./_steps.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import {
  dataByteLength,
  encodeHeader,
  growthAxis,
  hasGrowthRoom,
  type HeaderFields,
} from "./header.ts";
// Importers that still take it from here (writer, CLI): its home is the header module.
export { hasGrowthRoom } from "./header.ts";
import {
  type FileHeader,
  numberShaped,
  readHeaderSteps,
  rowBytesOf,
  rowsOf,
  truncatedError,
} from "./_header_io.ts";

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
 * Options of {@link recover}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, truncateSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, type RecoverOptions, recoverSync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, { data: new Float32Array(12), shape: [4, 3] });
 * truncateSync(path, 128 + 30); // two rows and half of the third
 * const options: RecoverOptions = { zeroFill: true }; // keep the half row, zero-filled
 * assert.deepEqual(recoverSync(path, options), { rows: 3, droppedBytes: 0, addedBytes: 6 });
 * assert.deepEqual(loadNpySync(path).shape, [3, 3]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface RecoverOptions extends RepairOptions {
  /**
   * Take the file's writer lock (`<path>.lock`, as `NpyAppendArray` does) while repairing,
   * so that a live writer, in any process, makes this fail with an `NpyLockError` naming
   * it rather than both changing the file. `false` where the lock file cannot be created.
   * @default {true}
   */
  lock?: boolean;

  /**
   * Keep an incomplete last row by filling its missing bytes with zeros, instead of
   * dropping it. (A file this library's writer left is rolled back to its header instead:
   * bytes past it are an append cut whole.)
   * @default {false}
   */
  zeroFill?: boolean;

  /**
   * Only work out what would be done: the result is the same, and nothing is written.
   * @default {false}
   */
  dryRun?: boolean;
}

/**
 * What {@link recover} did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, type RecoverResult, recoverSync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, Float64Array.of(1, 2));
 * appendFileSync(path, new Uint8Array(Float64Array.of(3).buffer)); // header not rewritten
 * const result: RecoverResult = recoverSync(path);
 * assert.deepEqual(result, { rows: 3, droppedBytes: 0, addedBytes: 0 });
 * assert.deepEqual(loadNpySync(path).data, Float64Array.of(1, 2, 3));
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface RecoverResult {
  /** Rows along the growth axis now (1 for a 0-d array). */
  rows: number;
  /** Bytes cut from the end of the file (an incomplete row, bytes past the data). */
  droppedBytes: number;
  /** Zero bytes added to complete the last row (`zeroFill`). */
  addedBytes: number;
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

const REPAIR_OPTIONS = { maxHeaderSize: true } as const satisfies OptionKeys<RepairOptions>;
const RECOVER_OPTIONS = {
  ...REPAIR_OPTIONS,
  lock: true,
  zeroFill: true,
  dryRun: true,
} as const satisfies OptionKeys<RecoverOptions>;
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
function* checkSteps(
  path: string | URL,
  options: RepairOptions,
  ask: (path: string, state: FileHeader) => boolean,
): Steps<boolean> {
  path = toPath(path);
  checkOptionKeys(options, REPAIR_OPTIONS, `check ${quote(path)}`);
  return ask(path, yield* headerSteps(path, options));
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

/** Takes the writer lock for a repair, unless `options.lock` is `false`. */
function lockFor(
  path: string,
  action: string,
  options: { lock?: boolean },
): WriterLock | undefined {
  if (options.lock === false) return undefined;
  return WriterLock.acquireSync(path, action);
}

function mismatch(s: FileHeader): boolean {
  return s.size - s.header.headerLength !== s.dataBytes;
}

/** Whether {@link recover} would change the file: its plan is not a no-op. */
function recoveryNeeded(path: string, s: FileHeader): boolean {
  try {
    return !planRecover(path, s, false, hasCommitTrace(path)).noop;
  } catch (e) {
    if (e instanceof NpyRecoveryError) return true; // a cut 0-d element: zeroFill repairs it
    throw e;
  }
}

/**
 * Whether the file's data length differs from what its header's shape needs (shorter: a
 * cut download or a crash; longer: rows written but the header not yet rewritten).
 * {@link recover} fixes it.
 *
 * @param path The `.npy` file.
 * @param options `maxHeaderSize`.
 * @returns `true` when the data length does not match the header.
 * @throws {NpyFormatError} When the header cannot be parsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, truncateSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { needsRecovery, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, new Float64Array(4));
 * assert.equal(await needsRecovery(path), false);
 * truncateSync(path, 128 + 20);
 * assert.equal(await needsRecovery(path), true);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function needsRecovery(
  path: string | URL,
  options: RepairOptions = {},
): Promise<boolean> {
  return runSteps(checkSteps(path, options, recoveryNeeded));
}

/**
 * Sync twin of {@link needsRecovery}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { needsRecoverySync, recoverSync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, new Float64Array(2));
 * assert.equal(needsRecoverySync(path), false);
 * appendFileSync(path, new Uint8Array(8)); // a row written, the header not yet rewritten
 * assert.equal(needsRecoverySync(path), true);
 * recoverSync(path);
 * assert.equal(needsRecoverySync(path), false);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function needsRecoverySync(path: string | URL, options: RepairOptions = {}): boolean {
  return runStepsSync(checkSteps(path, options, recoveryNeeded));
}

interface RecoverPlan {
  result: RecoverResult;
  /** Final file size with the current header. */
  finalSize: number;
  /** New fields, when the shape changes. */
  fields: HeaderFields | undefined;
  /** The header rewritten at the old length; undefined when it does not fit there. */
  inPlace: Uint8Array | undefined;
  /** Nothing to do. */
  noop: boolean;
}

/**
 * The one plan of a recovery, which `recover`, its dry run, `needsRecovery`, the writer's
 * `onRecovery` and `npy info` all follow. `committed`: the file was being written by this
 * library's writer (its lock file says so), whose header is the commit record: bytes past
 * the rows it claims are an append a crash cut, rolled back whole. Otherwise (other tools,
 * or a header claiming more than the file holds) the rows are inferred from the size.
 * `commitRows`: the rows of the last commit when they are not the header's (a stack shard an
 * append across shards was cut in, see lib/_stack_journal.ts).
 */
function planRecover(
  path: string,
  s: FileHeader,
  zeroFill: boolean,
  committed: boolean,
  commitRows?: number,
): RecoverPlan {
  const { header, size } = s;
  const dataLength = size - header.headerLength;
  const rowBytes = rowBytesOf(header);
  const oldRows = rowsOf(header);
  const commitBytes = commitRows === undefined ? s.dataBytes : commitRows * rowBytes;
  let rows = oldRows, keep: number, added = 0;
  if (committed && dataLength >= commitBytes) {
    keep = commitBytes; // back to the last commit: never part of an append
    rows = commitRows ?? oldRows;
  } else if (header.shape.length === 0 || rowBytes === 0) {
    // No rows to infer: the data must be exactly what the header says.
    keep = Math.min(dataLength, s.dataBytes);
    if (keep < s.dataBytes) {
      if (!zeroFill) {
        throw new NpyRecoveryError(
          `Cannot recover ${quote(path)}: the only element of this 0-d array is cut ` +
            `(${dataLength} of ${s.dataBytes} bytes); pass { zeroFill: true } to fill it`,
          { path, expectedBytes: s.dataBytes, actualBytes: dataLength },
        );
      }
      added = s.dataBytes - keep;
    }
  } else {
    rows = Math.floor(dataLength / rowBytes);
    keep = rows * rowBytes;
    if (zeroFill && keep < dataLength) {
      rows += 1;
      keep = dataLength;
      added = rows * rowBytes - dataLength;
    }
  }
  const result = { rows, droppedBytes: dataLength - keep, addedBytes: added };
  const finalSize = header.headerLength + keep + added;
  let fields: HeaderFields | undefined;
  let inPlace: Uint8Array | undefined;
  if (rows !== oldRows) {
    const shape = [...header.shape];
    shape[growthAxis(header)] = rows;
    fields = { descr: header.descr, fortranOrder: header.fortranOrder, shape };
    try {
      inPlace = encodeHeader(fields, {
        version: header.version,
        totalLength: header.headerLength,
        path,
      });
    } catch (e) {
      if (!(e instanceof NpyHeaderSpaceError || e instanceof NpyFormatError)) throw e;
    }
  }
  return { result, finalSize, fields, inPlace, noop: fields === undefined && finalSize === size };
}

/**
 * Makes a file that a crash or a cut download left behind load again. A file this library's
 * writer was writing (its `<path>.lock` is still there, left by the dead writer) is rolled
 * back to its last commit, the header: the bytes past the rows it claims are an append the
 * crash cut, dropped whole, so never part of an append is kept. Any other file (other tools,
 * a writer opened with `lock: false`, and a header claiming more than the file holds, as a
 * power loss may leave): the row count is inferred from the file size, the incomplete last
 * row dropped (or, with `zeroFill`, completed with zeros) with any bytes past it, and the
 * header rewritten in place with the new shape.
 *
 * Order of writes: when the file grows (`zeroFill`) the zeros are written and flushed before
 * the header; otherwise the header is written and flushed before the file is cut. Either
 * way a crash part-way leaves a file that `recover` handles again, and after the header
 * write NumPy loads it. When a header without growth room cannot hold the new row count
 * (more digits), the file is rewritten with NumPy's header into a temp file and renamed
 * over the original, as {@link ensureAppendable} does. Nothing is written when the header
 * cannot be parsed, nor when the file needs no repair.
 *
 * @param path The `.npy` file.
 * @param options `zeroFill`, `maxHeaderSize`.
 * @returns The row count now and the bytes dropped or added.
 * @throws {NpyFormatError} When the header cannot be parsed (nothing is written).
 * @throws {NpyRecoveryError} When the element of a 0-d array is cut and `zeroFill` is off.
 * @throws {NpyLockError} When a live writer holds the file (see `lock`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, truncateSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, recover, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, { data: new Float32Array(12), shape: [4, 3] });
 * truncateSync(path, 128 + 30); // two rows and half of the third
 * assert.deepEqual(await recover(path), { rows: 2, droppedBytes: 6, addedBytes: 0 });
 * assert.deepEqual(loadNpySync(path).shape, [2, 3]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export function recover(
  path: string | URL,
  options: RecoverOptions = {},
): Promise<RecoverResult> {
  return runSteps(recoverSteps(path, options));
}

/** recover() as steps: the lock, then {@link recoverFileSteps}. */
function* recoverSteps(path: string | URL, options: RecoverOptions): Steps<RecoverResult> {
  path = toPath(path);
  checkOptionKeys(options, RECOVER_OPTIONS, `recover ${quote(path)}`);
  const action = `recover ${quote(path)}`;
  // A dry run writes nothing, the lock file included.
  const lock = options.dryRun ? undefined : lockFor(path, action, options);
  let done = false;
  try {
    // Our own lock replaced a dead writer's: what it took over tells. Without one (a dry
    // run, lock: false), the lock file as it is.
    const committed = lock !== undefined ? lock.tookOverWriter : hasCommitTrace(path);
    const result = yield* recoverFileSteps(path, options, committed);
    done = true;
    return result;
  } catch (e) {
    throw fileError(e, action, path);
  } finally {
    lock?.releaseSync(!done); // failed: put a dead writer's trace back
  }
}

/**
 * The recovery of a file whose lock the caller holds, as steps. `committed`: see
 * {@link planRecover}.
 */
function* recoverFileSteps(
  path: string,
  options: RecoverOptions,
  committed: boolean,
  commitRows?: number,
): Steps<RecoverResult> {
  const { zeroFill = false } = options;
  let file = NpyFile.openSync(path, "r");
  try {
    const state = yield* readHeaderSteps(file, options.maxHeaderSize);
    const plan = planRecover(path, state, zeroFill, committed, commitRows);
    if (plan.noop || options.dryRun) return plan.result;
    if (plan.fields !== undefined && plan.inPlace === undefined) {
      const keep = plan.finalSize - plan.result.addedBytes - state.header.headerLength;
      yield* rewriteCopySteps(file, state, plan.fields, keep, { action: `recover ${quote(path)}` });
      return plan.result;
    }
    file.closeSync();
    file = NpyFile.openSync(path, "r+");
    if (plan.result.addedBytes > 0) {
      file.truncateSync(plan.finalSize);
      file.datasyncSync();
      if (plan.inPlace) yield { write: file, bytes: plan.inPlace, position: 0 };
    } else {
      if (plan.inPlace) {
        yield { write: file, bytes: plan.inPlace, position: 0 };
        file.datasyncSync();
      }
      file.truncateSync(plan.finalSize);
    }
    file.fsyncSync();
    return plan.result;
  } finally {
    file.closeSync();
  }
}

/**
 * Sync twin of {@link recover}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, truncateSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, recoverSync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, Int16Array.of(1, 2, 3, 4));
 * truncateSync(path, 128 + 5); // two whole values and half of the third
 * assert.deepEqual(recoverSync(path), { rows: 2, droppedBytes: 1, addedBytes: 0 });
 * assert.deepEqual(loadNpySync(path).data, Int16Array.of(1, 2));
 * rmSync(dir, { recursive: true });
 * ```
 */
export function recoverSync(path: string | URL, options: RecoverOptions = {}): RecoverResult {
  return runStepsSync(recoverSteps(path, options));
}

/**
 * Internal: {@link recoverSync} without the lock, for a caller that holds it (the writer's
 * `onRecovery`). `committed`, `commitRows`: see {@link planRecover}.
 */
export function recoverFileSync(
  path: string,
  options: RecoverOptions,
  committed: boolean,
  commitRows?: number,
): RecoverResult {
  return runStepsSync(recoverFileSteps(path, options, committed, commitRows));
}

interface CopyOptions {
  /** What the copy is for, in errors: `recover "a.npy"`. */
  action: string;
  onProgress?: (progress: RepairProgress) => void;
  signal?: AbortSignal;
  bufferSize?: number;
}

function bufferFor(options: { bufferSize?: number }, total: number): Uint8Array {
  const size = options.bufferSize ?? BUFFER_SIZE;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`Cannot repair: bufferSize must be a positive integer, not ${size}`);
  }
  return new Uint8Array(Math.max(1, Math.min(size, total)));
}

/**
 * Replaces `src`'s file atomically ({@link replaceSteps}; the caller holds the lock) with
 * `header` then `keep` data bytes of `src` (zero-extended to the new shape's size). On any
 * error or abort the temp file is removed and the original is untouched. Closes `src`.
 */
function* rewriteCopySteps(
  src: NpyFile,
  state: FileHeader,
  fields: HeaderFields,
  keep: number,
  options: CopyOptions,
): Steps<Uint8Array> {
  const path = src.path;
  const header = encodeHeader(fields, { path });
  const replace = { action: options.action, lock: false };
  yield* replaceSteps(path, replace, function* (out) {
    yield { write: out, bytes: header, position: 0 };
    yield* copySteps(
      src,
      state.header.headerLength,
      out,
      header.length,
      keep,
      bufferFor(options, keep),
      {
        signal: options.signal,
        onProgress: (done) => options.onProgress?.({ bytesDone: done, bytesTotal: keep }),
        short: (done) => truncatedError(path, "copy", keep, done),
      },
    );
    out.truncateSync(header.length + dataByteLength(fields));
    src.closeSync();
  });
  return header;
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
  checkOptionKeys(options, ENSURE_OPTIONS, `make ${quote(path)} appendable`);
  const action = `make ${quote(path)} appendable`;
  const lock = lockFor(path, action, options);
  let done = false;
  try {
    const result = yield* ensureFileSteps(path, options);
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
        action: `make ${quote(path)} appendable`,
      });
      return plan.result;
    }
    const { from, to, length, buffer, header, progress, step } = prepareShift(path, plan, options);
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

function prepareShift(path: string, plan: EnsurePlan, options: EnsureAppendableOptions) {
  const header = encodeHeader(plan.fields, { path });
  const from = plan.state.header.headerLength;
  const to = header.length;
  const length = plan.state.dataBytes;
  const buffer = bufferFor(options, length);
  const progress = { moved: 0 };
  const step = (moved: number) => {
    options.onProgress?.({ bytesDone: moved, bytesTotal: length });
    if (moved < length) options.signal?.throwIfAborted();
  };
  return { from, to, length, buffer, header, progress, step };
}
