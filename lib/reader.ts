/**
 * Reading `.npy` files: {@link NpyReader} reads a range of rows of a file of any size without
 * loading the rest, decoded by the dtype registry. Whole arrays in one call (`loadNpy`,
 * `saveNpy`) are in `lib/load_save.ts`.
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import { quote } from "./errors.ts";
import { bytesToFill, fileError, NpyFile, toPath } from "./file.ts";
import { MAX_HEADER_SIZE, type NpyHeader, rowByteLength, rowCountOf } from "./header.ts";
import { type DecodeOptions, defaultRegistry, type Dtype, type DtypeRegistry } from "./registry.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import { resolveDescr } from "./_chunk_normalizer.ts";
import {
  type FileHeader,
  readHeader,
  readHeaderSteps,
  readHeaderSync,
  rowRange,
  truncatedError,
} from "./_header_io.ts";
import { runSteps, runStepsSync, type Steps } from "./_steps.ts";
import { type NpyArray, type NpyReaderOptions, READER_OPTIONS } from "./npy.ts";

/**
 * Options of {@link NpyReader.read} and {@link NpyReader.readSync} (and of `chunks`): how this
 * call decodes records, overriding the reader's own `layout`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyAppendArray, NpyReader, type NpyReadOptions } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "points.npy");
 * {
 *   using w = NpyAppendArray.openSync(path, { descr: [["x", "<f4"], ["n", "<i2"]] });
 *   w.appendSync([{ x: 0.5, n: 1 }, { x: 1.5, n: 2 }, { x: 2.5, n: 3 }]);
 * }
 * {
 *   using r = NpyReader.openSync(path);
 *   const columns: NpyReadOptions = { layout: "columns" };
 *   assert.deepEqual(r.readSync(-2, undefined, columns).data, {
 *     x: Float32Array.of(1.5, 2.5),
 *     n: Int16Array.of(2, 3),
 *   });
 *   assert.deepEqual(r.readSync(0, 1).data, [{ x: 0.5, n: 1 }]);
 * }
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyReadOptions {
  /**
   * For records: `"objects"` or `"columns"` (see {@link DecodeOptions}).
   * @default {the reader's `layout` option}
   */
  layout?: DecodeOptions["layout"];
}

/**
 * Options of {@link NpyReader.chunks} and {@link NpyReader.chunksSync}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { type NpyChunksOptions, NpyReader, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, Int16Array.of(0, 1, 2, 3, 4, 5, 6));
 * const options: NpyChunksOptions = { rows: 2, start: 1, end: 6 };
 * {
 *   using r = NpyReader.openSync(path);
 *   const chunks = [...r.chunksSync(options)].map((c) => [...(c.data as Int16Array)]);
 *   assert.deepEqual(chunks, [[1, 2], [3, 4], [5]]);
 * }
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyChunksOptions extends NpyReadOptions {
  /**
   * Rows per chunk (the last chunk may be shorter).
   * @default {as many rows as fit in 16 MiB, at least 1}
   */
  rows?: number;
  /**
   * First row to read; a negative one counts from the end.
   * @default {0}
   */
  start?: number;
  /**
   * Row to stop before; a negative one counts from the end.
   * @default {the row count when iteration starts}
   */
  end?: number;
  /**
   * Read the chunks into one buffer (two, taken in turn, for the async `chunks()`, which reads
   * one chunk ahead) instead of a new one each time: memory stays at one or two chunks however
   * large the file, and reading runs at the speed of a plain read loop (no fresh pages to fault
   * in). The price: a chunk's `data` may be a view of that buffer, valid only until the next
   * chunk is asked for. Copy what you keep (`data.slice()`).
   * @default {false}
   */
  reuse?: boolean;
}

const CHUNK_BYTES = 16 << 20;

const READ_OPTIONS = { layout: true } as const satisfies OptionKeys<NpyReadOptions>;
const CHUNKS_OPTIONS = {
  ...READ_OPTIONS,
  rows: true,
  start: true,
  end: true,
  reuse: true,
} as const satisfies OptionKeys<NpyChunksOptions>;

