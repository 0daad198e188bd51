/**
 * The listing of a sharded stack: the files that say which shards it holds. `info` is the
 * pickle `dask.array.from_npy_stack` reads (`{'chunks': …, 'dtype': …, 'axis': …}`);
 * `stack.json` holds the same facts for JS readers and people. Both are replaced atomically,
 * `info` first, each time the listing changes. Shards are `0.npy`, `1.npy`, … beside them.
 *
 * @module
 */

import {
  type Descr,
  type FieldDescr,
  formatDescr,
  itemsizeOf,
  parseDescr,
  type SubarrayDescr,
} from "./descr.ts";
import { NpyFormatError, quote } from "./errors.ts";
import { joinPath, removeSync } from "./file.ts";
import { replaceSteps } from "./_replace.ts";
import { sizeOf } from "./_chunk.ts";
import { encodePickle, PickleTuple, type PickleValue } from "./_pickle.ts";
import { runStepsSync } from "./_steps.ts";

/**
 * The `format` field of `stack.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyStackWriter, STACK_FORMAT, STACK_FORMAT_VERSION } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * NpyStackWriter.openSync(dir, { descr: "<f4", shape: [2] }).closeSync();
 * const json = JSON.parse(readFileSync(join(dir, "stack.json"), "utf8"));
 * assert.equal(json.format, STACK_FORMAT);
 * assert.equal(json.version, STACK_FORMAT_VERSION);
 * assert.deepEqual(json.shards, [0]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export const STACK_FORMAT = "npy-stack";
/**
 * The version of the `stack.json` layout this library writes and reads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STACK_FORMAT_VERSION } from "@npy/append-array";
 *
 * assert.equal(STACK_FORMAT_VERSION, 1);
 * ```
 */
export const STACK_FORMAT_VERSION = 1;

/** The name of Dask's `info` pickle in a stack's directory. */
export const INFO = "info";
/** The name of `stack.json` in a stack's directory. */
export const STACK_JSON = "stack.json";
const SHARD_NAME = /^(0|[1-9][0-9]{0,15})\.npy$/;

/** What a listing says: the stack's dtype, row shape, order and the rows of each shard. */
export interface StackListing {
  dir: string;
  descr: Descr;
  rowShape: number[];
  fortranOrder: boolean;
  /** Rows of each listed (closed) shard, `0.npy` first. */
  shardRows: number[];
}

/** The indices of the shard files among `names`, in order. */
export function shardIndices(names: readonly string[]): number[] {
  return names.flatMap((name) => {
    const digits = SHARD_NAME.exec(name)?.[1];
    return digits === undefined ? [] : [Number(digits)];
  }).sort((a, b) => a - b);
}

/** Whether the directory entries `names` hold a stack's file: a listing or a shard. */
export function holdsStackFiles(names: readonly string[]): boolean {
  return names.some((n) => n === INFO || n === STACK_JSON || SHARD_NAME.test(n));
}

/** The axis shards are stacked along: 0, or the last one in Fortran order. */
export function stackAxis(rowShape: readonly number[], fortranOrder: boolean): number {
  return fortranOrder ? rowShape.length : 0;
}

/** Parses `stack.json`; throws NpyFormatError naming the file and the field. */
export function parseStackJson(dir: string, text: string): StackListing {
  const path = joinPath(dir, STACK_JSON);
  const bad = (what: string, cause?: unknown): never => {
    throw new NpyFormatError(`Cannot read the stack ${quote(dir)}: ${quote(path)} ${what}`, {
      path,
      cause,
    });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return bad("is not JSON", e);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return bad("is not an object");
  }
  const fields = parsed as Record<string, unknown>; // an object, as checked above
  const { format, version, descr: given, shape, fortranOrder, shards } = fields;
  if (format !== STACK_FORMAT) bad(`has format ${JSON.stringify(format)}, not "${STACK_FORMAT}"`);
  if (version !== STACK_FORMAT_VERSION) {
    bad(
      `has version ${JSON.stringify(version)}; this library reads version ` +
        `${STACK_FORMAT_VERSION}`,
    );
  }
  let descr: Descr;
  try {
    descr = parseDescr(formatDescr(given as Descr)); // formatDescr checks what it is given
  } catch (e) {
    return bad(`has descr ${JSON.stringify(given)}, which is not a NumPy descr`, e);
  }
  if (!isCounts(shape)) {
    return bad(`has shape ${JSON.stringify(shape)}: expected the row shape, a list of counts`);
  }
  if (typeof fortranOrder !== "boolean") return bad("has no boolean fortranOrder");
  if (!isCounts(shards)) {
    return bad(`has shards ${JSON.stringify(shards)}: expected the rows of each shard`);
  }
  return { dir, descr, rowShape: shape, fortranOrder, shardRows: shards };
}

