/**
 * The options of {@link NpyStackWriter}: their type, their checks, and how they bear on an
 * existing stack and on each shard's `NpyAppendArray`.
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import { NpyDtypeError, NpyFormatError, NpyShapeError, quote } from "./errors.ts";
import type { Dtype, DtypeRegistry } from "./registry.ts";
import type { NpyAppendArrayOptions } from "./writer.ts";
import { sameShape } from "./header.ts";
import type { StackListing } from "./stack_listing.ts";
import { shapeText } from "./_chunk.ts";
import { descrText } from "./registry.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";

/**
 * The default shard size of {@link NpyStackWriter}: 1 GiB of data, in whole rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { DEFAULT_SHARD_BYTES, NpyStackWriter } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const w = NpyStackWriter.openSync(dir, { descr: "<f8", shape: [1000] }); // 8000-byte rows
 * assert.equal(w.rowsPerShard, Math.floor(DEFAULT_SHARD_BYTES / 8000));
 * w.closeSync();
 * rmSync(dir, { recursive: true });
 * ```
 */
export const DEFAULT_SHARD_BYTES: number = 1 << 30;

/**
 * Options of {@link NpyStackWriter.open}: the stack's own, and those of `NpyAppendArray`
 * that apply to every shard.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readdirSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyStackWriter, type NpyStackWriterOptions } from "@npy/append-array";
 *
 * const dir = join(mkdtempSync(join(tmpdir(), "npy-")), "stack");
 * const options: NpyStackWriterOptions = {
 *   mode: "create",
 *   descr: "<f4",
 *   shape: [3], // rows of 3 floats
 *   shardRows: 2, // a new shard every 2 rows
 * };
 * const w = await NpyStackWriter.open(dir, options);
 * await w.append(new Float32Array(5 * 3)); // 5 rows: shards of 2, 2 and 1
 * await w.close();
 * assert.deepEqual(w.shardRows, [2, 2, 1]);
 * assert.deepEqual(readdirSync(dir).sort(), ["0.npy", "1.npy", "2.npy", "info", "stack.json"]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyStackWriterOptions extends
  Pick<
    NpyAppendArrayOptions,
    | "registry"
    | "casting"
    | "rewriteHeaderOnAppend"
    | "durability"
    | "bufferSize"
    | "maxHeaderSize"
    | "flushInterval"
  > {
  /**
   * `"append"`: add shards to the stack in `dir` if there is one (new rows go into new
   * shards; closed shards are never changed), else create it. `"create"`: fail if `dir`
   * holds a stack. `"overwrite"`: remove the stack in `dir` (its shards, `info`,
   * `stack.json`) and start a fresh one.
   * @default {"append"}
   */
  mode?: "append" | "create" | "overwrite";
  /**
   * The dtype, e.g. `"<f4"` or `[["t", "<i8"], ["xy", "<f4", [2]]]`. By default the first
   * chunk decides; for an existing stack it must match.
   * @default {undefined}
   */
  descr?: Descr;
  /**
   * The row shape (`[3, 4]` for rows of 3×4). By default the first chunk decides; for an
   * existing stack it must match.
   * @default {undefined}
   */
  shape?: readonly number[];
  /**
   * Write Fortran-order shards. They grow along their last axis, so the stack is stacked
   * along the last axis too (Dask's `axis` is `len(shape)`); chunks are given as
   * `NpyAppendArray` takes them in Fortran order.
   * @default {false}
   */
  fortranOrder?: boolean;
  /**
   * Rows per shard: a shard is closed (and listed in `info` once the append that filled it
   * is complete) when it holds this many. Takes precedence over `shardBytes`.
   * @default {undefined}
   */
  shardRows?: number;
  /**
   * Data bytes per shard, rounded down to whole rows (at least one row per shard).
   * @default {DEFAULT_SHARD_BYTES (1 GiB)}
   */
  shardBytes?: number;
  /**
   * Take the stack's single-writer lock (`dir/stack.lock`), as `NpyAppendArray` locks a
   * file: a second writer of the same stack gets an `NpyLockError`.
   * @default {true}
   */
  lock?: boolean;
  /**
   * In mode `"append"`, what to do with a shard a crashed writer left open (present but not
   * listed): it is adopted when its data matches its header; otherwise `"error"` throws
   * `NpyRecoveryError`, `"truncate"` keeps its complete rows, `"zeroFill"` completes a
   * partial last row with zeros. An append across shards the crash cut (`stack.lock` keeps
   * its journal) is undone whole, except with `"error"`, which throws instead.
   * @default {"error"}
   */
  onRecovery?: "error" | "truncate" | "zeroFill";
}

