/**
 * {@link mergeStacks}: stacks of separate producers joined into one by hard-linking (or
 * moving) their shards under new numbers: no data is copied.
 *
 * @module
 */

import { descrEquals } from "./descr.ts";
import { NpyDtypeError, NpyIOError, NpyRecoveryError, NpyShapeError, quote } from "./errors.ts";
import {
  isDirectorySync,
  linkSync,
  listDirSync,
  makeDirSync,
  publishSync,
  realPathSync,
  removeSync,
  toPath,
} from "./file.ts";
import type { DtypeRegistry } from "./registry.ts";
import type { WriterLock } from "./_lock.ts";
import { shardPath } from "./_stack_journal.ts";
import { lockStack, registryOf, requireLayout, type StackLayout } from "./_stack_layout.ts";
import { sameShape } from "./header.ts";
import { holdsStackFiles, publishListing, removeListing } from "./stack_listing.ts";
import { shapeText } from "./_chunk.ts";
import { descrText } from "./registry.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";

/**
 * Options of {@link mergeStacks}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync, mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { type MergeStacksOptions, mergeStacksSync, NpyStackWriter } from "@npy/append-array";
 *
 * const root = mkdtempSync(join(tmpdir(), "npy-"));
 * const w = NpyStackWriter.openSync(join(root, "a"), { descr: "<u1", shape: [] });
 * w.appendSync(Uint8Array.of(1, 2));
 * w.closeSync();
 * const options: MergeStacksOptions = { move: true }; // move the shards
 * mergeStacksSync(join(root, "all"), [join(root, "a")], options);
 * assert.equal(existsSync(join(root, "a", "0.npy")), false);
 * assert.equal(existsSync(join(root, "all", "0.npy")), true);
 * rmSync(root, { recursive: true });
 * ```
 */
