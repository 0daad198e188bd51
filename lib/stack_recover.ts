/**
 * Recovery of a stack whose writer stopped: {@link recoverStack}, and the adoption of the
 * shards it left unlisted that a writer reopening the stack does too (`onRecovery`).
 *
 * @module
 */

import { NpyFormatError, NpyRecoveryError, quote } from "./errors.ts";
import { fileSizeSync, joinPath, listDirSync, removeSync, toPath } from "./file.ts";
import { NpyReader } from "./reader.ts";
import type { DtypeRegistry } from "./registry.ts";
import { needsRecoverySync, recoverFileSync } from "./repair.ts";
import { hasCommitTrace, type WriterLock } from "./_lock.ts";
import { leftJournal, LOCK_NAME, shardPath, undoAppendSync } from "./_stack_journal.ts";
import {
  checkShard,
  lockStack,
  registryOf,
  requireLayout,
  shardHeader,
  shardRowsOf,
  type StackLayout,
} from "./_stack_layout.ts";
import { publishListing } from "./stack_listing.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";

/**
 * Adopts the unlisted shards of `layout` (recovering them as `how` says), once an append
 * across shards the writer left cut is undone (lib/_stack_journal.ts); returns them. The
 * writer's trace (its commit mark, its journal) is in the lock taken over, else (`lock`
 * undefined) in the lock file as it is.
 */
export function adoptUnlistedSync(
  layout: StackLayout,
  how: "error" | "truncate" | "zeroFill",
  registry: DtypeRegistry,
  lock: WriterLock | undefined,
): number[] {
  const trace = joinPath(layout.dir, LOCK_NAME);
  const committed = lock !== undefined ? lock.tookOverWriter : hasCommitTrace(trace);
  const journal = leftJournal(lock, trace);
  const { dir, shardRows, unlisted } = layout;
  const left = journal &&
    undoAppendSync(dir, journal, shardRows.length, unlisted, how === "error");
  if (journal !== undefined && left !== undefined && how === "error") {
    const path = shardPath(dir, journal.shard);
    throw new NpyRecoveryError(
      `Cannot complete the stack ${quote(dir)}: its writer stopped in an append across shards, ` +
        `from ${quote(path)} on (${LOCK_NAME}.lock records it); recoverStack(${quote(dir)}) or ` +
        `onRecovery "truncate" rolls the append back`,
      { path, expectedBytes: 0, actualBytes: 0 },
    );
  }
  if (left !== undefined) layout.unlisted = left;
  const adopted: number[] = [];
  for (const index of layout.unlisted) {
    const path = shardPath(layout.dir, index);
    if (index !== layout.shardRows.length) {
      throw new NpyFormatError(
        `Cannot complete the stack ${quote(layout.dir)}: its shard ${quote(path)} follows a ` +
          `gap (no ${layout.shardRows.length}.npy)`,
        { path },
      );
    }
    if (fileSizeSync(path) === 0) {
      // Created, and the writer stopped before its header was written: no rows in it.
      removeSync(path);
      continue;
    }
    if (needsRecoverySync(path)) {
      if (how === "error") {
        using r = NpyReader.openSync(path, { registry, allowTruncated: true });
        throw new NpyRecoveryError(
          `Cannot complete the stack ${quote(layout.dir)}: its last shard ${quote(path)} ` +
            `(left open by a writer that stopped) needs recovery; ` +
            `recoverStack(${quote(layout.dir)}) or onRecovery "truncate" adopts its complete rows`,
          { path, expectedBytes: r.rows * r.rowBytes, actualBytes: r.availableRows * r.rowBytes },
        );
      }
      recoverFileSync(path, { zeroFill: how === "zeroFill" }, committed);
    }
    const header = shardHeader(layout.dir, index, registry);
    checkShard(layout, index, header);
    layout.shardRows.push(shardRowsOf(header));
    adopted.push(index);
  }
  layout.unlisted = [];
  return adopted;
}

/**
 * Options of {@link recoverStack}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RecoverStackOptions } from "@npy/append-array";
 *
 * const options: RecoverStackOptions = { zeroFill: false, lock: true };
 * assert.equal(options.zeroFill, false);
 * ```
 */
