/**
 * {@link recover}: making a file that a crash or a cut download left behind load again, and
 * {@link needsRecovery}: whether a file needs it. One plan ({@link planRecover}) serves both,
 * the writer's `onRecovery` and `npy info`.
 *
 * @module
 */

import { NpyFormatError, NpyHeaderSpaceError, NpyRecoveryError, quote } from "./errors.ts";
import { hasCommitTrace } from "./_lock.ts";
import { fileError, NpyFile, toPath } from "./file.ts";
import { runSteps, runStepsSync, type Steps } from "./_steps.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import {
  encodeHeader,
  type HeaderFields,
  rowByteLength,
  rowCountOf,
  rowShapeOf,
  shapeWithRows,
} from "./header.ts";
import { type FileHeader, readHeaderSteps } from "./_header_io.ts";
import {
  checkSteps,
  lockFor,
  REPAIR_OPTIONS,
  type RepairOptions,
  rewriteCopySteps,
} from "./_repair_steps.ts";

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

const RECOVER_OPTIONS = {
  ...REPAIR_OPTIONS,
  lock: true,
  zeroFill: true,
  dryRun: true,
} as const satisfies OptionKeys<RecoverOptions>;

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
  const { fortranOrder } = header;
  const rowBytes = rowByteLength(header);
  const oldRows = rowCountOf(header.shape, fortranOrder) ?? 1; // a 0-d array: its one element
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
    const shape = shapeWithRows(rowShapeOf(header.shape, fortranOrder), rows, fortranOrder);
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
  const action = `recover ${quote(path)}`;
  checkOptionKeys(options, RECOVER_OPTIONS, action);
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
