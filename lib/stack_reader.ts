/**
 * {@link NpyStackReader}: a sharded stack read as one array of rows, across shard boundaries.
 *
 * @module
 */

import { RESOLVED } from "./_steps.ts";
import type { Descr } from "./descr.ts";
import { quote } from "./errors.ts";
import { toPath } from "./file.ts";
import { rowRange } from "./_header_io.ts";
import type { NpyArray } from "./npy.ts";
import { type NpyChunksOptions, NpyReader } from "./reader.ts";
import type { DecodeOptions, Dtype, DtypeRegistry } from "./registry.ts";
import { shardPath } from "./_stack_journal.ts";
import { registryOf, requireLayout, type StackLayout } from "./_stack_layout.ts";
import { stackAxis } from "./stack_listing.ts";
import { sizeOf } from "./_chunk.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";

/** Shard files a reader keeps open at most (stacks may have thousands of shards). */
const OPEN_SHARDS = 16;
const READER_OPTIONS = {
  registry: true,
  layout: true,
} as const satisfies OptionKeys<NpyStackReaderOptions>;
const CHUNKS_OPTIONS = { rows: true, start: true, end: true } as const;

/** Rows `[from, to)` of shard `shard`. */
interface ShardPiece {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
}

/** Where a shard's rows lie in the stack: rows `[start, end)`. */
interface ShardSpan {
  readonly start: number;
  readonly end: number;
}

/** The index of the last of `spans` that starts at or before `row` (a binary search). */
function spanAt(spans: readonly ShardSpan[], row: number): number {
  let lo = 0, hi = spans.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const span = spans[mid]; // defined: lo <= mid <= hi < spans.length
    if (span !== undefined && span.start <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

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
  readonly #spans: readonly ShardSpan[]; // of each listed shard, in order
  readonly #rows: number;
  readonly #readers = new Map<number, NpyReader>(); // the last few used, oldest first
  readonly #rowBytes: number;

  private constructor(layout: StackLayout, options: NpyStackReaderOptions) {
    this.dir = layout.dir;
    this.#layout = layout;
    this.#registry = registryOf(options);
    this.#dtype = this.#registry.resolve(layout.descr);
    this.#decode = options.layout === undefined ? {} : { layout: options.layout };
    this.#rowBytes = sizeOf(layout.rowShape) * this.#dtype.itemsize;
    let start = 0;
    this.#spans = layout.shardRows.map((rows) => ({ start, end: start += rows }));
    this.#rows = start;
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
    const registry = registryOf(options);
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
    return this.#rows;
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
        ...this.#decode,
      });
      for (const [oldest, old] of readers) {
        if (readers.size < OPEN_SHARDS) break;
        readers.delete(oldest); // the least recently used
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

  /** The pieces of rows `[start, end)`: the shard and the rows of it, in order. */
  #plan(start: number | undefined, end: number | undefined): ShardPiece[] {
    const [first, last] = this.#range(start, end);
    const spans = this.#spans;
    const pieces: ShardPiece[] = [];
    for (let shard = spanAt(spans, first); shard < spans.length; shard++) {
      const span = spans[shard];
      if (span === undefined || span.start >= last) break;
      const from = Math.max(first, span.start) - span.start;
      const to = Math.min(last, span.end) - span.start;
      if (to > from) pieces.push({ shard, from, to });
    }
    return pieces;
  }

  /** The rows of `pieces` as one array, from the bytes read of each. */
  #joined(pieces: readonly ShardPiece[], parts: readonly Uint8Array[]): NpyArray {
    const rows = pieces.reduce((n, { from, to }) => n + to - from, 0);
    const bytes = new Uint8Array(rows * this.#rowBytes);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return this.#array(rows, bytes);
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
    const [only] = pieces;
    if (only !== undefined && pieces.length === 1) {
      return await this.#shard(only.shard).read(only.from, only.to);
    }
    const parts: Uint8Array[] = [];
    for (const { shard, from, to } of pieces) {
      parts.push(await this.#shard(shard).readBytes(from, to));
    }
    return this.#joined(pieces, parts);
  }

  /** Sync twin of {@link NpyStackReader.read}. */
  readSync(start?: number, end?: number): NpyArray {
    const pieces = this.#plan(start, end);
    const [only] = pieces;
    if (only !== undefined && pieces.length === 1) {
      return this.#shard(only.shard).readSync(only.from, only.to);
    }
    const parts = pieces.map(({ shard, from, to }) => this.#shard(shard).readBytesSync(from, to));
    return this.#joined(pieces, parts);
  }

  #ranges(options: Pick<NpyChunksOptions, "rows" | "start" | "end">): Array<[number, number]> {
    checkOptionKeys(options, CHUNKS_OPTIONS, `read chunks of the stack ${quote(this.dir)}`);
    const [start, end] = this.#range(options.start, options.end);
    const step = options.rows;
    const out: Array<[number, number]> = [];
    if (step === undefined) {
      // One chunk per shard (Dask's chunks), cut to the range.
      for (const span of this.#spans) {
        const from = Math.max(start, span.start), to = Math.min(end, span.end);
        if (to > from) out.push([from, to]);
      }
      return out;
    }
    if (!Number.isSafeInteger(step) || step < 1) {
      throw new RangeError(
        `Cannot read chunks of the stack ${quote(this.dir)}: rows must be a positive integer, ` +
          `not ${step}`,
      );
    }
    for (let from = start; from < end; from += step) out.push([from, Math.min(end, from + step)]);
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
    for (const [from, to] of this.#ranges(options)) yield await this.read(from, to);
  }

  /** Sync twin of {@link NpyStackReader.chunks}. */
  *chunksSync(
    options: Pick<NpyChunksOptions, "rows" | "start" | "end"> = {},
  ): Generator<NpyArray, void, undefined> {
    for (const [from, to] of this.#ranges(options)) yield this.readSync(from, to);
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
