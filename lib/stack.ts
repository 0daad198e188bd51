/**
 * Sharded stacks: a directory of `.npy` shards `0.npy`, `1.npy`, … with the `info` file
 * `dask.array.from_npy_stack` reads (a pickle of `{'chunks': …, 'dtype': …, 'axis': …}`) and
 * a `stack.json` with the same facts for JS readers and people.
 *
 * - {@link NpyStackWriter} appends rows, rolling over to a new shard every `shardRows` rows
 *   (or `shardBytes`); each shard is an ordinary appendable `.npy` written by
 *   `NpyAppendArray`. `info` and `stack.json` are replaced atomically each time an append
 *   closes a shard, and list closed shards only: a reader always sees complete shards. An
 *   append across shards is all or nothing (lib/_stack_journal.ts).
 * - {@link NpyStackReader} reads rows across shards, from our stacks and from stacks Dask's
 *   `to_npy_stack` wrote (the facts come from the shards' headers; nothing is unpickled).
 * - {@link mergeStacks} joins stacks of separate producers by hard-linking (or renaming)
 *   their shards: no data is copied.
 * - {@link recoverStack} adopts the shard a crashed writer left open, an append across
 *   shards it cut undone.
 *
 * @module
 */

import { join } from "node:path";
import {
  type Descr,
  descrEquals,
  type FieldDescr,
  formatDescr,
  itemsizeOf,
  parseDescr,
  type SubarrayDescr,
} from "./descr.ts";
import { NpyDtypeError, NpyFormatError, NpyRecoveryError, NpyShapeError, quote } from "./errors.ts";
import {
  fileSizeSync,
  isDirectorySync,
  linkSync,
  listDirSync,
  makeDirSync,
  publishSync,
  readBytesSync,
  readTextSync,
  realPathSync,
  removeSync,
  replaceSteps,
  toPath,
} from "./file.ts";
import { numberShaped, type NumberShapedHeader, rowRange } from "./_header_io.ts";
import { encodeChunk, type NpyArray, type NpyChunk } from "./npy.ts";
import { type NpyChunksOptions, NpyReader } from "./reader.ts";
import {
  type DecodeOptions,
  defaultRegistry,
  descrText,
  type Dtype,
  type DtypeRegistry,
} from "./registry.ts";
import { needsRecoverySync, recoverFileSync } from "./repair.ts";
import { NpyAppendArray, type NpyAppendArrayOptions } from "./writer.ts";
import { hasCommitTrace, WriterLock } from "./_lock.ts";
import {
  leftJournal,
  LOCK_NAME,
  shardPath,
  type StackJournal,
  undoAppendSync,
} from "./_stack_journal.ts";
import { pin, track, untrack } from "./_exit.ts";
import {
  appendError,
  type AppendTarget,
  reverseAxes,
  rowShapeError,
  shapeText,
  sizeOf,
} from "./_chunk.ts";
import { isTypedArray } from "./_typed.ts";
import { encodePickle, PickleTuple, type PickleValue } from "./_pickle.ts";
import { runStepsSync } from "./_steps.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";

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

const INFO = "info";
const STACK_JSON = "stack.json";
const SHARD_NAME = /^(0|[1-9][0-9]{0,15})\.npy$/;
const RESOLVED: Promise<void> = Promise.resolve();
/** Shard files a reader keeps open at most (stacks may have thousands of shards). */
const OPEN_SHARDS = 16;

/** The indices of the shard files among `names`, in order. */
function shardIndices(names: readonly string[]): number[] {
  return names.map((n) => SHARD_NAME.exec(n)).filter((m) => m !== null)
    .map((m) => Number(m![1])).sort((a, b) => a - b);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// -----------------------------------------------------------------------------------------
// The layout on disk

/** What a stack directory holds, as read from `stack.json` (or `info`) and the shards. */
interface StackLayout {
  dir: string;
  descr: Descr;
  rowShape: number[];
  fortranOrder: boolean;
  /** Rows of each listed (closed) shard, `0.npy` first. */
  shardRows: number[];
  /** Who wrote the listing: this library or Dask's `to_npy_stack`. */
  source: "npy-stack" | "dask";
  /** Indices of shard files present past the listing (a crashed or running writer's). */
  unlisted: number[];
}

/** The axis shards are stacked along: 0, or the last one in Fortran order. */
function stackAxis(rowShape: readonly number[], fortranOrder: boolean): number {
  return fortranOrder ? rowShape.length : 0;
}

function rowShapeOf(header: NumberShapedHeader): number[] {
  return header.fortranOrder ? header.shape.slice(0, -1) : header.shape.slice(1);
}

function rowsOfHeader(header: NumberShapedHeader): number {
  return header.fortranOrder ? header.shape[header.shape.length - 1] : header.shape[0];
}

/** The header of shard `index` (a complete shard: its data as long as its header says). */
function shardHeader(dir: string, index: number, registry: DtypeRegistry): NumberShapedHeader {
  using r = NpyReader.openSync(shardPath(dir, index), { registry });
  const header = numberShaped(r.header, r.path); // the reader refused other shapes already
  if (header.shape.length === 0) {
    throw new NpyShapeError(
      `Cannot read the stack ${quote(dir)}: its shard ${
        quote(r.path)
      } holds a 0-d array, which has ` +
        `no axis to stack along`,
      { path: r.path, actual: [] },
    );
  }
  return header;
}

function checkShard(
  layout: StackLayout,
  index: number,
  header: NumberShapedHeader,
  rows?: number,
): void {
  const path = shardPath(layout.dir, index);
  const where = `Cannot read the stack ${quote(layout.dir)}: its shard ${quote(path)}`;
  if (!descrEquals(header.descr, layout.descr)) {
    throw new NpyDtypeError(
      `${where} has descr ${descrText(header.descr)}, not the stack's ${descrText(layout.descr)}`,
      { path, descr: header.descr },
    );
  }
  if (header.fortranOrder !== layout.fortranOrder) {
    throw new NpyFormatError(
      `${where} is ${header.fortranOrder ? "" : "not "}in Fortran order, unlike the stack`,
      { path },
    );
  }
  const rowShape = rowShapeOf(header);
  if (!sameShape(rowShape, layout.rowShape)) {
    throw new NpyShapeError(
      `${where} has rows of shape ${shapeText(rowShape)}, not the stack's ` +
        `${shapeText(layout.rowShape)}`,
      { path, expected: layout.rowShape, actual: rowShape },
    );
  }
  if (rows !== undefined && rowsOfHeader(header) !== rows) {
    throw new NpyFormatError(
      `${where} holds ${rowsOfHeader(header)} rows, but ${STACK_JSON} lists ${rows}`,
      { path },
    );
  }
}

/** Parses `stack.json`; throws NpyFormatError naming the file and the field. */
function parseStackJson(dir: string, text: string): Omit<StackLayout, "unlisted" | "source"> {
  const path = join(dir, STACK_JSON);
  const bad = (what: string, cause?: unknown): never => {
    throw new NpyFormatError(`Cannot read the stack ${quote(dir)}: ${quote(path)} ${what}`, {
      path,
      cause,
    });
  };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return bad("is not JSON", e);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) bad("is not an object");
  if (json.format !== STACK_FORMAT) {
    bad(`has format ${JSON.stringify(json.format)}, not "${STACK_FORMAT}"`);
  }
  if (json.version !== STACK_FORMAT_VERSION) {
    bad(
      `has version ${
        JSON.stringify(json.version)
      }; this library reads version ${STACK_FORMAT_VERSION}`,
    );
  }
  let descr: Descr;
  try {
    descr = parseDescr(formatDescr(json.descr as Descr));
  } catch (e) {
    return bad(`has descr ${JSON.stringify(json.descr)}, which is not a NumPy descr`, e);
  }
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const rowShape = json.shape;
  if (!Array.isArray(rowShape) || !rowShape.every(isCount)) {
    bad(`has shape ${JSON.stringify(rowShape)}: expected the row shape, a list of counts`);
  }
  if (typeof json.fortranOrder !== "boolean") bad("has no boolean fortranOrder");
  const shards = json.shards;
  if (!Array.isArray(shards) || !shards.every(isCount)) {
    bad(`has shards ${JSON.stringify(shards)}: expected the rows of each shard`);
  }
  return {
    dir,
    descr,
    rowShape: rowShape as number[],
    fortranOrder: json.fortranOrder as boolean,
    shardRows: shards as number[],
  };
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
    if (op === 0x4d && j + 2 < bytes.length) return bytes[j + 1] | (bytes[j + 2] << 8); // BININT2
    if (op === 0x4a && j + 4 < bytes.length) {
      return new DataView(bytes.buffer, bytes.byteOffset + j + 1, 4).getInt32(0, true);
    }
    return undefined;
  }
  return undefined;
}