/** Whether `value` is a list of counts (non-negative integers). */
function isCounts(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

/**
 * The axis a Dask `info` pickle names, found by scanning its opcodes for the key `axis`
 * followed by an integer: nothing is unpickled. `undefined` when not found.
 */
export function scanInfoAxis(bytes: Uint8Array): number | undefined {
  const key = [0x61, 0x78, 0x69, 0x73]; // "axis"
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (!key.every((b, k) => bytes[i + k] === b)) continue;
    // SHORT_BINUNICODE 0x8c 4 / BINUNICODE 'X' 4 0 0 0 / SHORT_BINSTRING 'U' 4 before it.
    const short = i >= 2 && (bytes[i - 2] === 0x8c || bytes[i - 2] === 0x55) &&
      bytes[i - 1] === 4;
    const long = i >= 5 && bytes[i - 5] === 0x58 && bytes[i - 4] === 4 && bytes[i - 3] === 0 &&
      bytes[i - 2] === 0 && bytes[i - 1] === 0;
    if (!short && !long) continue;
    let j = i + 4;
    // Skip memo opcodes: MEMOIZE, BINPUT n, LONG_BINPUT n n n n.
    if (bytes[j] === 0x94) j += 1;
    else if (bytes[j] === 0x71) j += 2;
    else if (bytes[j] === 0x72) j += 5;
    const op = bytes[j];
    if (op === 0x4b && j + 1 < bytes.length) return bytes[j + 1]; // BININT1
    const operand = (size: number) => new DataView(bytes.buffer, bytes.byteOffset + j + 1, size);
    if (op === 0x4d && j + 2 < bytes.length) return operand(2).getUint16(0, true); // BININT2
    if (op === 0x4a && j + 4 < bytes.length) return operand(4).getInt32(0, true); // BININT
    return undefined;
  }
  return undefined;
}

/**
 * The descr as Dask's `info` pickles it, for `np.dtype(…)`: a str, or a list of tuples for
 * records. A record with padding (fields named `""`, as `align=True` writes) becomes NumPy's
 * dict form `{names, formats, offsets, itemsize}`, as `np.lib.format.descr_to_dtype` builds
 * it: a list would make the padding named fields.
 */
function descrPickle(descr: FieldDescr): PickleValue {
  if (typeof descr === "string") return descr;
  if (!Array.isArray(descr)) {
    // A subarray in a field's descr slot: NumPy's (base, shape) tuple.
    const { base, shape } = descr as SubarrayDescr;
    return new PickleTuple([descrPickle(base), new PickleTuple(shape)]);
  }
  const padded = descr.some(([name, sub]) => name === "" && typeof sub === "string");
  const titled = descr.some(([name]) => typeof name !== "string");
  if (padded && !titled) {
    const names: string[] = [], formats: PickleValue[] = [], offsets: number[] = [];
    let offset = 0;
    for (const [name, sub, shape] of descr) {
      const size = itemsizeOf(sub) * (shape === undefined ? 1 : sizeOf(shape));
      if (!(name === "" && typeof sub === "string")) {
        names.push(name as string);
        formats.push(
          shape === undefined
            ? descrPickle(sub)
            : new PickleTuple([descrPickle(sub), new PickleTuple(shape)]),
        );
        offsets.push(offset);
      }
      offset += size;
    }
    return new Map<string, PickleValue>([
      ["names", names],
      ["formats", formats],
      ["offsets", offsets],
      ["itemsize", offset],
    ]);
  }
  return descr.map((field) => {
    const [name, sub, shape] = field;
    const items: PickleValue[] = [
      typeof name === "string" ? name : new PickleTuple([name[0], name[1]]),
      descrPickle(sub),
    ];
    if (shape !== undefined) items.push(new PickleTuple(shape));
    return new PickleTuple(items);
  });
}

/** The bytes of Dask's `info` file for a layout. */
function infoBytes(layout: StackListing): Uint8Array {
  const dims = layout.rowShape.map((d) => new PickleTuple([d]));
  const rows = new PickleTuple(layout.shardRows);
  const chunks = layout.fortranOrder ? [...dims, rows] : [rows, ...dims];
  return encodePickle(
    new Map<string, PickleValue>([
      ["chunks", new PickleTuple(chunks)],
      ["dtype", descrPickle(layout.descr)],
      ["axis", stackAxis(layout.rowShape, layout.fortranOrder)],
    ]),
  );
}

/** The text of `stack.json` for a layout. */
function stackJsonText(layout: StackListing): string {
  return JSON.stringify(
    {
      format: STACK_FORMAT,
      version: STACK_FORMAT_VERSION,
      descr: layout.descr,
      shape: layout.rowShape,
      fortranOrder: layout.fortranOrder,
      axis: stackAxis(layout.rowShape, layout.fortranOrder),
      rows: layout.shardRows.reduce((a, b) => a + b, 0),
      shards: layout.shardRows,
    },
    null,
    2,
  ).replace(/\[[\d,\s]*\]/g, (list) => list.replace(/\s+/g, "").replace(/,/g, ", ")) + "\n";
}

/**
 * Replaces `info` (when there is a shard: Dask refuses an empty chunk list) and then
 * `stack.json`, each atomically (temp file, fsync, rename, directory fsync).
 */
export function publishListing(layout: StackListing): void {
  const action = `list the shards of the stack ${quote(layout.dir)}`;
  // The stack's lock covers these files: no lock file of their own.
  const write = (name: string, bytes: Uint8Array) =>
    runStepsSync(replaceSteps(joinPath(layout.dir, name), { action, lock: false }, function* (f) {
      yield { write: f, bytes, position: 0 };
    }));
  if (layout.shardRows.length > 0) write(INFO, infoBytes(layout));
  write(STACK_JSON, new TextEncoder().encode(stackJsonText(layout)));
}

/** Removes the listing of the stack in `dir` (`info` and `stack.json`), where present. */
export function removeListing(dir: string): void {
  removeSync(joinPath(dir, INFO));
  removeSync(joinPath(dir, STACK_JSON));
}