const WRITER_OPTIONS = {
  mode: true,
  descr: true,
  shape: true,
  fortranOrder: true,
  shardRows: true,
  shardBytes: true,
  lock: true,
  onRecovery: true,
  registry: true,
  casting: true,
  rewriteHeaderOnAppend: true,
  durability: true,
  bufferSize: true,
  maxHeaderSize: true,
  flushInterval: true,
} as const satisfies OptionKeys<NpyStackWriterOptions>;

export function checkOptions(dir: string, options: NpyStackWriterOptions): void {
  checkOptionKeys(options, WRITER_OPTIONS, `open the stack ${quote(dir)}`);
  const bad = (name: string, value: unknown, expected: string): never => {
    throw new TypeError(
      `Cannot open the stack ${quote(dir)}: options.${name} is ${JSON.stringify(value)}; ` +
        `expected ${expected}`,
    );
  };
  const { mode, shardRows, shardBytes, onRecovery, shape } = options;
  if (mode !== undefined && !["append", "create", "overwrite"].includes(mode)) {
    bad("mode", mode, `"append", "create" or "overwrite"`);
  }
  if (shardRows !== undefined && !(Number.isSafeInteger(shardRows) && shardRows >= 1)) {
    bad("shardRows", shardRows, "a positive integer");
  }
  if (shardBytes !== undefined && !(Number.isSafeInteger(shardBytes) && shardBytes >= 1)) {
    bad("shardBytes", shardBytes, "a positive integer");
  }
  if (onRecovery !== undefined && !["error", "truncate", "zeroFill"].includes(onRecovery)) {
    bad("onRecovery", onRecovery, `"error", "truncate" or "zeroFill"`);
  }
  if (
    shape !== undefined &&
    !(Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0))
  ) {
    bad("shape", shape, "the row shape, a list of non-negative integers");
  }
}

/** The options every shard's `NpyAppendArray` takes from the stack's: those given. */
const SHARD_OPTIONS = [
  "registry",
  "casting",
  "rewriteHeaderOnAppend",
  "durability",
  "bufferSize",
  "maxHeaderSize",
  "flushInterval",
] as const satisfies readonly (keyof NpyStackWriterOptions & keyof NpyAppendArrayOptions)[];

/** The options of `options` that apply to each shard, as `NpyAppendArray` takes them. */
export function shardOptions(
  options: NpyStackWriterOptions,
): Pick<NpyAppendArrayOptions, typeof SHARD_OPTIONS[number]> {
  // Only the options given: an option set to undefined is not one given.
  return Object.fromEntries(
    SHARD_OPTIONS.flatMap((key) => options[key] === undefined ? [] : [[key, options[key]]]),
  );
}

/**
 * Resolves the stack's descr; a descr the registry cannot resolve is an NpyDtypeError naming
 * the stack, the registry's error its cause.
 */
export function resolveDescr(registry: DtypeRegistry, descr: Descr, dir: string): Dtype {
  try {
    return registry.resolve(descr);
  } catch (e) {
    if (e instanceof NpyDtypeError) {
      throw new NpyDtypeError(
        `Cannot write the stack ${quote(dir)}: its descr ${descrText(descr)} is no dtype the ` +
          `registry resolves (expected a NumPy descr such as '<f4', or one a registered plugin ` +
          `handles)`,
        { path: dir, descr, cause: e },
      );
    }
    throw e;
  }
}

/**
 * Checks what `options` declare (descr, row shape, order) against the existing stack
 * `listing` that a writer in mode `"append"` adds to.
 */
export function checkDeclared(
  options: NpyStackWriterOptions,
  listing: StackListing,
  registry: DtypeRegistry,
): void {
  const { descr, shape, fortranOrder } = options;
  const dir = listing.dir;
  const where = `Cannot append to the stack ${quote(dir)}`;
  if (
    descr !== undefined && !descrEquals(resolveDescr(registry, descr, dir).descr, listing.descr)
  ) {
    throw new NpyDtypeError(
      `${where}: descr ${descrText(descr)} does not match the stack's ` +
        descrText(listing.descr),
      { path: dir, descr },
    );
  }
  if (shape !== undefined && !sameShape(shape, listing.rowShape)) {
    throw new NpyShapeError(
      `${where}: row shape ${shapeText(shape)} does not match the stack's ` +
        shapeText(listing.rowShape),
      { path: dir, expected: listing.rowShape, actual: shape },
    );
  }
  if (fortranOrder !== undefined && fortranOrder !== listing.fortranOrder) {
    throw new NpyFormatError(
      `${where}: fortranOrder ${fortranOrder} does not match the stack's ` +
        `${listing.fortranOrder}`,
      { path: dir },
    );
  }
}