/**
 * Reads a stack directory's layout. `undefined` when `dir` is missing or holds no stack
 * file at all (no `stack.json`, `info` or shard).
 */
function readLayoutSync(dir: string, registry: DtypeRegistry): StackLayout | undefined {
  const names = listDirSync(dir);
  if (names === undefined) return undefined;
  const indices = shardIndices(names);
  const json = readTextSync(join(dir, STACK_JSON));
  if (json !== undefined) {
    const listed = parseStackJson(dir, json);
    const layout: StackLayout = {
      ...listed,
      source: "npy-stack",
      unlisted: indices.filter((i) => i >= listed.shardRows.length),
    };
    const present = new Set(indices);
    layout.shardRows.forEach((rows, i) => {
      if (!present.has(i)) {
        throw new NpyFormatError(
          `Cannot read the stack ${quote(dir)}: its shard ${quote(shardPath(dir, i))}, listed in ` +
            `${STACK_JSON}, is missing`,
          { path: shardPath(dir, i) },
        );
      }
      checkShard(layout, i, shardHeader(dir, i, registry), rows);
    });
    return layout;
  }
  if (indices.length === 0) {
    if (names.includes(INFO)) {
      throw new NpyFormatError(
        `Cannot read the stack ${quote(dir)}: it has an info file but no shard 0.npy`,
        { path: join(dir, INFO) },
      );
    }
    return undefined;
  }
  if (!names.includes(INFO)) {
    throw new NpyFormatError(
      `Cannot read the stack ${quote(dir)}: it holds shards but no ${STACK_JSON} or info file, ` +
        `so it is not a stack (a stack's writer writes ${STACK_JSON} before its first shard)`,
      { path: dir },
    );
  }
  // No stack.json: a stack Dask's to_npy_stack wrote. The facts come from the headers of
  // the shards 0, 1, … present without a gap.
  let count = 0;
  while (count < indices.length && indices[count] === count) count++;
  if (count === 0) {
    throw new NpyFormatError(`Cannot read the stack ${quote(dir)}: it has no shard 0.npy`, {
      path: shardPath(dir, 0),
    });
  }
  const first = shardHeader(dir, 0, registry);
  const layout: StackLayout = {
    dir,
    descr: first.descr,
    rowShape: rowShapeOf(first),
    fortranOrder: first.fortranOrder,
    shardRows: [rowsOfHeader(first)],
    source: "dask",
    unlisted: indices.slice(count),
  };
  {
    const axis = scanInfoAxis(readBytesSync(join(dir, INFO)) ?? new Uint8Array(0));
    const expected = stackAxis(layout.rowShape, layout.fortranOrder);
    if (axis !== undefined && axis !== expected) {
      throw new NpyShapeError(
        `Cannot read the stack ${quote(dir)}: its info stacks shards along axis ${axis}; only ` +
          `stacks along the shards' growth axis (${expected} here) can be read as rows`,
        { path: join(dir, INFO) },
      );
    }
  }
  for (let i = 1; i < count; i++) {
    const header = shardHeader(dir, i, registry);
    checkShard(layout, i, header);
    layout.shardRows.push(rowsOfHeader(header));
  }
  return layout;
}