export interface MergeStacksOptions {
  /**
   * Move the input shards into `outDir` (the inputs are left without shards) instead of
   * hard-linking them (the inputs stay intact and share the shards' data).
   * @default {false}
   */
  move?: boolean;
  /**
   * Take the lock of every input stack and of `outDir` while merging, so that no writer
   * changes them meanwhile.
   * @default {true}
   */
  lock?: boolean;
  /**
   * Where the codecs for the stacks' descr come from.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
}

/**
 * What {@link mergeStacks} made.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MergeStacksResult } from "@npy/append-array";
 *
 * const result: MergeStacksResult = { rows: 5, shardRows: [3, 2] };
 * assert.equal(result.shardRows.reduce((a, b) => a + b), result.rows);
 * ```
 */
export interface MergeStacksResult {
  /** Rows of the merged stack. */
  rows: number;
  /** Rows of each of its shards, in order. */
  shardRows: number[];
}

/**
 * Joins stacks written by separate producers into one stack in `outDir`: the shards of
 * `dirs[0]` first, then those of `dirs[1]`, …, hard-linked (or moved, `move`) into
 * `outDir` as `0.npy`, `1.npy`, … with a new `info` and `stack.json`. No data is copied, so
 * every stack must be on one file system. Everything is checked first: descr, order and row
 * shape must agree, and no input may have a shard a writer left open; otherwise a typed
 * error is thrown and nothing changes.
 *
 * @param outDir The merged stack's directory (path or `file:` URL): new, or holding no stack.
 * @param dirs The input stacks, in order (paths or `file:` URLs).
 * @param options `move`, `lock`, `registry`.
 * @returns The merged stack's rows and shard rows.
 * @throws {NpyDtypeError} When the stacks' descrs differ.
 * @throws {NpyShapeError} When their row shapes (or orders) differ.
 * @throws {NpyRecoveryError} When an input has an unlisted shard (run `recoverStack`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { mergeStacks, NpyDtypeError, NpyStackReader, NpyStackWriter } from "@npy/append-array";
 *
 * const root = mkdtempSync(join(tmpdir(), "npy-"));
 * for (const [name, first] of [["a", 0], ["b", 10]] as const) {
 *   await using w = await NpyStackWriter.open(join(root, name), { descr: "<i8", shape: [] });
 *   await w.append([first, first + 1]);
 * }
 * const result = await mergeStacks(join(root, "all"), [join(root, "a"), join(root, "b")]);
 * assert.deepEqual(result, { rows: 4, shardRows: [2, 2] });
 * using r = NpyStackReader.openSync(join(root, "all"));
 * assert.deepEqual(r.readSync().data, BigInt64Array.of(0n, 1n, 10n, 11n));
 *
 * const f = NpyStackWriter.openSync(join(root, "f"), { descr: "<f8", shape: [] });
 * f.closeSync();
 * await assert.rejects(mergeStacks(join(root, "bad"), [join(root, "a"), join(root, "f")]), NpyDtypeError);
 * rmSync(root, { recursive: true });
 * ```
 */
export function mergeStacks(
  outDir: string | URL,
  dirs: readonly (string | URL)[],
  options: MergeStacksOptions = {},
): Promise<MergeStacksResult> {
  return new Promise((resolve) => resolve(mergeStacksSync(outDir, dirs, options)));
}

const MERGE_OPTIONS = {
  move: true,
  lock: true,
  registry: true,
} as const satisfies OptionKeys<MergeStacksOptions>;

/**
 * Sync twin of {@link mergeStacks}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { mergeStacksSync, NpyShapeError, NpyStackWriter } from "@npy/append-array";
 *
 * const root = mkdtempSync(join(tmpdir(), "npy-"));
 * NpyStackWriter.openSync(join(root, "a"), { descr: "<f4", shape: [2] }).closeSync();
 * NpyStackWriter.openSync(join(root, "b"), { descr: "<f4", shape: [3] }).closeSync();
 * assert.throws(() => mergeStacksSync(join(root, "ab"), [join(root, "a"), join(root, "b")]), NpyShapeError);
 * rmSync(root, { recursive: true });
 * ```
 */
export function mergeStacksSync(
  outDir: string | URL,
  dirs: readonly (string | URL)[],
  options: MergeStacksOptions = {},
): MergeStacksResult {
  outDir = toPath(outDir);
  const inputs = dirs.map(toPath);
  const action = `merge into ${quote(outDir)}`;
  checkOptionKeys(options, MERGE_OPTIONS, action);
  const registry = registryOf(options);
  const locks: WriterLock[] = [];
  let merged = false;
  try {
    // 1. Check everything; nothing is written before all inputs agree.
    const seen = new Map<string, string>();
    const outReal = realPathSync(outDir);
    const layouts: StackLayout[] = [];
    for (const dir of inputs) {
      const real = realPathSync(dir) ?? dir;
      if (seen.has(real)) {
        throw new Error(`Cannot ${action}: the stack ${quote(dir)} is given twice`);
      }
      if (real === outReal) {
        throw new Error(`Cannot ${action}: it is one of the inputs; merge into a new directory`);
      }
      seen.set(real, dir);
      if (listDirSync(dir) === undefined) requireLayout(dir, registry, `${action} from the stack`);
      const lock = lockStack(dir, `${action} from the stack ${quote(dir)}`, options.lock);
      if (lock) locks.push(lock);
      layouts.push(requireLayout(dir, registry, `${action} from the stack`));
    }
    const base = layouts[0];
    if (base === undefined) throw new RangeError(`Cannot ${action}: no input stacks given`);
    for (const layout of layouts) {
      const against = `Cannot ${action}: the stack ${quote(layout.dir)}`;
      const [unlisted] = layout.unlisted;
      if (unlisted !== undefined) {
        const path = shardPath(layout.dir, unlisted);
        throw new NpyRecoveryError(
          `${against} has a shard ${quote(path)} that no listing holds (its writer is running ` +
            `or crashed); close the writer or run recoverStack(${quote(layout.dir)}) first`,
          { path, expectedBytes: 0, actualBytes: 0 },
        );
      }
      if (!descrEquals(layout.descr, base.descr)) {
        throw new NpyDtypeError(
          `${against} has descr ${descrText(layout.descr)}, but ${quote(base.dir)} has ` +
            descrText(base.descr),
          { path: layout.dir, descr: layout.descr },
        );
      }
      if (layout.fortranOrder !== base.fortranOrder || !sameShape(layout.rowShape, base.rowShape)) {
        const text = (l: StackLayout) =>
          `rows of shape ${shapeText(l.rowShape)}${l.fortranOrder ? " (Fortran order)" : ""}`;
        throw new NpyShapeError(
          `${against} has ${text(layout)}, but ${quote(base.dir)} has ${text(base)}`,
          { path: layout.dir, expected: base.rowShape, actual: layout.rowShape },
        );
      }
    }
    if (isDirectorySync(outDir)) {
      const names = listDirSync(outDir) ?? [];
      if (holdsStackFiles(names)) {
        throw new NpyIOError(
          `Cannot ${action}: it holds a stack already; merge into a new directory`,
          { code: "EEXIST", path: outDir },
        );
      }
    }
    // 2. Link (or move) the shards, undoing it all if one fails.
    makeDirSync(outDir);
    const outLock = lockStack(outDir, action, options.lock);
    if (outLock) locks.push(outLock);
    const shardRows: number[] = [];
    const done: Array<[from: string, to: string]> = [];
    try {
      for (const layout of layouts) {
        layout.shardRows.forEach((rows, i) => {
          const from = shardPath(layout.dir, i);
          const to = shardPath(outDir, shardRows.length);
          if (options.move) publishSync(from, to, false);
          else linkSync(from, to);
          done.push([from, to]);
          shardRows.push(rows);
        });
      }
      publishListing({ ...base, dir: outDir, shardRows });
    } catch (e) {
      for (const [from, to] of done.reverse()) {
        if (options.move) publishSync(to, from, false);
        else removeSync(to);
      }
      removeListing(outDir);
      const code = (e as { code?: string }).code;
      if (code === "EXDEV") {
        throw new NpyIOError(
          `Cannot ${action}: the stacks are on different file systems, where shards can be ` +
            `neither linked nor moved (npy concat copies them into one file)`,
          { code, path: outDir, cause: e },
        );
      }
      throw e;
    }
    // 3. Moved inputs hold no shards any more: their listings go.
    if (options.move) {
      for (const layout of layouts) removeListing(layout.dir);
    }
    merged = true;
    return { rows: shardRows.reduce((a, b) => a + b, 0), shardRows };
  } finally {
    // Refused (a stack to recover first): a dead writer's lock record goes back.
    for (const lock of locks.reverse()) lock.releaseSync(!merged);
  }
}