export interface RecoverStackOptions {
  /**
   * Keep an incomplete last row of the open shard by filling it with zeros, instead of
   * dropping it (as `recover` does).
   * @default {false}
   */
  zeroFill?: boolean;
  /**
   * Take the stack's lock (a live writer makes this fail with `NpyLockError`).
   * @default {true}
   */
  lock?: boolean;
  /**
   * Where the codecs for the stack's descr come from.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
}

/**
 * What {@link recoverStack} did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RecoverStackResult } from "@npy/append-array";
 *
 * const result: RecoverStackResult = { rows: 7, shardRows: [4, 3], adopted: [1] };
 * assert.deepEqual(result.adopted, [1]);
 * ```
 */
export interface RecoverStackResult {
  /** Rows of the stack now. */
  rows: number;
  /** Rows of each listed shard now. */
  shardRows: number[];
  /** The shards adopted into the listing (left open by a writer that stopped). */
  adopted: number[];
}

/**
 * Completes a stack whose writer stopped (a crash, a kill): an append across shards it was
 * making (journaled in `stack.lock`) is undone, the shard it started in cut back to the
 * rows it had and the shards after it removed; then the shard left open is recovered as
 * `recover` does (its complete rows kept, a partial last row dropped or zero-filled) and
 * listed in `info` and `stack.json`, so Dask sees its rows too. Also
 * adopts the shards of a writer that crashed before its first shard closed (no listing
 * yet). A stack with nothing to adopt is left unchanged.
 *
 * @param dir The stack's directory: a path or a `file:` URL.
 * @param options `zeroFill`, `lock`, `registry`.
 * @returns The stack's rows, shard rows and the shards adopted.
 * @throws {NpyLockError} When a live writer holds the stack.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyAppendArray, recoverStack, NpyStackWriter } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * NpyStackWriter.openSync(dir, { descr: "<f8", shape: [], shardRows: 2 }).closeSync();
 * // What a writer killed mid-shard leaves: a shard 1.npy that no listing holds yet.
 * const open = NpyAppendArray.openSync(join(dir, "1.npy"), { descr: "<f8", shape: [] });
 * open.appendSync([1.5]);
 * open.closeSync();
 * assert.deepEqual(await recoverStack(dir), { rows: 1, shardRows: [0, 1], adopted: [1] });
 * rmSync(dir, { recursive: true });
 * ```
 */
export function recoverStack(
  dir: string | URL,
  options: RecoverStackOptions = {},
): Promise<RecoverStackResult> {
  return new Promise((resolve) => resolve(recoverStackSync(dir, options)));
}

const RECOVER_OPTIONS = {
  zeroFill: true,
  lock: true,
  registry: true,
} as const satisfies OptionKeys<RecoverStackOptions>;

/**
 * Sync twin of {@link recoverStack}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyStackWriter, recoverStackSync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * NpyStackWriter.openSync(dir, { descr: "<f8", shape: [] }).closeSync();
 * assert.deepEqual(recoverStackSync(dir), { rows: 0, shardRows: [0], adopted: [] });
 * rmSync(dir, { recursive: true });
 * ```
 */
export function recoverStackSync(
  dir: string | URL,
  options: RecoverStackOptions = {},
): RecoverStackResult {
  dir = toPath(dir);
  checkOptionKeys(options, RECOVER_OPTIONS, `recover the stack ${quote(dir)}`);
  const registry = registryOf(options);
  if (listDirSync(dir) === undefined) requireLayout(dir, registry, "recover the stack");
  const lock = lockStack(dir, `recover the stack ${quote(dir)}`, options.lock);
  let done = false;
  try {
    const layout = requireLayout(dir, registry, "recover the stack");
    const how = options.zeroFill ? "zeroFill" : "truncate";
    const adopted = adoptUnlistedSync(layout, how, registry, lock);
    if (adopted.length > 0) publishListing(layout);
    done = true;
    return {
      rows: layout.shardRows.reduce((a, b) => a + b, 0),
      shardRows: layout.shardRows,
      adopted,
    };
  } finally {
    lock?.releaseSync(!done); // failed: put a dead writer's trace back
  }
}