function requireLayout(dir: string, registry: DtypeRegistry, action: string): StackLayout {
  const layout = readLayoutSync(dir, registry);
  if (layout === undefined) {
    const missing = listDirSync(dir) === undefined;
    throw Object.assign(
      new Error(
        `Cannot ${action} ${quote(dir)}: ${
          missing ? "no such directory" : `it holds no stack (no ${STACK_JSON}, info or 0.npy)`
        }`,
      ),
      { code: missing ? "ENOENT" : "ENOTSTACK", path: dir },
    );
  }
  return layout;
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
function infoBytes(layout: Omit<StackLayout, "unlisted" | "source">): Uint8Array {
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
function stackJsonText(layout: Omit<StackLayout, "unlisted" | "source">): string {
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
function publishListing(layout: Omit<StackLayout, "unlisted" | "source">): void {
  const action = `list the shards of the stack ${quote(layout.dir)}`;
  // The stack's lock covers these files: no lock file of their own.
  const write = (name: string, bytes: Uint8Array) =>
    runStepsSync(replaceSteps(join(layout.dir, name), { action, lock: false }, function* (f) {
      yield { write: f, bytes, position: 0 };
    }));
  if (layout.shardRows.length > 0) write(INFO, infoBytes(layout));
  write(STACK_JSON, new TextEncoder().encode(stackJsonText(layout)));
}

/**
 * Takes the stack's lock. `commit`: a writer's, marked as such: its open shard's header is
 * the commit record (see lib/_lock.ts), so recovery rolls that shard back to it.
 */
function lockStack(dir: string, action: string, lock: boolean | undefined, commit = false) {
  return lock === false ? undefined : WriterLock.acquireSync(join(dir, LOCK_NAME), action, commit);
}

/**
 * Adopts the unlisted shards of `layout` (recovering them as `how` says), once an append
 * across shards the writer left cut is undone (lib/_stack_journal.ts); returns them. The
 * writer's trace (its commit mark, its journal) is in the lock taken over, else (`lock`
 * undefined) in the lock file as it is.
 */
function adoptUnlistedSync(
  layout: StackLayout,
  how: "error" | "truncate" | "zeroFill",
  registry: DtypeRegistry,
  lock: WriterLock | undefined,
): number[] {
  const trace = join(layout.dir, LOCK_NAME);
  const committed = lock !== undefined ? lock.tookOverWriter : hasCommitTrace(trace);
  const journal = leftJournal(lock, trace);
  const { dir, shardRows, unlisted } = layout;
  const left = undoAppendSync(dir, journal, shardRows.length, unlisted, how === "error");
  if (left !== undefined && how === "error") {
    const path = shardPath(dir, journal!.shard);
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
    if (index !== layout.shardRows.length) {
      throw new NpyFormatError(
        `Cannot complete the stack ${quote(layout.dir)}: shard ${
          quote(shardPath(layout.dir, index))
        } ` +
          `follows a gap (no ${layout.shardRows.length}.npy)`,
        { path: shardPath(layout.dir, index) },
      );
    }
    const path = shardPath(layout.dir, index);
    if (fileSizeSync(path) === 0) {
      // Created, and the writer stopped before its header was written: no rows in it.
      removeSync(path);
      continue;
    }
    if (needsRecoverySync(path)) {
      if (how === "error") {
        using r = NpyReader.openSync(path, { registry, allowTruncated: true });
        throw new NpyRecoveryError(
          `Cannot complete the stack ${quote(layout.dir)}: its last shard ${
            quote(path)
          } (left open ` +
            `by a writer that stopped) needs recovery; recoverStack(${quote(layout.dir)}) or ` +
            `onRecovery "truncate" adopts its complete rows`,
          { path, expectedBytes: r.rows * r.rowBytes, actualBytes: r.availableRows * r.rowBytes },
        );
      }
      recoverFileSync(path, { zeroFill: how === "zeroFill" }, committed);
    }
    const header = shardHeader(layout.dir, index, registry);
    checkShard(layout, index, header);
    layout.shardRows.push(rowsOfHeader(header));
    adopted.push(index);
  }
  layout.unlisted = [];
  return adopted;
}

// -----------------------------------------------------------------------------------------
// Writer

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

/** One shard-level I/O step of the writer's algorithm, run sync or async by a driver. */
type ShardStep =
  | { append: NpyAppendArray; chunk: NpyChunk }
  | { flush: NpyAppendArray }
  | { close: NpyAppendArray };

function runShardStepsSync(steps: Iterable<ShardStep>): void {
  for (const step of steps) {
    if ("append" in step) step.append.appendSync(step.chunk);
    else if ("flush" in step) step.flush.flushSync();
    else step.close.closeSync();
  }
}

async function runShardSteps(steps: Iterable<ShardStep>): Promise<void> {
  for (const step of steps) {
    if ("append" in step) await step.append.append(step.chunk);
    else if ("flush" in step) await step.flush.flush();
    else await step.close.close();
  }
}

/**
 * Writes a sharded stack that `dask.array.from_npy_stack(dir)` loads: rows go into
 * `dir/0.npy` until it holds `shardRows` rows (or `shardBytes`), then into `dir/1.npy`, and
 * so on; a chunk that crosses a shard boundary is split. Each shard is an ordinary `.npy`
 * written by `NpyAppendArray` (appendable, `np.load(mmap_mode="r")` opens it alone).
 *
 * Each time an append closes a shard, `dir/info` (Dask's pickle) and `dir/stack.json` are
 * replaced atomically, listing closed shards only. An append is all or nothing across a
 * crash, one that crosses shards too: it is journaled in `dir/stack.lock`, and the shards it
 * fills are listed only once it is complete. A crash leaves the shards closed before it
 * listed, the others on disk but unlisted: Dask loads the listed ones; {@link recoverStack}
 * (or reopening with mode `"append"`) undoes a cut append across shards and adopts the open
 * shard's acknowledged rows. An append that fails part-way across shards is undone by the
 * writer itself, and so is one in flight when the process exits.
 *
 * Chunks are what `NpyAppendArray.append` takes. Appends not awaited land in call order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyStackReader, NpyStackWriter } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * {
 *   await using w = await NpyStackWriter.open(dir, { descr: "<i4", shape: [2], shardRows: 3 });
 *   await w.append([[1, 2], [3, 4]]);
 *   w.appendSync(Int32Array.of(5, 6, 7, 8)); // crosses into shard 1
 *   assert.equal(w.rows, 4);
 * }
 * using r = NpyStackReader.openSync(dir);
 * assert.deepEqual(r.shardRows, [3, 1]);
 * assert.deepEqual(r.readSync(2, 4).data, Int32Array.of(5, 6, 7, 8));
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NpyStackWriter implements AsyncDisposable, Disposable {
  /** The stack's directory. */
  readonly dir: string;
  readonly #named: AppendTarget; // what append errors name
  readonly #registry: DtypeRegistry;
  readonly #lock: WriterLock | undefined;
  readonly #options: NpyStackWriterOptions;
  #fortran: boolean;

  #descr: Descr | undefined;
  #dtype: Dtype | undefined;
  #rowShape: number[] | undefined;
  #rowBytes = 0;
  #perShard = 0; // rows per shard, once the row size is known

  #shardRows: number[] = []; // closed shards
  #listed = 0; // how many of them info and stack.json list
  #journal: StackJournal | undefined; // of the append across shards under way
  #current: NpyAppendArray | undefined;
  #currentRows = 0;
  #rows = 0; // rows accepted (written or queued)

  #queue: Promise<void> | undefined;
  #pending = 0;
  #closed = false;
  #failed: unknown = undefined;
  #writable: WritableStream<NpyChunk> | undefined;
  #exitToken: object | undefined; // see lib/_exit.ts

  private constructor(dir: string, lock: WriterLock | undefined, options: NpyStackWriterOptions) {
    this.dir = dir;
    this.#named = { where: `the stack ${quote(dir)}`, noun: "stack", path: dir };
    this.#lock = lock;
    this.#options = options;
    this.#registry = options.registry ?? defaultRegistry;
    this.#fortran = options.fortranOrder ?? false;
  }

  /**
   * Opens the stack in `dir` for writing (see {@link NpyStackWriterOptions} for the modes);
   * `dir` is created when missing.
   *
   * @param dir The stack's directory.
   * @param options Mode, descr, row shape, shard size and the shards' writer options.
   * @returns The writer; close it (or use `await using`) to list the last shard.
   * @throws {NpyLockError} When another writer holds the stack.
   * @throws {NpyDtypeError} / {NpyShapeError} When the options contradict an existing stack.
   * @throws {NpyRecoveryError} When a crashed writer's shard needs recovery and
   *   `onRecovery` is `"error"`.
   */
  static openSync(dir: string | URL, options: NpyStackWriterOptions = {}): NpyStackWriter {
    dir = toPath(dir);
    const mode = options.mode ?? "append";
    checkOptions(dir, options);
    const registry = options.registry ?? defaultRegistry;
    if (options.descr !== undefined) resolveDescr(registry, options.descr, dir);
    makeDirSync(dir);
    const lock = lockStack(dir, `open the stack ${quote(dir)} for writing`, options.lock, true);
    try {
      const writer = new NpyStackWriter(dir, lock, options);
      writer.#start(mode, registry);
      // A dead writer's journal taken over is undone now (or stale): never to be applied again.
      if (lock?.journal !== undefined) lock.writeJournalSync(undefined, true);
      writer.#exitToken = track(writer, dir, lock, NpyStackWriter.#atExit);
      return writer;
    } catch (e) {
      lock?.releaseSync(true); // a dead writer's shard may be left to recover: keep its trace
      throw e;
    }
  }

  /**
   * Async twin of {@link NpyStackWriter.openSync}.
   *
   * @param dir The stack's directory.
   * @param options Mode, descr, row shape, shard size and the shards' writer options.
   * @returns The writer; close it (or use `await using`) to list the last shard.
   */
  static open(dir: string | URL, options: NpyStackWriterOptions = {}): Promise<NpyStackWriter> {
    return new Promise((resolve) => resolve(NpyStackWriter.openSync(dir, options)));
  }

  #start(mode: "append" | "create" | "overwrite", registry: DtypeRegistry): void {
    const dir = this.dir;
    const options = this.#options;
    if (mode === "overwrite") {
      removeSync(join(dir, INFO));
      removeSync(join(dir, STACK_JSON));
      for (const name of listDirSync(dir) ?? []) {
        if (SHARD_NAME.test(name)) removeSync(join(dir, name));
      }
    }
    const names = listDirSync(dir) ?? [];
    const occupied = names.some((n) => n === INFO || n === STACK_JSON || SHARD_NAME.test(n));
    if (occupied && mode === "create") {
      throw Object.assign(
        new Error(
          `Cannot create the stack ${quote(dir)}: it holds a stack already (mode "create"); use ` +
            `mode "append" to add to it or "overwrite" to replace it`,
        ),
        { code: "EEXIST", path: dir },
      );
    }
    if (occupied) {
      const layout = requireLayout(dir, registry, "append to the stack");
      this.#checkDeclared(layout);
      const adopted = adoptUnlistedSync(
        layout,
        options.onRecovery ?? "error",
        registry,
        this.#lock,
      );
      this.#shardRows = layout.shardRows;
      this.#listed = layout.shardRows.length;
      this.#fortran = layout.fortranOrder;
      this.#rows = layout.shardRows.reduce((a, b) => a + b, 0);
      this.#fix(layout.descr, layout.rowShape);
      if (adopted.length > 0 || layout.source === "dask") this.#publish();
      return;
    }
    if (options.descr !== undefined && options.shape !== undefined) {
      this.#fix(this.#resolve(options.descr).descr, [...options.shape]);
      this.#publish();
    } else if (options.descr !== undefined) {
      this.#dtype = this.#resolve(options.descr);
    }
  }

  #checkDeclared(layout: StackLayout): void {
    const { descr, shape, fortranOrder } = this.#options;
    const where = `Cannot append to the stack ${quote(this.dir)}`;
    if (descr !== undefined && !descrEquals(this.#resolve(descr).descr, layout.descr)) {
      throw new NpyDtypeError(
        `${where}: descr ${descrText(descr)} does not match the stack's ` +
          descrText(layout.descr),
        { path: this.dir, descr },
      );
    }
    if (shape !== undefined && !sameShape(shape, layout.rowShape)) {
      throw new NpyShapeError(
        `${where}: row shape ${shapeText(shape)} does not match the stack's ` +
          shapeText(layout.rowShape),
        { path: this.dir, expected: layout.rowShape, actual: shape },
      );
    }
    if (fortranOrder !== undefined && fortranOrder !== layout.fortranOrder) {
      throw new NpyFormatError(
        `${where}: fortranOrder ${fortranOrder} does not match the stack's ` +
          `${layout.fortranOrder}`,
        { path: this.dir },
      );
    }
  }

  #resolve(descr: Descr): Dtype {
    return resolveDescr(this.#registry, descr, this.dir);
  }

  /** Fixes the dtype and row shape (from the options, the stack, or the first chunk). */
  #fix(descr: Descr, rowShape: number[]): void {
    this.#dtype = this.#resolve(descr);
    this.#descr = this.#dtype.descr;
    this.#rowShape = rowShape;
    this.#rowBytes = sizeOf(rowShape) * this.#dtype.itemsize;
    const { shardRows, shardBytes } = this.#options;
    this.#perShard = shardRows ??
      (this.#rowBytes === 0
        ? Number.MAX_SAFE_INTEGER
        : Math.max(1, Math.floor((shardBytes ?? DEFAULT_SHARD_BYTES) / this.#rowBytes)));
  }

  #layout(): Omit<StackLayout, "unlisted" | "source"> {
    return {
      dir: this.dir,
      descr: this.#descr!,
      rowShape: this.#rowShape!,
      fortranOrder: this.#fortran,
      shardRows: this.#shardRows,
    };
  }

  #publish(): void {
    publishListing(this.#layout());
    this.#listed = this.#shardRows.length;
    this.#pin();
  }

  /** Held while rows are in no listing (lib/_exit.ts): it is closed at exit. */
  #pin(): void {
    const held = this.#current !== undefined || this.#listed < this.#shardRows.length;
    pin(this, held || this.#journal !== undefined);
  }

  /** The stack's dtype; `undefined` until declared or fixed by the first chunk. */
  get descr(): Descr | undefined {
    return this.#descr ?? this.#dtype?.descr;
  }

  /** The row shape; `undefined` until declared or fixed by the first chunk. */
  get rowShape(): readonly number[] | undefined {
    return this.#rowShape;
  }

  /** Whether the shards are in Fortran order (stacked along the last axis). */
  get fortranOrder(): boolean {
    return this.#fortran;
  }

  /** Rows appended so far, the stack's earlier shards included. */
  get rows(): number {
    return this.#rows;
  }

  /** Rows per shard (known once the row size is). */
  get rowsPerShard(): number | undefined {
    return this.#rowShape === undefined ? undefined : this.#perShard;
  }

  /** Rows of each closed (listed) shard. */
  get shardRows(): readonly number[] {
    return this.#shardRows;
  }

  /** Whether {@link NpyStackWriter.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------------------------------
  // Appending

  #checkOpen(): void {
    if (this.#closed) {
      throw new Error(`Cannot append to the stack ${quote(this.dir)}: the writer is closed`);
    }
    this.#checkFailed();
  }

  #checkFailed(): void {
    if (this.#failed !== undefined) {
      throw new Error(`Cannot append to the stack ${quote(this.dir)}: an earlier write failed`, {
        cause: this.#failed,
      });
    }
  }

  #checkIdle(action: string): void {
    if (this.#queue !== undefined) {
      throw new Error(
        `Cannot ${action} the stack ${quote(this.dir)}: async operations on this writer are ` +
          `still pending; await them first`,
      );
    }
  }

  /**
   * Checks and encodes a chunk into the stack's layout: its bytes and row count. Fixes the
   * dtype and row shape when it is the first. Nothing is written; on error nothing changes.
   */
  #prepare(chunk: NpyChunk): { bytes: Uint8Array; rows: number } {
    this.#checkOpen();
    try {
      return this.#encodeChunk(chunk);
    } catch (e) {
      // A cast or shape error of the dtype code names the stack, as the writer's name the file.
      throw appendError(e, this.#named, this.#dtype, this.#options.casting ?? "same_kind");
    }
  }

  #encodeChunk(chunk: NpyChunk): { bytes: Uint8Array; rows: number } {
    const dtype = this.#dtype;
    const where = `Cannot append to the stack ${quote(this.dir)}`;
    // Fast path: a TypedArray the dtype views as is, whole rows.
    if (dtype !== undefined && this.#rowShape !== undefined && this.#rowBytes > 0) {
      if (isTypedArray(chunk)) {
        const view = dtype.view?.(chunk, { casting: this.#options.casting ?? "same_kind" });
        if (view !== undefined && view.length % this.#rowBytes === 0) {
          return { bytes: view, rows: view.length / this.#rowBytes };
        }
      }
    }
    const { fields, flat, data } = encodeChunk(chunk as never, {
      descr: this.#descr ?? dtype?.descr,
      registry: this.#registry,
      casting: this.#options.casting,
    }, this.dir);
    const fortran = this.#fortran;
    let rowShape = this.#rowShape;
    let rows: number;
    let bytes = data;
    const shape: readonly number[] = fields.shape;
    if (flat) {
      const count = shape[0];
      if (rowShape === undefined) {
        rowShape = [];
        rows = count;
      } else {
        const rowElems = sizeOf(rowShape);
        if (rowElems === 0 ? count !== 0 : count % rowElems !== 0) {
          throw new NpyShapeError(
            `${where}: a flat chunk of ${count} elements is not whole rows of shape ` +
              `${shapeText(rowShape)} (${rowElems} elements each)`,
            { path: this.dir, expected: rowShape, actual: [count] },
          );
        }
        rows = rowElems === 0 ? 0 : count / rowElems;
      }
    } else {
      if (shape.length === 0) {
        throw new NpyShapeError(
          `${where}: a single value (a 0-d array) has no rows; pass an array of rows`,
          { path: this.dir, actual: [] },
        );
      }
      const given = fortran ? shape.slice(0, -1) : shape.slice(1);
      rows = fortran ? shape[shape.length - 1] : shape[0];
      if (rowShape !== undefined && !sameShape(given, rowShape)) {
        throw rowShapeError(this.#named, chunk, shape, rowShape, fortran);
      }
      rowShape ??= given;
      if (shape.length >= 2 && fields.fortranOrder !== fortran) {
        const itemsize = this.#registry.resolve(fields.descr).itemsize;
        bytes = reverseAxes(
          bytes,
          fields.fortranOrder ? [...shape].reverse() : shape,
          itemsize,
        );
      }
    }
    if (this.#rowShape === undefined) {
      this.#fix(fields.descr, rowShape);
      this.#publish();
    }
    return { bytes, rows };
  }

  /**
   * The writer's algorithm for one prepared chunk: split at shard boundaries. An append
   * across shards is journaled (lib/_stack_journal.ts), and the shards it fills are listed
   * once it is complete.
   */
  *#steps(bytes: Uint8Array, rows: number): Generator<ShardStep, void, undefined> {
    this.#checkFailed(); // an append queued behind one that failed (and was undone) is not written
    const rowBytes = this.#rowBytes;
    const across = this.#currentRows + rows > this.#perShard;
    if (across) yield* this.#journalSteps(true);
    let offset = 0;
    for (let left = rows; left > 0;) {
      const shard = this.#current ?? this.#openShard();
      const n = Math.min(left, this.#perShard - this.#currentRows);
      const piece = bytes.subarray(offset, offset + n * rowBytes);
      yield { append: shard, chunk: this.#rawChunk(piece, n) };
      this.#currentRows += n;
      offset += n * rowBytes;
      left -= n;
      if (this.#currentRows >= this.#perShard) yield* this.#closeShard(!across);
    }
    if (across) yield* this.#journalSteps(false);
  }

  /**
   * `begin`: the open shard committed as it is, then the journal written. Else, at the end:
   * the last shard committed, the journal cleared, then the shards closed listed.
   */
  *#journalSteps(begin: boolean): Generator<ShardStep, void, undefined> {
    if (this.#current !== undefined) yield { flush: this.#current };
    if (begin) this.#journal = { shard: this.#shardRows.length, rows: this.#currentRows };
    this.#writeJournal(begin ? this.#journal : undefined);
    if (begin) return;
    this.#journal = undefined;
    this.#publish();
  }

  /**
   * Writes the journal in the lock record (`undefined`: clears it). Written, it is synced with
   * `durability: "append"` (a power loss then keeps it); cleared, unless `durability: "none"` (it must not
   * come back after a power loss and undo an append a `close()` synced).
   */
  #writeJournal(journal: StackJournal | undefined): void {
    const durability = this.#options.durability ?? "close";
    this.#lock?.writeJournalSync(
      journal,
      journal ? durability === "append" : durability !== "none",
    );
  }

  /**
   * Undoes the append across shards under way (it failed, or the process ends), as recovery
   * would: shard k back to the rows it had, closed, and the shards after it removed.
   */
  #undo(): void {
    const journal = this.#journal!;
    try {
      this.#current?.closeSync();
    } catch {
      // Its rows are undone below.
    }
    this.#current = undefined;
    const unlisted = shardIndices(listDirSync(this.dir) ?? []).filter((i) => i >= this.#listed);
    undoAppendSync(this.dir, journal, this.#listed, unlisted, false);
    this.#shardRows.length = journal.shard;
    if (journal.rows > 0) this.#shardRows.push(journal.rows);
    this.#currentRows = 0;
    this.#rows = this.#shardRows.reduce((a, b) => a + b, 0); // later appends are refused
    this.#writeJournal(undefined);
    this.#journal = undefined;
    this.#pin();
  }

  #rawChunk(bytes: Uint8Array, rows: number): NpyChunk {
    const rowShape = this.#rowShape!;
    return {
      data: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      shape: this.#fortran ? [...rowShape, rows] : [rows, ...rowShape],
      descr: this.#descr,
      fortranOrder: this.#fortran,
    };
  }

  #openShard(): NpyAppendArray {
    const index = this.#shardRows.length;
    const options = this.#options;
    const shard = NpyAppendArray.openSync(shardPath(this.dir, index), {
      mode: "create",
      descr: this.#descr,
      shape: this.#rowShape,
      fortranOrder: this.#fortran,
      registry: this.#registry,
      casting: options.casting,
      rewriteHeaderOnAppend: options.rewriteHeaderOnAppend,
      durability: options.durability,
      bufferSize: options.bufferSize,
      maxHeaderSize: options.maxHeaderSize,
      flushInterval: options.flushInterval,
      lock: false, // the stack's lock covers its shards
    });
    this.#current = shard;
    this.#currentRows = 0;
    this.#pin();
    return shard;
  }

  /** Closes the open shard; `publish`: lists it now. */
  *#closeShard(publish = true): Generator<ShardStep, void, undefined> {
    const shard = this.#current!;
    yield { close: shard };
    this.#current = undefined;
    this.#shardRows.push(this.#currentRows);
    this.#currentRows = 0;
    if (publish) this.#publish();
    else this.#pin();
  }

  *#closeSteps(): Generator<ShardStep, void, undefined> {
    if (this.#journal !== undefined) this.#undo(); // a failed append across shards
    // An empty stack still gets shard 0 (with 0 rows): Dask refuses an empty chunk list.
    if (this.#current === undefined && this.#shardRows.length === 0 && this.#rowShape) {
      this.#openShard();
    }
    if (this.#current !== undefined) yield* this.#closeShard();
    else if (this.#listed < this.#shardRows.length) this.#publish();
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    this.#pending++;
    const run = async (): Promise<void> => {
      try {
        await task();
      } catch (e) {
        this.#fail(e);
        throw e;
      } finally {
        if (--this.#pending === 0) this.#queue = undefined;
      }
    };
    const result = this.#queue === undefined ? run() : this.#queue.then(run);
    this.#queue = result.then(() => {}, () => {});
    return result;
  }

  #runSync(steps: Iterable<ShardStep>): void {
    try {
      runShardStepsSync(steps);
    } catch (e) {
      this.#fail(e);
      throw e;
    }
  }

  /** Later appends are refused; an append across shards cut by the failure is undone. */
  #fail(e: unknown): void {
    this.#failed ??= e;
    try {
      if (this.#journal !== undefined) this.#undo();
    } catch {
      // The journal stays: close() tries again, and else recovery undoes it.
    }
  }

  /**
   * Appends the rows of `chunk`, splitting it where it crosses a shard boundary. The chunk
   * is checked and encoded before anything is written; calls not awaited land in call
   * order.
   *
   * @param chunk A TypedArray, a nested array, an array of records, an ndarray-like.
   * @returns A promise settled when the rows are written.
   * @throws {NpyShapeError} When the chunk's row shape does not match the stack's.
   * @throws {NpyDtypeError} When the chunk cannot be cast to the stack's dtype.
   */
  append(chunk: NpyChunk): Promise<void> {
    let prepared: { bytes: Uint8Array; rows: number };
    try {
      prepared = this.#prepare(chunk);
    } catch (e) {
      return Promise.reject(e);
    }
    this.#rows += prepared.rows;
    return this.#enqueue(() => runShardSteps(this.#steps(prepared.bytes, prepared.rows)));
  }

  /**
   * Sync twin of {@link NpyStackWriter.append}.
   *
   * @param chunk A TypedArray, a nested array, an array of records, an ndarray-like.
   * @throws {NpyShapeError} When the chunk's row shape does not match the stack's.
   * @throws {NpyDtypeError} When the chunk cannot be cast to the stack's dtype.
   */
  appendSync(chunk: NpyChunk): void {
    this.#checkIdle("appendSync to");
    const { bytes, rows } = this.#prepare(chunk);
    this.#rows += rows;
    this.#runSync(this.#steps(bytes, rows));
  }

  /**
   * Appends every chunk an (async) iterable yields, in order, awaiting each.
   *
   * @param chunks Chunks as {@link NpyStackWriter.append} takes them.
   * @returns The number of rows appended.
   */
  async appendFrom(chunks: AsyncIterable<NpyChunk> | Iterable<NpyChunk>): Promise<number> {
    const before = this.#rows;
    for await (const chunk of chunks) await this.append(chunk);
    return this.#rows - before;
  }

  /**
   * A `WritableStream` of chunks, with backpressure: each chunk is appended as by
   * {@link NpyStackWriter.append}. Closing (or aborting) the stream closes the writer.
   */
  get writable(): WritableStream<NpyChunk> {
    this.#writable ??= new WritableStream<NpyChunk>({
      write: (chunk) => this.append(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    }, { highWaterMark: 16 });
    return this.#writable;
  }

  /**
   * Flushes the open shard (its buffered rows and header). The open shard stays unlisted in
   * `info` until it closes.
   * @returns A promise settled when the open shard shows every row appended to it.
   */
  flush(): Promise<void> {
    if (this.#closed) return this.#queue ?? RESOLVED;
    return this.#enqueue(() => runShardSteps(this.#flushSteps()));
  }

  /** Sync twin of {@link NpyStackWriter.flush}. */
  flushSync(): void {
    if (this.#closed) return;
    this.#checkIdle("flushSync");
    this.#runSync(this.#flushSteps());
  }

  *#flushSteps(): Generator<ShardStep, void, undefined> {
    if (this.#current !== undefined) yield { flush: this.#current };
  }

  /**
   * Closes the open shard, lists it in `info` and `stack.json`, and releases the lock.
   * Idempotent; later appends throw.
   * @returns A promise settled when the stack is complete on disk.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#queue ?? RESOLVED;
    this.#closed = true;
    return this.#enqueue(async () => {
      try {
        await runShardSteps(this.#closeSteps());
      } finally {
        this.#release();
      }
    });
  }

  /** Sync twin of {@link NpyStackWriter.close}. */
  closeSync(): void {
    if (this.#closed) return;
    this.#checkIdle("closeSync");
    this.#closed = true;
    try {
      this.#runSync(this.#closeSteps());
    } finally {
      this.#release();
    }
  }

  #release(): void {
    if (this.#exitToken !== undefined) untrack(this.#exitToken, this);
    // An append across shards not undone: the lock file, with its journal, stays for recovery.
    if (this.#journal === undefined) this.#lock?.releaseSync();
    else this.#lock?.leaveSync();
  }

  /**
   * At process exit (lib/_exit.ts): the open shard, closed already (writers close newest
   * first), is listed with the rows its header claims (appends still queued are not
   * written; one across shards under way is undone); then the stack closes as close() does.
   */
  static #atExit(writer: NpyStackWriter): void {
    writer.#closed = true;
    try {
      if (writer.#journal === undefined && writer.#current !== undefined) {
        const header = shardHeader(writer.dir, writer.#shardRows.length, writer.#registry);
        writer.#currentRows = rowsOfHeader(header);
      }
      runShardStepsSync(writer.#closeSteps());
    } finally {
      writer.#release();
    }
  }

  /** Closes the writer, as {@link NpyStackWriter.close}: `await using w = …`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the writer, as {@link NpyStackWriter.closeSync}: `using w = …`. */
  [Symbol.dispose](): void {
    this.closeSync();
  }
}

function resolveDescr(registry: DtypeRegistry, descr: Descr, dir: string): Dtype {
  try {
    return registry.resolve(descr);
  } catch (e) {
    if (e instanceof NpyDtypeError) {
      throw new NpyDtypeError(`Cannot write the stack ${quote(dir)}: ${e.message}`, {
        path: dir,
        descr,
        cause: e,
      });
    }
    throw e;
  }
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
const READER_OPTIONS = {
  registry: true,
  layout: true,
} as const satisfies OptionKeys<NpyStackReaderOptions>;
const CHUNKS_OPTIONS = { rows: true, start: true, end: true } as const;
const MERGE_OPTIONS = {
  move: true,
  lock: true,
  registry: true,
} as const satisfies OptionKeys<MergeStacksOptions>;
const RECOVER_OPTIONS = {
  zeroFill: true,
  lock: true,
  registry: true,
} as const satisfies OptionKeys<RecoverStackOptions>;

function checkOptions(dir: string, options: NpyStackWriterOptions): void {
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

// -----------------------------------------------------------------------------------------
// Reader

/**
 * Options of {@link NpyStackReader.open}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyStackReader, type NpyStackReaderOptions, NpyStackWriter } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const w = NpyStackWriter.openSync(dir, { descr: [["id", "<i4"], ["v", "<f8"]], shape: [] });
 * w.appendSync([{ id: 1, v: 0.5 }, { id: 2, v: 1.5 }]);
 * w.closeSync();
 * const options: NpyStackReaderOptions = { layout: "columns" };
 * using r = NpyStackReader.openSync(dir, options);
 * const { id } = r.readSync().data as { id: Int32Array };
 * assert.deepEqual(id, Int32Array.of(1, 2));
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyStackReaderOptions {
  /**
   * Where the codec for the stack's descr comes from.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
  /**
   * How record dtypes are decoded: `"objects"` or `"columns"` (see {@link DecodeOptions}).
   * @default {"objects"}
   */
  layout?: DecodeOptions["layout"];
}

/**
 * Reads a sharded stack as one array of rows: one this library wrote (from `stack.json`),
 * or one Dask's `to_npy_stack` wrote (the facts taken from the shards' headers; the `info`
 * pickle is never unpickled). Only listed shards are read: a shard a writer still has open
 * (or left open by a crash) is not part of the stack until it closes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyStackReader, NpyStackWriter } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const w = await NpyStackWriter.open(dir, { descr: "<f8", shape: [2], shardRows: 2 });
 * await w.append([[0, 1], [2, 3], [4, 5]]);
 * await w.close();
 * {
 *   await using r = await NpyStackReader.open(dir);
 *   assert.equal(r.rows, 3);
 *   assert.deepEqual(r.shape, [3, 2]);
 *   assert.equal(r.descr, "<f8");
 *   assert.deepEqual([...(await r.read(1, 3)).data as Float64Array], [2, 3, 4, 5]);
 *   const shards = [];
 *   for await (const chunk of r.chunks()) shards.push(chunk.shape[0]);
 *   assert.deepEqual(shards, [2, 1]);
 * }
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NpyStackReader implements Disposable, AsyncDisposable {
  /** The stack's directory. */
  readonly dir: string;
  readonly #layout: StackLayout;
  readonly #dtype: Dtype;
  readonly #registry: DtypeRegistry;
  readonly #decode: DecodeOptions;
  readonly #starts: number[]; // first row of each shard, then the total
  readonly #readers = new Map<number, NpyReader>(); // the last few used, oldest first
  readonly #rowBytes: number;

  private constructor(layout: StackLayout, options: NpyStackReaderOptions) {
    this.dir = layout.dir;
    this.#layout = layout;
    this.#registry = options.registry ?? defaultRegistry;
    this.#dtype = this.#registry.resolve(layout.descr);
    this.#decode = { layout: options.layout };
    this.#rowBytes = sizeOf(layout.rowShape) * this.#dtype.itemsize;
    this.#starts = [0];
    for (const rows of layout.shardRows) this.#starts.push(this.#starts.at(-1)! + rows);
  }

  /**
   * Opens the stack in `dir`, checking every listed shard's header against the listing.
   *
   * @param dir The stack's directory.
   * @param options `registry`, `layout`.
   * @returns The reader; close it (or use `using`) to close the shards it opened.
   * @throws {NpyFormatError} When `stack.json` or a shard is malformed or missing.
   * @throws {NpyDtypeError} / {NpyShapeError} When shards disagree on descr or row shape.
   */
  static openSync(dir: string | URL, options: NpyStackReaderOptions = {}): NpyStackReader {
    dir = toPath(dir);
    checkOptionKeys(options, READER_OPTIONS, `read the stack ${quote(dir)}`);
    const registry = options.registry ?? defaultRegistry;
    return new NpyStackReader(requireLayout(dir, registry, "read the stack"), options);
  }

  /** Async twin of {@link NpyStackReader.openSync}. */
  static open(dir: string | URL, options: NpyStackReaderOptions = {}): Promise<NpyStackReader> {
    return new Promise((resolve) => resolve(NpyStackReader.openSync(dir, options)));
  }

  /** The stack's descr. */
  get descr(): Descr {
    return this.#layout.descr;
  }

  /** The shape of one row. */
  get rowShape(): readonly number[] {
    return this.#layout.rowShape;
  }

  /** The whole stack's shape: rows along {@link NpyStackReader.axis}. */
  get shape(): readonly number[] {
    const { rowShape, fortranOrder } = this.#layout;
    return fortranOrder ? [...rowShape, this.rows] : [this.rows, ...rowShape];
  }

  /** Whether the shards are in Fortran order (stacked along the last axis). */
  get fortranOrder(): boolean {
    return this.#layout.fortranOrder;
  }

  /** The axis shards are stacked along (Dask's `axis`): 0, or the last in Fortran order. */
  get axis(): number {
    return stackAxis(this.#layout.rowShape, this.#layout.fortranOrder);
  }

  /** Rows in every listed shard together. */
  get rows(): number {
    return this.#starts[this.#starts.length - 1];
  }

  /** Rows of each listed shard, `0.npy` first (Dask's chunks along the axis). */
  get shardRows(): readonly number[] {
    return this.#layout.shardRows;
  }

  /** The paths of the listed shards. */
  get shardPaths(): readonly string[] {
    return this.#layout.shardRows.map((_, i) => shardPath(this.dir, i));
  }

  /** Who wrote the listing: `"npy-stack"` (this library) or `"dask"` (`to_npy_stack`). */
  get source(): "npy-stack" | "dask" {
    return this.#layout.source;
  }

  /** Indices of shard files past the listing: left open by a running or crashed writer. */
  get unlistedShards(): readonly number[] {
    return this.#layout.unlisted;
  }

  #shard(i: number): NpyReader {
    const readers = this.#readers;
    let reader = readers.get(i);
    if (reader !== undefined) {
      readers.delete(i); // move to the end: most recently used
    } else {
      reader = NpyReader.openSync(shardPath(this.dir, i), {
        registry: this.#registry,
        layout: this.#decode.layout,
      });
      if (readers.size >= OPEN_SHARDS) {
        const [oldest, old] = readers.entries().next().value!;
        readers.delete(oldest);
        old.closeSync();
      }
    }
    readers.set(i, reader);
    return reader;
  }

  /**
   * The rows `[start, end)` as non-negative indices; negative ones count from the end, as
   * {@link NpyReader.read} takes them.
   */
  #range(start: number | undefined, end: number | undefined): [number, number] {
    return rowRange(start, end, this.rows, `the stack ${quote(this.dir)}`);
  }

  /** The pieces of rows `[start, end)`: shard index and the rows in it. */
  #plan(start: number | undefined, end: number | undefined): Array<[number, number, number]> {
    const [s, e] = this.#range(start, end);
    const starts = this.#starts;
    const pieces: Array<[number, number, number]> = [];
    // The first shard holding row s (binary search), then on until e.
    let lo = 0, hi = starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= s) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < starts.length - 1 && starts[i] < e; i++) {
      const from = Math.max(s, starts[i]) - starts[i];
      const to = Math.min(e, starts[i + 1]) - starts[i];
      if (to > from) pieces.push([i, from, to]);
    }
    return pieces;
  }

  #array(rows: number, bytes: Uint8Array): NpyArray {
    const { rowShape, fortranOrder, descr } = this.#layout;
    return {
      descr,
      shape: fortranOrder ? [...rowShape, rows] : [rows, ...rowShape],
      fortranOrder,
      data: this.#dtype.decode(bytes, { ...this.#decode, count: rows * sizeOf(rowShape) }),
    };
  }

  /**
   * Reads rows `[start, end)` of the stack, across shard boundaries.
   *
   * @param start First row.
   * @param end Row to stop before.
   * @returns The rows, shaped `[end - start, ...rowShape]` (`[...rowShape, end - start]` in
   *   Fortran order, data column-major).
   * @throws {RangeError} When the range is outside `[-rows, rows]` or `start > end`.
   */
  async read(start?: number, end?: number): Promise<NpyArray> {
    const pieces = this.#plan(start, end);
    if (pieces.length === 1) {
      const [i, from, to] = pieces[0];
      return await this.#shard(i).read(from, to);
    }
    const rows = pieces.reduce((n, [, from, to]) => n + to - from, 0);
    const bytes = new Uint8Array(rows * this.#rowBytes);
    let at = 0;
    for (const [i, from, to] of pieces) {
      bytes.set(await this.#shard(i).readBytes(from, to), at);
      at += (to - from) * this.#rowBytes;
    }
    return this.#array(rows, bytes);
  }

  /** Sync twin of {@link NpyStackReader.read}. */
  readSync(start?: number, end?: number): NpyArray {
    const pieces = this.#plan(start, end);
    if (pieces.length === 1) {
      const [i, from, to] = pieces[0];
      return this.#shard(i).readSync(from, to);
    }
    const rows = pieces.reduce((n, [, from, to]) => n + to - from, 0);
    const bytes = new Uint8Array(rows * this.#rowBytes);
    let at = 0;
    for (const [i, from, to] of pieces) {
      bytes.set(this.#shard(i).readBytesSync(from, to), at);
      at += (to - from) * this.#rowBytes;
    }
    return this.#array(rows, bytes);
  }

  #ranges(options: Pick<NpyChunksOptions, "rows" | "start" | "end">): Array<[number, number]> {
    checkOptionKeys(options, CHUNKS_OPTIONS, `read chunks of the stack ${quote(this.dir)}`);
    const [start, end] = this.#range(options.start, options.end);
    const step = options.rows;
    const out: Array<[number, number]> = [];
    if (step === undefined) {
      // One chunk per shard (Dask's chunks), cut to the range.
      for (let i = 0; i < this.#starts.length - 1; i++) {
        const s = Math.max(start, this.#starts[i]), e = Math.min(end, this.#starts[i + 1]);
        if (e > s) out.push([s, e]);
      }
      return out;
    }
    if (!Number.isSafeInteger(step) || step < 1) {
      throw new RangeError(
        `Cannot read chunks of the stack ${quote(this.dir)}: rows must be a positive integer, ` +
          `not ${step}`,
      );
    }
    for (let s = start; s < end; s += step) out.push([s, Math.min(end, s + step)]);
    return out;
  }

  /**
   * Reads the stack in chunks: one per shard by default (Dask's chunks), or of `rows` rows
   * across shard boundaries.
   *
   * @param options `rows` per chunk (default: one chunk per shard), `start`, `end` (as
   *   `NpyReader.chunks` takes them).
   * @returns An async iterator of chunks.
   * @throws {RangeError} When the range or the chunk size is invalid.
   */
  async *chunks(
    options: Pick<NpyChunksOptions, "rows" | "start" | "end"> = {},
  ): AsyncGenerator<NpyArray, void, undefined> {
    for (const [s, e] of this.#ranges(options)) yield await this.read(s, e);
  }

  /** Sync twin of {@link NpyStackReader.chunks}. */
  *chunksSync(
    options: Pick<NpyChunksOptions, "rows" | "start" | "end"> = {},
  ): Generator<NpyArray, void, undefined> {
    for (const [s, e] of this.#ranges(options)) yield this.readSync(s, e);
  }

  /** Closes the shards this reader opened; idempotent. */
  closeSync(): void {
    for (const reader of this.#readers.values()) reader.closeSync();
    this.#readers.clear();
  }

  /** Async twin of {@link NpyStackReader.closeSync}. */
  close(): Promise<void> {
    this.closeSync();
    return RESOLVED;
  }

  /** Closes the reader: `using r = …`. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** Closes the reader: `await using r = …`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// -----------------------------------------------------------------------------------------
// Merge and recovery

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
  const registry = options.registry ?? defaultRegistry;
  if (inputs.length === 0) throw new RangeError(`Cannot ${action}: no input stacks given`);
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
    for (const layout of layouts) {
      const against = `Cannot ${action}: the stack ${quote(layout.dir)}`;
      if (layout.unlisted.length > 0) {
        const path = shardPath(layout.dir, layout.unlisted[0]);
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
      if (names.some((n) => n === INFO || n === STACK_JSON || SHARD_NAME.test(n))) {
        throw Object.assign(
          new Error(`Cannot ${action}: it holds a stack already; merge into a new directory`),
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
      removeSync(join(outDir, INFO));
      removeSync(join(outDir, STACK_JSON));
      const code = (e as { code?: string }).code;
      if (code === "EXDEV") {
        throw Object.assign(
          new Error(
            `Cannot ${action}: the stacks are on different file systems, where shards can be ` +
              `neither linked nor moved (npy concat copies them into one file)`,
            { cause: e },
          ),
          { code },
        );
      }
      throw e;
    }
    // 3. Moved inputs hold no shards any more: their listings go.
    if (options.move) {
      for (const layout of layouts) {
        removeSync(join(layout.dir, INFO));
        removeSync(join(layout.dir, STACK_JSON));
      }
    }
    merged = true;
    return { rows: shardRows.reduce((a, b) => a + b, 0), shardRows };
  } finally {
    // Refused (a stack to recover first): a dead writer's lock record goes back.
    for (const lock of locks.reverse()) lock.releaseSync(!merged);
  }
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
  const registry = options.registry ?? defaultRegistry;
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