interface ReadPlan {
  position: number;
  bytes: Uint8Array;
  shape: number[];
  s: number;
  e: number;
}

/**
 * Reads rows of a `.npy` file without loading the rest: the header is read and checked on
 * open (the file size against the shape before anything is allocated), then
 * {@link NpyReader.read} reads a range of rows along the growth axis — axis 0 in C order,
 * the last axis in Fortran order, whose ranges are contiguous in the file too — and decodes
 * exactly those bytes.
 *
 * A file shorter than its header claims (a crash, a cut download) makes `open` throw
 * {@link NpyRecoveryError} unless `allowTruncated` is set; a file longer than its header
 * claims (rows written, header not yet rewritten) is read as the header says, as NumPy does.
 *
 * A 0-d array has no growth axis: `rows` is 1, `read()` returns the scalar element with
 * shape `[]`, and `chunks` yields it once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyReader, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, { data: new Float32Array([0, 1, 2, 3, 4, 5]), shape: [3, 2] });
 *
 * {
 *   await using r = await NpyReader.open(path);
 *   assert.deepEqual(r.shape, [3, 2]);
 *   assert.equal(r.rows, 3);
 *   const part = await r.read(1, 3);
 *   assert.deepEqual(part.shape, [2, 2]);
 *   assert.deepEqual([...(part.data as Float32Array)], [2, 3, 4, 5]);
 *   let rows = 0;
 *   for await (const chunk of r.chunks({ rows: 2 })) rows += chunk.shape[0] ?? 0;
 *   assert.equal(rows, 3);
 * }
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NpyReader implements Disposable, AsyncDisposable {
  #file: NpyFile;
  #state: FileHeader;
  #dtype: Dtype;
  #registry: DtypeRegistry;
  #layout: DecodeOptions["layout"];
  #maxHeaderSize: number;
  #allowTruncated: boolean;

  private constructor(file: NpyFile, state: FileHeader, options: NpyReaderOptions) {
    this.#file = file;
    this.#registry = options.registry ?? defaultRegistry;
    this.#layout = options.layout;
    this.#maxHeaderSize = options.maxHeaderSize ?? MAX_HEADER_SIZE;
    this.#allowTruncated = options.allowTruncated ?? false;
    this.#state = state;
    this.#dtype = this.#resolve(state.header);
    this.#checkSize();
  }

  /**
   * Opens `path` and reads its header.
   *
   * @param path The `.npy` file.
   * @param options `registry`, `layout`, `maxHeaderSize`, `allowTruncated`.
   * @returns An open reader; close it (or use `await using`).
   * @throws {NpyFormatError} When the file is not a valid `.npy` file.
   * @throws {NpyDtypeError} When no registered dtype handles the file's descr.
   * @throws {NpyRecoveryError} When the data is shorter than the header claims.
   */
  static async open(path: string | URL, options: NpyReaderOptions = {}): Promise<NpyReader> {
    path = toPath(path);
    checkOptionKeys(options, READER_OPTIONS, `open ${quote(path)}`);
    let file: NpyFile | undefined;
    try {
      file = await NpyFile.open(path, "r");
      return new NpyReader(file, await readHeader(file, options.maxHeaderSize), options);
    } catch (e) {
      file?.closeSync();
      throw fileError(e, `read ${quote(path)}`, path);
    }
  }

  /** Sync twin of {@link NpyReader.open}. */
  static openSync(path: string | URL, options: NpyReaderOptions = {}): NpyReader {
    path = toPath(path);
    checkOptionKeys(options, READER_OPTIONS, `open ${quote(path)}`);
    let file: NpyFile | undefined;
    try {
      file = NpyFile.openSync(path, "r");
      return new NpyReader(file, readHeaderSync(file, options.maxHeaderSize), options);
    } catch (e) {
      file?.closeSync();
      throw fileError(e, `read ${quote(path)}`, path);
    }
  }

  #resolve(header: NpyHeader): Dtype {
    const target = { action: `read ${quote(this.path)}`, path: this.path };
    return resolveDescr(this.#registry, header.descr, target, "the file's descr");
  }

  #checkSize(): void {
    const { header, size, dataBytes } = this.#state;
    const actual = size - header.headerLength;
    if (actual < dataBytes && !this.#allowTruncated) {
      throw truncatedError(this.path, "read", dataBytes, actual);
    }
  }

  /** The file's path. */
  get path(): string {
    return this.#file.path;
  }

  /** The parsed header (as of the last open or refresh). */
  get header(): NpyHeader {
    return this.#state.header;
  }

  /** The file's descr. */
  get descr(): Descr {
    return this.#state.header.descr;
  }

  /** The file's shape, as its header says. */
  get shape(): readonly number[] {
    return this.#state.header.shape;
  }

  /** Whether the file is column-major (grows along its last axis). */
  get fortranOrder(): boolean {
    return this.#state.header.fortranOrder;
  }

  /** Rows along the growth axis, as the header says; 1 for a 0-d array. */
  get rows(): number {
    const { shape, fortranOrder } = this.#state.header;
    return rowCountOf(shape, fortranOrder) ?? 1;
  }

  /** Bytes of one row along the growth axis (the whole element for a 0-d array). */
  get rowBytes(): number {
    return rowByteLength(this.#state.header);
  }

  /**
   * Rows whose bytes are all in the file: `rows`, unless the file is truncated and was
   * opened with `allowTruncated`.
   */
  get availableRows(): number {
    const { header, size } = this.#state;
    const rowBytes = this.rowBytes;
    if (rowBytes === 0) return this.rows;
    const whole = Math.floor(Math.max(0, size - header.headerLength) / rowBytes);
    return Math.min(this.rows, whole);
  }

  /**
   * The rows `[start, end)` as non-negative indices. Negative ones count from the end, as in
   * a Python slice; unlike a slice, a range reaching outside the array is an error, not cut.
   */
  #range(start: number | undefined, end: number | undefined): [number, number] {
    return rowRange(start, end, this.rows, quote(this.path));
  }

  /** Where and what to read for rows `[start, end)`; into `buffer` when it is given. */
  #plan(start: number | undefined, end: number | undefined, buffer?: Uint8Array): ReadPlan {
    const { header } = this.#state;
    const [s, e] = this.#range(start, end);
    if (header.shape.length === 0 && (s !== 0 || e !== 1)) {
      throw new RangeError(
        `Cannot read rows [${s}, ${e}) of ${quote(this.path)}: a 0-d array has only the ` +
          `range [0, 1), its scalar`,
      );
    }
    const rowBytes = this.rowBytes;
    if (e > this.availableRows) {
      const dataBytes = this.#state.dataBytes;
      throw truncatedError(
        this.path,
        `read rows [${s}, ${e}) of`,
        dataBytes,
        Math.max(0, this.#state.size - header.headerLength),
      );
    }
    let shape: number[];
    if (header.shape.length === 0) shape = [];
    else if (header.fortranOrder) shape = [...header.shape.slice(0, -1), e - s];
    else shape = [e - s, ...header.shape.slice(1)];
    return {
      position: header.headerLength + s * rowBytes,
      bytes: buffer?.subarray(0, (e - s) * rowBytes) ?? bytesToFill((e - s) * rowBytes),
      shape,
      s,
      e,
    };
  }

  #finish(plan: ReadPlan, n: number, options: NpyReadOptions): NpyArray {
    this.#checkRead(plan, n);
    const { header } = this.#state;
    const layout = options.layout ?? this.#layout;
    const count = plan.shape.reduce((a, b) => a * b, 1);
    return {
      descr: header.descr,
      shape: plan.shape,
      fortranOrder: header.fortranOrder,
      data: this.#dtype.decode(plan.bytes, layout === undefined ? { count } : { layout, count }),
    };
  }

  #checkRead(plan: ReadPlan, n: number): void {
    if (n < plan.bytes.length) {
      // The file shrank since the header was read.
      throw truncatedError(
        this.path,
        `read rows [${plan.s}, ${plan.e}) of`,
        this.#state.dataBytes,
        plan.position - this.#state.header.headerLength + n,
      );
    }
  }

  /**
   * Reads rows `[start, end)` along the growth axis. Allocates only those rows' bytes.
   * Negative indices count from the end, as in a Python slice: `read(-2)` reads the last two
   * rows. Unlike a slice, a range that reaches outside the array throws instead of being cut.
   *
   * @param start First row.
   * @param end Row to stop before.
   * @param options `layout` for records (defaults to the reader's).
   * @returns The rows, shaped `[end - start, ...]` (C order) or `[..., end - start]`
   *   (Fortran order, data column-major).
   * @throws {RangeError} When the range is outside `[-rows, rows]` or `start > end`.
   * @throws {NpyRecoveryError} When the rows are not all in the file.
   */
  async read(start?: number, end?: number, options: NpyReadOptions = {}): Promise<NpyArray> {
    checkOptionKeys(options, READ_OPTIONS, `read ${quote(this.path)}`);
    const plan = this.#plan(start, end);
    return this.#finish(plan, await this.#file.read(plan.bytes, plan.position), options);
  }

  /** Sync twin of {@link NpyReader.read}. */
  readSync(start?: number, end?: number, options: NpyReadOptions = {}): NpyArray {
    checkOptionKeys(options, READ_OPTIONS, `read ${quote(this.path)}`);
    const plan = this.#plan(start, end);
    return this.#finish(plan, this.#file.readSync(plan.bytes, plan.position), options);
  }

  /**
   * Reads rows `[start, end)` along the growth axis as the file stores them: the bytes,
   * undecoded (the file's byte order; column-major in Fortran order). Negative indices
   * count from the end, as in {@link NpyReader.read}.
   *
   * @param start First row.
   * @param end Row to stop before.
   * @returns A fresh buffer of `(end - start) * rowBytes` bytes.
   * @throws {RangeError} When the range is outside `[-rows, rows]` or `start > end`.
   * @throws {NpyRecoveryError} When the rows are not all in the file.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * import { NpyReader, saveNpySync } from "@npy/append-array";
   *
   * const dir = mkdtempSync(join(tmpdir(), "npy-"));
   * const path = join(dir, "a.npy");
   * saveNpySync(path, Uint16Array.of(1, 2, 3), { descr: ">u2" });
   * {
   *   await using r = await NpyReader.open(path);
   *   assert.deepEqual(await r.readBytes(1, 3), Uint8Array.of(0, 2, 0, 3)); // big-endian
   * }
   * rmSync(dir, { recursive: true });
   * ```
   */
  async readBytes(start?: number, end?: number): Promise<Uint8Array> {
    const plan = this.#plan(start, end);
    this.#checkRead(plan, await this.#file.read(plan.bytes, plan.position));
    return plan.bytes;
  }

  /** Sync twin of {@link NpyReader.readBytes}. */
  readBytesSync(start?: number, end?: number): Uint8Array {
    const plan = this.#plan(start, end);
    this.#checkRead(plan, this.#file.readSync(plan.bytes, plan.position));
    return plan.bytes;
  }

  #ranges(options: NpyChunksOptions): Array<[number, number]> {
    checkOptionKeys(options, CHUNKS_OPTIONS, `read chunks of ${quote(this.path)}`);
    // A 0-d array is read whole, once: its scalar is row [0, 1).
    if (this.#state.header.shape.length === 0) return [[0, 1]];
    const [start, end] = this.#range(options.start, options.end);
    const step = options.rows ?? Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, this.rowBytes)));
    if (!Number.isSafeInteger(step) || step < 1) {
      throw new RangeError(
        `Cannot read chunks of ${quote(this.path)}: rows must be a positive integer, not ${step}`,
      );
    }
    const out: Array<[number, number]> = [];
    for (let s = start; s < end; s += step) out.push([s, Math.min(end, s + step)]);
    return out;
  }

  /**
   * Reads rows in chunks of `rows`, each a fresh {@link NpyArray}. The range is fixed when
   * iteration starts: rows appended later are not included.
   *
   * @param options `rows` per chunk, `start`, `end`, `layout`.
   * @returns An async iterator of chunks.
   * @throws {RangeError} When the range or the chunk size is invalid.
   */
  async *chunks(options: NpyChunksOptions = {}): AsyncGenerator<NpyArray, void, undefined> {
    const { layout } = options;
    // One read ahead: the next chunk is on its way (on the thread pool, when large) while
    // this one is with the caller, so the round trip to the pool costs no time per chunk.
    // What goes wrong ahead (a read error, rows not in the file) is told only once the
    // chunks before it are delivered.
    const plans = this.#chunkPlans(options, 2);
    let failure: { error: unknown } | undefined;
    const ahead = () => {
      try {
        const next = plans.next();
        if (next.done) return undefined;
        const plan = next.value;
        const read = this.#file.read(plan.bytes, plan.position).then((n) => ({ plan, n }));
        read.catch(() => {}); // handled when awaited, maybe after the caller's turn
        return read;
      } catch (error) {
        failure = { error };
        return undefined;
      }
    };
    for (let pending = ahead(); pending !== undefined;) {
      const { plan, n } = await pending;
      pending = ahead();
      yield this.#finish(plan, n, { layout });
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Sync twin of {@link NpyReader.chunks}. */
  *chunksSync(options: NpyChunksOptions = {}): Generator<NpyArray, void, undefined> {
    const { layout } = options;
    for (const plan of this.#chunkPlans(options)) {
      yield this.#finish(plan, this.#file.readSync(plan.bytes, plan.position), { layout });
    }
  }

  /**
   * The read plans of `chunks`: into `buffers` buffers in turn when the caller allows their
   * reuse (two for the async form, which reads one chunk ahead), else a new one each.
   */
  *#chunkPlans(options: NpyChunksOptions, buffers = 1): Generator<ReadPlan, void, undefined> {
    const ranges = this.#ranges(options);
    // The first chunk is the longest: the others fit in its buffer. Zeroed (not
    // bytesToFill): a shorter last chunk leaves the buffer's tail unread, and it shows
    // through the chunk's `.buffer`.
    const [first] = ranges;
    const reused = options.reuse === true && first !== undefined
      ? Array.from({ length: buffers }, () => new Uint8Array((first[1] - first[0]) * this.rowBytes))
      : undefined;
    let i = 0;
    for (const [s, e] of ranges) yield this.#plan(s, e, reused?.[i++ % buffers]);
  }

  #update(state: FileHeader): number {
    const old = this.#state.header.descr;
    const oldState = this.#state;
    this.#state = state;
    try {
      if (!descrEquals(old, state.header.descr)) {
        this.#dtype = this.#resolve(state.header);
      }
      this.#checkSize();
    } catch (e) {
      this.#state = oldState;
      throw e;
    }
    return this.rows;
  }

  /**
   * Re-reads the header (through the open file, so a file replaced by a rename is not seen:
   * open it again) to pick up rows a writer appended since. A header read while another
   * process rewrites it is retried.
   *
   * @returns The new row count.
   * @throws {NpyFormatError} When the header is no longer valid.
   * @throws {NpyRecoveryError} When the data is now shorter than the header claims.
   */
  refresh(): Promise<number> {
    return runSteps(this.#refreshSteps());
  }

  /** Sync twin of {@link NpyReader.refresh}. */
  refreshSync(): number {
    return runStepsSync(this.#refreshSteps());
  }

  /** Rereads the header; one caught mid-rewrite is read again, twice at most, 5 ms apart. */
  *#refreshSteps(): Steps<number> {
    for (let attempt = 1;; attempt++) {
      try {
        return this.#update(yield* readHeaderSteps(this.#file, this.#maxHeaderSize));
      } catch (e) {
        if (attempt >= 3 || !(e instanceof SyntaxError)) throw e;
      }
      yield { pause: 5 };
    }
  }

  /** Closes the file; idempotent. */
  close(): Promise<void> {
    this.#file.closeSync();
    return Promise.resolve();
  }

  /** Sync twin of {@link NpyReader.close}. */
  closeSync(): void {
    this.#file.closeSync();
  }

  /** Closes the file (`using r = NpyReader.openSync(…)`). */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** Closes the file (`await using r = await NpyReader.open(…)`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
