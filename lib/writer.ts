/**
 * {@link NpyAppendArray}: grows a `.npy` file past the size of memory by appending rows,
 * rewriting the header in place after each append so that `numpy.load(path,
 * mmap_mode="r")` opens the file at any moment and sees a prefix of the appended rows.
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import {
  NpyDtypeError,
  NpyHeaderSpaceError,
  NpyRecoveryError,
  NpyShapeError,
  quote,
} from "./errors.ts";
import {
  createError,
  existsSync,
  fileError,
  fsyncDirSync,
  NpyFile,
  publishSync,
  realPathSync,
  removeSync,
  SMALL_IO,
  tempPathBeside,
  toPath,
  writableModeSync,
} from "./file.ts";
import { encodeHeader, type HeaderFields, headerRewriter, type NpyVersion } from "./header.ts";
import {
  type Casting,
  defaultRegistry,
  descrText,
  type Dtype,
  type DtypeRegistry,
  type EncodeOptions,
} from "./registry.ts";
import { readHeaderSync, rowsOf } from "./_header_io.ts";
import { hasGrowthRoom, recoverFileSync } from "./repair.ts";
import type { NpyArrayLike, NpyChunk } from "./npy.ts";
import { hasCommitTrace, WriterLock } from "./_lock.ts";
import { backgroundTimeout, pin, track, untrack } from "./_exit.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import { runSteps, runStepsSync, type Steps } from "./_steps.ts";
import {
  appendError,
  type AppendTarget,
  chunkBytes,
  type ChunkParts,
  flattenNested,
  inferDescr,
  isRawBytes,
  reverseAxes,
  rowShapeError,
  shapeText,
  sizeOf,
  splitChunk,
} from "./_chunk.ts";
import { isTypedArray } from "./_typed.ts";

/**
 * Options of {@link NpyAppendArray.open}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyAppendArray, type NpyAppendArrayOptions } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const options: NpyAppendArrayOptions = {
 *   mode: "create", // fail if the file exists
 *   descr: "<f4",
 *   shape: [3], // rows of 3: the file exists, with shape (0, 3), right after open
 *   durability: "append", // fdatasync around every header rewrite
 *   bufferSize: 1 << 16, // coalesce small appends into 64 KiB writes
 * };
 * const w = await NpyAppendArray.open(join(dir, "a.npy"), options);
 * assert.deepEqual(w.shape, [0, 3]);
 * await w.append(Float32Array.of(1, 2, 3, 4, 5, 6));
 * assert.deepEqual(w.shape, [2, 3]);
 * await w.close();
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyAppendArrayOptions {
  /**
   * `"append"`: open the file if it exists (and append to it), else create it.
   * `"create"`: create the file; fail if it exists. `"overwrite"`: start a fresh file,
   * replacing any old one. A new file (or the replacement) is written beside the path and
   * gets its name only once it holds a valid header (at `open` when `descr` and `shape` are
   * given, else at the first append): a crash before leaves the path as it was.
   * @default {"append"}
   */
  mode?: "append" | "create" | "overwrite";
  /**
   * The dtype of a new file, e.g. `"<f4"` or `[["t", "<i8"], ["xy", "<f4", [2]]]`. With
   * `shape` too, the file is created with 0 rows at once. By default the first chunk decides
   * (TypedArrays their type; JS numbers `<f8`, bigints `<i8`, booleans `|b1`). For an
   * existing file it must match the file's.
   * @default {undefined}
   */
  descr?: Descr;
  /**
   * The row shape (`[3, 4]`) or the full shape with 0 rows (`[0, 3, 4]`; `[3, 4, 0]` in
   * Fortran order) of a new file. By default the first chunk decides. For an existing file
   * it must match the file's.
   * @default {undefined}
   */
  shape?: readonly number[];
  /**
   * Create the file in Fortran (column-major) order: it grows along its last axis, and
   * chunks (given in C order, shape `(...rowShape, k)`) are reordered before writing.
   * Ignored for an existing file unless it contradicts the file's order (an error).
   * @default {false}
   */
  fortranOrder?: boolean;
  /**
   * The dtype codecs.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
  /**
   * How strictly TypedArray chunks, and chunks with a `descr` of their own (cast as NumPy's
   * `astype` does), must match the file's dtype: NumPy's `can_cast` rules. Plain JS numbers
   * are accepted when their value fits.
   * @default {"same_kind"}
   */
  casting?: Casting;
  /**
   * Rewrite the header after every append, so the file always shows every acknowledged
   * append. `false`: only at `flush`, at `close` and when the write buffer is written
   * (until then NumPy sees the old shape). The header is the commit record: after a crash,
   * `recover` rolls the file back to the rows it claims.
   * @default {true}
   */
  rewriteHeaderOnAppend?: boolean;
  /**
   * How durable appends are, by when they `fdatasync`: `"none"` never; `"close"` once when
   * closing; `"append"` around
   * every header write (the data is synced before the header that claims it, then the
   * header), which makes every acknowledged append survive a power loss.
   * @default {"close"}
   */
  durability?: "none" | "close" | "append";
  /**
   * Coalesce appends smaller than this many bytes into one buffer written when full (and at
   * `flush`/`close`); 0 writes every append at once. Buffered rows reach the file, and its
   * header, only when the buffer is written; each such write rewrites the header, so a
   * crash keeps whole appends only.
   * @default {0}
   */
  bufferSize?: number;
  /**
   * Take the file's single-writer lock (`<path>.lock`, created exclusively, removed on
   * close): a second writer, in any process or runtime, gets an {@link NpyLockError} naming
   * the holder; a lock left by a dead process on this host is taken over. `false` for file
   * systems where exclusive creation does not work.
   * @default {true}
   */
  lock?: boolean;
  /**
   * What to do when an existing file's data does not match its header (a crash or a cut
   * copy): `"error"` throws {@link NpyRecoveryError}; `"truncate"` rolls a file this
   * library's writer left (its lock file is there) back to the rows its header claims,
   * else keeps the whole rows found and drops a partial last row; `"zeroFill"` does the
   * same but completes a partial last row of another tool's file with zeros. Both rewrite
   * the header to the rows kept (see `recover`).
   * @default {"error"}
   */
  onRecovery?: "error" | "truncate" | "zeroFill";
  /**
   * Refuse existing headers longer than this many characters, as `numpy.load` does.
   * @default {10_000}
   */
  maxHeaderSize?: number;
  /**
   * With `bufferSize` or `rewriteHeaderOnAppend: false`: write the buffered rows and the
   * header at least every this many milliseconds, even when no append follows, so that
   * readers (NumPy in another process) are never more than about this far behind. Each such
   * flush is a commit, as any flush is. The timer does not keep the process alive.
   * @default {undefined (no timer: rows land when the buffer fills, at flush() and close())}
   */
  flushInterval?: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Runs `op` now, as a promise: settled already, or rejected with what it threw. */
function settle(op: () => void): Promise<void> {
  try {
    op();
    return RESOLVED;
  } catch (e) {
    return Promise.reject(e);
  }
}
function noop(): void {}

function errnoCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/**
 * Appends rows to a `.npy` file, in place: each append writes the rows after the data and
 * then rewrites the header (one positional write of the same length) with the new shape, so
 * `numpy.load(path, mmap_mode="r")` opens the file at any moment and sees exactly the rows
 * appended so far. Memory use stays flat however large the file grows; chunks are written
 * as they are (no copy) when they already have the file's layout.
 *
 * Chunks: any TypedArray (a flat one holds whole rows once the row shape is known, in the
 * file's own order: column blocks in Fortran order), nested JS arrays (`[[1, 2], [3, 4]]`),
 * arrays of records, ndarray-likes `{ data, shape, descr?, fortranOrder? }` and scijs
 * `ndarray` objects. The first chunk fixes the dtype and the row shape, unless
 * `options.descr` and `options.shape` declared them (then the file exists with 0 rows right
 * after opening).
 *
 * Invalid chunks (wrong row shape, a dtype the casting rule refuses, ragged nesting) throw
 * {@link NpyShapeError} or {@link NpyDtypeError} before anything is written. Appends made
 * without awaiting land in call order. One writer per file, across processes (see the
 * `lock` option).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyAppendArray } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "out.npy");
 * {
 *   await using w = await NpyAppendArray.open(path);
 *   await w.append([[1, 2], [3, 4]]);
 *   await w.append(Float64Array.of(5, 6, 7, 8, 9, 10)); // three rows of two
 *   assert.deepEqual(w.shape, [5, 2]);
 *   assert.equal(w.descr, "<f8");
 * } // closed here: numpy.load(path) gives a (5, 2) float64 array
 * using again = NpyAppendArray.openSync(path); // appends to the existing file
 * again.appendSync([[11, 12]]);
 * assert.deepEqual(again.shape, [6, 2]);
 * again.closeSync();
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NpyAppendArray implements AsyncDisposable, Disposable {
  /** The file being written. */
  readonly path: string;
  readonly #where: string;
  readonly #named: AppendTarget; // what append errors name
  #file: NpyFile;
  readonly #lock: WriterLock | undefined;
  readonly #registry: DtypeRegistry;
  readonly #encode: EncodeOptions;
  readonly #rewriteOnAppend: boolean;
  readonly #durability: "none" | "close" | "append";
  #fortran: boolean;
  // A new file, or one replacing the old ("overwrite"), is written as a temp file beside the
  // path and given its name once it holds a valid header: the path never holds an empty or
  // partial file, only the old one or a valid .npy.
  readonly #make: "new" | "replace" | undefined;
  readonly #target: string; // the file replaced: the path, or where its symlink points
  #temp: string | undefined; // the temp file, until it has the path's name

  #exitToken: object | undefined; // see lib/_exit.ts
  #pinned = false;
  /** `flushInterval`, and the timer armed while rows wait for it. */
  readonly #flushInterval: number | undefined;
  #flushTimer: unknown;
  #finished = false; // the file is closed and the lock released

  // What the file holds: fixed by the header, the options or the first chunk.
  #dtype: Dtype | undefined;
  #declaredDescr: Descr | undefined;
  #rowShape: number[] | undefined;
  #rowElems = 0;
  #rowBytes = 0;
  #raw: { descr: Descr; source: Dtype; same: boolean } | undefined; // see #rawSource

  // The header on disk: its length, and its bytes for a row count (lib/header.ts).
  #headerLength = 0;
  #rewrite: ReturnType<typeof headerRewriter> | undefined;

  #rows = 0; // rows accepted (written, buffered or queued)
  #rowsWritten = 0; // rows whose data is in the file
  #rowsInHeader = -1; // rows the header on disk claims (-1: no header yet)
  #lastRows = 0; // rows of the chunk #prepare handled last
  #viewable: unknown = undefined; // a TypedArray constructor the dtype views as is
  #layoutDescr: unknown = undefined; // an ndarray-like descr value found equal to the file's

  #buffer: Uint8Array | undefined;
  #bufferLength = 0;
  #bufferRows = 0;

  #queue: Promise<void> | undefined; // the tail of queued operations (never rejects)
  #pending = 0; // operations queued and not yet settled
  #closed = false;
  #failed: unknown = undefined;
  #writable: WritableStream<NpyChunk> | undefined;

  private constructor(
    path: string,
    file: NpyFile,
    lock: WriterLock | undefined,
    make: "new" | "replace" | undefined,
    target: string,
    temp: string | undefined,
    options: NpyAppendArrayOptions,
    fortran: boolean,
  ) {
    this.path = path;
    this.#where = quote(path);
    this.#named = { where: this.#where, noun: "file", path };
    this.#file = file;
    this.#lock = lock;
    this.#make = make;
    this.#target = target;
    this.#temp = temp;
    this.#registry = options.registry ?? defaultRegistry;
    this.#encode = { casting: options.casting ?? "same_kind" };
    this.#rewriteOnAppend = options.rewriteHeaderOnAppend ?? true;
    this.#flushInterval = options.flushInterval;
    this.#durability = options.durability ?? "close";
    this.#fortran = fortran;
    const bufferSize = options.bufferSize ?? 0;
    if (bufferSize > 0) this.#buffer = new Uint8Array(bufferSize);
  }

  /**
   * Opens `path` for appending (see {@link NpyAppendArrayOptions} for the modes).
   *
   * @param path The `.npy` file.
   * @param options Mode, declared dtype and shape, durability, buffering, locking….
   * @returns The writer; close it (or use `using`) to release the file.
   * @throws {NpyLockError} When another writer holds the file.
   * @throws {NpyFormatError} When an existing file is not a `.npy` file.
   * @throws {NpyHeaderSpaceError} When an existing file's header has no room to grow
   *   (`ensureAppendable` gives it room): refused at once, before any append.
   * @throws {NpyRecoveryError} When an existing file's data does not match its header and
   *   `onRecovery` is `"error"`.
   * @throws {NpyDtypeError} / {NpyShapeError} When the options contradict the file, or
   *   (`NpyShapeError`) the file holds a 0-d array, which cannot grow.
   * @throws A system error (`code` kept: `ENOENT`, `EACCES`, `EISDIR`…) worded for `path`.
   */
  static openSync(path: string | URL, options: NpyAppendArrayOptions = {}): NpyAppendArray {
    path = toPath(path);
    const where = quote(path);
    const mode = options.mode ?? "append";
    checkOptions(where, options);
    const lock = options.lock === false
      ? undefined
      : WriterLock.acquireSync(path, `open ${where} for appending`, true);
    let file: NpyFile | undefined;
    let temp: string | undefined;
    let writer: NpyAppendArray | undefined;
    try {
      // A dead writer's temp file (killed before its new file had a header): not kept.
      if (lock?.tookOverWriter) removeSync(tempPathBeside(path, "new"));
      // Nothing is created or replaced here: see #make.
      let make: "new" | "replace" | undefined;
      let target = path;
      let replacedMode: number | undefined;
      if (mode === "overwrite") {
        replacedMode = writableModeSync(path); // refuses a directory, a read-only file
        if (replacedMode === undefined) {
          make = "new";
        } else {
          make = "replace";
          target = realPathSync(path) ?? path; // a symlink keeps pointing at the new file
        }
      } else if (mode === "create") {
        if (existsSync(path)) throw existsError(where);
        make = "new";
      } else {
        try {
          file = NpyFile.openSync(path, "r+");
        } catch (e) {
          if (errnoCode(e) !== "ENOENT") throw e;
          make = "new";
        }
      }
      if (make !== undefined) {
        // One name per path: the next writer (holding the lock) reuses what a killed one left.
        temp = tempPathBeside(target, "new");
        try {
          file = NpyFile.openSync(temp, "w+");
        } catch (e) {
          throw createError(e, `open ${where} for appending`, path); // names the path, not temp
        }
        if (replacedMode !== undefined) file.chmodSync(replacedMode);
      }
      const fortran = options.fortranOrder ?? false;
      writer = new NpyAppendArray(path, file!, lock, make, target, temp, options, fortran);
      if (file!.sizeSync() > 0) {
        writer.#loadExisting(options);
      } else {
        writer.#declare(options);
      }
      writer.#exitToken = track(writer, path, lock, NpyAppendArray.#atExit);
      return writer;
    } catch (e) {
      file?.closeSync();
      // The temp file, unless it already has the path's name (an error after publishing).
      if (temp !== undefined && (writer === undefined || writer.#temp !== undefined)) {
        removeSync(temp);
      }
      lock?.releaseSync(true); // a dead writer's file may be left to recover: keep its trace
      // A system error (EACCES, EISDIR…) names the user's file, in our words.
      throw fileError(e, `open ${where} for appending`, path);
    }
  }

  /**
   * Async twin of {@link NpyAppendArray.openSync}.
   *
   * @param path The `.npy` file.
   * @param options Mode, declared dtype and shape, durability, buffering, locking….
   * @returns The writer; close it (or use `await using`) to release the file.
   */
  static open(path: string | URL, options: NpyAppendArrayOptions = {}): Promise<NpyAppendArray> {
    return new Promise((resolve) => resolve(NpyAppendArray.openSync(path, options)));
  }

  /** The file's dtype; `undefined` until declared or fixed by the first chunk. */
  get descr(): Descr | undefined {
    return this.#dtype?.descr;
  }

  /** Whether the file is in Fortran order (grows along its last axis). */
  get fortranOrder(): boolean {
    return this.#fortran;
  }

  /** Rows appended so far, the file's own included (buffered ones too). */
  get rows(): number {
    return this.#rows;
  }

  /**
   * The array's shape with every row appended so far (buffered ones included);
   * `undefined` until the row shape is known.
   */
  get shape(): number[] | undefined {
    const r = this.#rowShape;
    if (r === undefined) return undefined;
    return this.#fortran ? [...r, this.#rows] : [this.#rows, ...r];
  }

  /** Whether {@link NpyAppendArray.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Appends the rows of `chunk`. The chunk is checked and encoded before anything is
   * written; calls not awaited land in call order. Do not modify a TypedArray chunk until
   * the returned promise settles (it may be written without a copy).
   *
   * @param chunk A TypedArray, a nested array, an array of records, an ndarray-like.
   * @returns A promise settled when the rows are written (or buffered).
   * @throws {NpyShapeError} When the chunk's row shape does not match the file's.
   * @throws {NpyDtypeError} When the chunk cannot be cast to the file's dtype.
   */
  append(chunk: NpyChunk): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = this.#prepare(chunk);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#queue === undefined && this.#buffered(bytes, this.#lastRows)) return RESOLVED;
    const steps = this.#commitSteps(bytes, this.#lastRows);
    // Small commits run at once (two positional writes take microseconds; an awaited write
    // on the thread pool would cost ten times more); large ones leave the event loop free.
    if (this.#runsNow(this.#bytesToWrite(bytes.length))) return settle(() => runStepsSync(steps));
    return this.#enqueue(() => runSteps(steps));
  }

  /**
   * Sync twin of {@link NpyAppendArray.append}.
   *
   * @param chunk A TypedArray, a nested array, an array of records, an ndarray-like.
   * @throws {NpyShapeError} When the chunk's row shape does not match the file's.
   * @throws {NpyDtypeError} When the chunk cannot be cast to the file's dtype.
   */
  appendSync(chunk: NpyChunk): void {
    this.#checkIdle("appendSync");
    const bytes = this.#prepare(chunk);
    if (!this.#buffered(bytes, this.#lastRows)) {
      runStepsSync(this.#commitSteps(bytes, this.#lastRows));
    }
  }

  /**
   * Appends every chunk an (async) iterable yields, in order, awaiting each.
   *
   * @param chunks Chunks as {@link NpyAppendArray.append} takes them.
   * @returns The number of rows appended.
   */
  async appendFrom(chunks: AsyncIterable<NpyChunk> | Iterable<NpyChunk>): Promise<number> {
    const before = this.#rows;
    for await (const chunk of chunks) await this.append(chunk);
    return this.#rows - before;
  }

  /**
   * A `WritableStream` of chunks, with backpressure: each chunk is appended as by
   * {@link NpyAppendArray.append}. Closing (or aborting) the stream closes the writer.
   * The same stream is returned each time.
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
   * Writes buffered rows and, if it is behind, the header (with `durability: "append"`, synced).
   * @returns A promise settled when the file shows every row appended so far.
   */
  flush(): Promise<void> {
    if (this.#closed) return this.#queue ?? RESOLVED;
    if (this.#runsNow(this.#bufferLength)) return settle(() => runStepsSync(this.#flushSteps()));
    return this.#enqueue(() => runSteps(this.#flushSteps()));
  }

  /** Sync twin of {@link NpyAppendArray.flush}. */
  flushSync(): void {
    if (this.#closed) return;
    this.#checkIdle("flushSync");
    runStepsSync(this.#flushSteps());
  }

  /**
   * Flushes, syncs (unless `durability: "none"`), closes the file and releases the lock.
   * Idempotent; later appends throw.
   * @returns A promise settled when the file is closed.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#queue ?? RESOLVED;
    this.#closed = true;
    // fdatasync at close may take long (all the dirty pages): off the event loop.
    const syncs = this.#durability !== "none" && this.#headerLength > 0;
    if (!syncs && this.#runsNow(this.#bufferLength)) return settle(() => this.#closeNow());
    return this.#enqueue(async () => {
      let finished = false;
      try {
        await runSteps(this.#finishSteps());
        finished = true;
      } finally {
        this.#closeNow(finished);
      }
    });
  }

  /** Sync twin of {@link NpyAppendArray.close}. */
  closeSync(): void {
    if (this.#closed) return;
    this.#checkIdle("closeSync");
    this.#closed = true;
    this.#closeNow();
  }

  /** Closes the writer, as {@link NpyAppendArray.close}: `await using w = …`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the writer, as {@link NpyAppendArray.closeSync}: `using w = …`. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  // ---------------------------------------------------------------------------------------
  // Opening

  /** Reads an existing file's header; recovers it if asked. */
  #loadExisting(options: NpyAppendArrayOptions): void {
    let file = this.#file;
    let state = readHeaderSync(file, options.maxHeaderSize);
    let { header } = state;
    const actual = state.size - header.headerLength;
    if (actual !== state.dataBytes) {
      const how = options.onRecovery ?? "error";
      if (how === "error") {
        throw new NpyRecoveryError(
          `Cannot open ${this.#where} for appending: its data is ${actual} bytes but the ` +
            `header claims ${state.dataBytes} (a crash or a cut copy); pass ` +
            `{ onRecovery: "truncate" } or "zeroFill", or call recover() first`,
          { path: this.path, expectedBytes: state.dataBytes, actualBytes: actual },
        );
      }
      // This writer holds the lock (or was opened with lock: false): a dead writer's lock it
      // took over, or the lock file as it is, tells whether the header is the commit record.
      const committed = this.#lock !== undefined
        ? this.#lock.tookOverWriter
        : hasCommitTrace(this.path);
      recoverFileSync(this.path, {
        zeroFill: how === "zeroFill",
        maxHeaderSize: options.maxHeaderSize,
      }, committed);
      // recover() may have replaced the file (rewritten beside it and renamed): reopen.
      file.closeSync();
      file = this.#file = NpyFile.openSync(this.path, "r+");
      state = readHeaderSync(file, options.maxHeaderSize);
      header = state.header;
    }
    let dtype: Dtype;
    try {
      dtype = this.#registry.resolve(header.descr);
    } catch (e) {
      if (!(e instanceof NpyDtypeError)) throw e;
      throw new NpyDtypeError(`Cannot append to ${this.#where}: ${e.message}`, {
        path: this.path,
        descr: header.descr,
        cause: e,
      });
    }
    if (options.fortranOrder !== undefined && options.fortranOrder !== header.fortranOrder) {
      throw new NpyShapeError(
        `Cannot append to ${this.#where}: options.fortranOrder is ${options.fortranOrder} ` +
          `but the file is in ${header.fortranOrder ? "Fortran" : "C"} order`,
        { path: this.path, actual: header.shape },
      );
    }
    this.#fortran = header.fortranOrder;
    if (options.descr !== undefined) {
      const wanted = this.#resolve(options.descr);
      if (!descrEquals(wanted.descr, dtype.descr)) {
        throw new NpyDtypeError(
          `Cannot append to ${this.#where}: options.descr ${descrText(options.descr)} does ` +
            `not match the file's ${descrText(header.descr)}`,
          { path: this.path, descr: options.descr },
        );
      }
    }
    this.#dtype = dtype;
    this.#declaredDescr = header.descr;
    this.#headerLength = header.headerLength;
    if (header.shape.length === 0) {
      throw new NpyShapeError(
        `Cannot open ${this.#where} for appending: it holds a 0-d array (a single value), ` +
          `which has no axis to grow along`,
        { path: this.path, actual: [] },
      );
    }
    const rowShape = header.fortranOrder ? header.shape.slice(0, -1) : header.shape.slice(1);
    if (options.shape !== undefined) {
      const wanted = this.#declaredRowShape(options.shape);
      if (!sameShape(wanted, rowShape)) {
        throw new NpyShapeError(
          `Cannot append to ${this.#where}: options.shape ${shapeText(options.shape)} does ` +
            `not match the file's shape ${shapeText(header.shape)}`,
          { path: this.path, expected: header.shape, actual: options.shape },
        );
      }
    }
    this.#setRowShape(rowShape);
    const rows = rowsOf(header);
    this.#rows = this.#rowsWritten = this.#rowsInHeader = rows;
    // Fail now, not hours later at the append that adds a digit, when the header cannot
    // be rewritten in place for every row count (NumPy < 1.24 and other tools write such
    // headers). The `npy append` command accepts the same files.
    if (!hasGrowthRoom(header)) {
      const fields = {
        descr: header.descr,
        fortranOrder: header.fortranOrder,
        shape: header.shape,
      };
      throw new NpyHeaderSpaceError(
        `Cannot open ${this.#where} for appending: its header has no room to grow (it was ` +
          `written by NumPy < 1.24 or another tool); run ensureAppendable() or ` +
          `npy ensure-appendable ${this.#where} first`,
        {
          path: this.path,
          needed: encodeHeader(fields, { path: this.path }).length,
          available: header.headerLength,
        },
      );
    }
    this.#rewrite = this.#rewriterFor(header.version);
  }

  /** A new (empty) file: declare what the options say; write the header when complete. */
  #declare(options: NpyAppendArrayOptions): void {
    if (options.descr !== undefined) {
      this.#dtype = this.#resolve(options.descr);
      this.#declaredDescr = this.#dtype.descr;
    }
    if (options.shape !== undefined) this.#setRowShape(this.#declaredRowShape(options.shape));
    if (this.#dtype !== undefined && this.#rowShape !== undefined) {
      this.#rowBytes = this.#rowElems * this.#dtype.itemsize;
      this.#startHeader();
      this.#writeHeader();
    }
  }

  #declaredRowShape(shape: readonly number[]): number[] {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new NpyShapeError(
        `Cannot open ${this.#where}: options.shape ${JSON.stringify(shape)} is not a list of ` +
          `non-negative integers`,
        { path: this.path },
      );
    }
    const growth = this.#fortran ? shape.length - 1 : 0;
    if (shape.length > 0 && shape[growth] === 0) {
      return this.#fortran ? shape.slice(0, -1) : shape.slice(1);
    }
    return [...shape];
  }

  #setRowShape(rowShape: number[]): void {
    this.#rowShape = rowShape;
    this.#rowElems = sizeOf(rowShape);
    if (this.#dtype !== undefined) this.#rowBytes = this.#rowElems * this.#dtype.itemsize;
  }

  #resolve(descr: Descr): Dtype {
    try {
      return this.#registry.resolve(descr);
    } catch (e) {
      if (!(e instanceof NpyDtypeError)) throw e;
      throw new NpyDtypeError(`Cannot append to ${this.#where}: ${e.message}`, {
        path: this.path,
        descr,
        cause: e,
      });
    }
  }

  // ---------------------------------------------------------------------------------------
  // The header

  #fields(rows: number): HeaderFields & { readonly shape: number[] } {
    const shape = this.#fortran ? [...this.#rowShape!, rows] : [rows, ...this.#rowShape!];
    return { descr: this.#declaredDescr!, fortranOrder: this.#fortran, shape };
  }

  /** A new file: the header NumPy would write (with growth room) fixes the length. */
  #startHeader(): void {
    this.#declaredDescr ??= this.#dtype!.descr;
    const bytes = encodeHeader(this.#fields(0), { path: this.path });
    this.#headerLength = bytes.length;
    this.#rewrite = this.#rewriterFor(bytes[6] as NpyVersion);
  }

  #rewriterFor(version: NpyVersion): ReturnType<typeof headerRewriter> {
    return headerRewriter(this.#fields(0), {
      version,
      totalLength: this.#headerLength,
      path: this.path,
    });
  }

  /** The temp file holds a valid header: give it the path's name. */
  #publish(): void {
    const temp = this.#temp!;
    if (this.#durability === "append") this.#file.datasyncSync();
    try {
      publishSync(temp, this.#target, this.#make === "replace");
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw e;
      throw Object.assign(
        new Error(
          `Cannot create ${this.#where}: another process made a file there since this ` +
            `writer was opened; it is left as it is`,
          { cause: e },
        ),
        { code: "EEXIST" },
      );
    }
    this.#temp = undefined;
    // With durability "append" a power loss must not lose a new file's name either.
    if (this.#durability === "append") fsyncDirSync(this.#target);
  }

  /** Header bytes for `rows`; throws {@link NpyHeaderSpaceError} when they do not fit. */
  #headerBytes(rows: number): Uint8Array {
    return this.#rewrite!(rows);
  }

  /** Throws {@link NpyHeaderSpaceError} (before any write) when `rows` do not fit. */
  #checkRoom(rows: number): void {
    if (this.#rewrite === undefined || rows <= this.#rewrite.fastRows) return;
    try {
      this.#headerBytes(rows);
    } catch (e) {
      if (e instanceof NpyHeaderSpaceError) {
        throw new NpyHeaderSpaceError(
          `Cannot append to ${this.#where}: its header has no room for the shape ` +
            `${shapeText(this.#fields(rows).shape)} (the file was written without growth ` +
            `room; ensureAppendable() rewrites it with room to grow)`,
          { path: this.path, needed: e.needed, available: e.available, cause: e },
        );
      }
      throw e;
    }
  }

  /** Writes the header claiming the rows written so far. */
  #writeHeader(): void {
    const rows = this.#rowsWritten;
    this.#file.writeSync(this.#headerBytes(rows), 0);
    this.#rowsInHeader = rows;
    if (this.#temp !== undefined) this.#publish();
  }

  // ---------------------------------------------------------------------------------------
  // Appending

  #checkIdle(action: string): void {
    if (this.#queue !== undefined) {
      throw new Error(
        `Cannot ${action} ${this.#where}: async operations on this writer are still ` +
          `pending; await them first`,
      );
    }
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new Error(`Cannot append to ${this.#where}: the writer is closed`);
    }
    if (this.#failed !== undefined) {
      throw new Error(`Cannot append to ${this.#where}: an earlier write failed`, {
        cause: this.#failed,
      });
    }
  }

  /**
   * Checks and encodes a chunk; fixes the file's dtype and row shape when it is the first.
   * Returns the bytes to write (possibly a view of the caller's memory); the row count is
   * left in #lastRows. Nothing is written (but a first 0-row header) and, on error, nothing
   * changes.
   */
  #prepare(chunk: unknown): Uint8Array {
    this.#checkOpen();
    // Fast path: a TypedArray, or an ndarray-like of whole rows, with the file's layout.
    const dtype = this.#dtype;
    if (dtype !== undefined && this.#rowBytes > 0) {
      let view: Uint8Array | undefined;
      let rows = -1; // from the view's length
      if (isTypedArray(chunk)) {
        view = this.#view(chunk, dtype);
      } else if (typeof chunk === "object" && chunk !== null && "data" in chunk) {
        const layout = this.#layoutView(chunk as NpyArrayLike, dtype);
        if (layout !== undefined) ({ view, rows } = layout);
      }
      if (view !== undefined && view.length % this.#rowBytes === 0) {
        const count = view.length / this.#rowBytes;
        if (rows < 0 || rows === count) {
          const total = this.#rows + count;
          if (total > (this.#rewrite?.fastRows ?? -1)) this.#checkRoom(total);
          this.#lastRows = count;
          this.#rows = total;
          return view;
        }
      }
    }
    return this.#prepareSlow(chunk);
  }

  /** The bytes of `data` when they are the file's as they are (no cast, no copy). */
  #view(data: unknown, dtype: Dtype): Uint8Array | undefined {
    if (!ArrayBuffer.isView(data)) return undefined;
    // The dtype viewed this TypedArray type before: view it without asking again.
    if (data.constructor === this.#viewable) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    const view = dtype.view?.(data, this.#encode);
    if (view !== undefined) this.#viewable = data.constructor;
    return view;
  }

  /**
   * An ndarray-like's bytes and rows when its elements need no cast and no reordering: its
   * own descr absent or the file's (then `Uint8Array`/`DataView` data are raw bytes, as
   * lib/_chunk.ts reads them), its order the file's, no strides (a scijs view), its shape
   * whole rows of the file's row shape. `undefined` otherwise: the slow path decides, and words any error.
   */
  #layoutView(chunk: NpyArrayLike, dtype: Dtype): { view: Uint8Array; rows: number } | undefined {
    const { data, shape, descr, fortranOrder } = chunk;
    const { stride, offset } = chunk as { stride?: unknown; offset?: unknown }; // scijs views
    if (stride !== undefined || offset !== undefined) return undefined;
    const rowShape = this.#rowShape!;
    if (!Array.isArray(shape) || shape.length !== rowShape.length + 1) return undefined;
    if ((fortranOrder ?? false) !== this.#fortran || !ArrayBuffer.isView(data)) return undefined;
    const rows = rowsOfLayout(shape, rowShape, this.#fortran);
    if (rows < 0) return undefined;
    if (descr === undefined) {
      const view = this.#view(data, dtype);
      return view === undefined ? undefined : { view, rows };
    }
    if (descr !== this.#layoutDescr) {
      if (!descrEquals(descr, dtype.descr)) return undefined;
      this.#layoutDescr = descr; // streams repeat one descr value: compare it once
    }
    if (!isRawBytes(data, descr)) {
      const view = this.#view(data, dtype);
      return view === undefined ? undefined : { view, rows };
    }
    return { view: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), rows };
  }

  /**
   * The codec of raw-byte chunks in `descr`, and whether their bytes are already the file's.
   * Remembered for the last descr seen: streams of raw chunks repeat one descr, and
   * resolving a record descr builds a new codec each time.
   */
  #rawSource(descr: Descr | undefined, dtype: Dtype): { source: Dtype; same: boolean } {
    if (descr === undefined) return { source: dtype, same: true };
    if (this.#raw === undefined || this.#raw.descr !== descr) {
      const source = descrEquals(descr, dtype.descr) ? dtype : this.#resolve(descr);
      this.#raw = { descr, source, same: descrEquals(source.descr, dtype.descr) };
    }
    return this.#raw;
  }

  #prepareSlow(chunk: unknown): Uint8Array {
    const where = this.#where;
    const path = this.path;
    const casting = this.#encode.casting!;
    let parts: ChunkParts | undefined;
    try {
      parts = splitChunk(chunk, where);
    } catch (e) {
      throw appendError(e, this.#named);
    }
    // 1. The dtype: the file's, or one the chunk tells.
    let dtype = this.#dtype;
    if (dtype === undefined) {
      let descr = parts?.descr;
      if (descr === undefined && parts?.raw) {
        throw new NpyDtypeError(
          `Cannot append to ${where}: raw bytes do not tell the dtype; pass options.descr ` +
            `or an ndarray-like with a descr`,
          { path },
        );
      }
      if (descr === undefined) {
        try {
          descr = inferDescr(chunk, where);
        } catch (e) {
          throw appendError(e, this.#named);
        }
      }
      dtype = this.#resolve(descr);
    }
    const itemsize = dtype.itemsize;
    // 2. The chunk's shape and its values, still in the chunk's order.
    let shape: number[];
    let values: unknown;
    let raw = false;
    let castFrom: Dtype | undefined;
    let flat = false;
    let chunkFortran = false;
    let count: number;
    try {
      if (parts === undefined) {
        const nested = flattenNested(chunk, dtype.isElement?.bind(dtype), where);
        shape = nested.shape;
        values = nested.values;
        count = sizeOf(shape);
      } else {
        // A chunk with a descr of its own holds elements of that dtype, cast to the file's.
        const { source, same } = this.#rawSource(parts.own ? parts.descr : undefined, dtype);
        if (!same) castFrom = source;
        values = parts.values;
        raw = parts.raw;
        if (raw) {
          const elems = values as Uint8Array;
          if (elems.length % source.itemsize !== 0) {
            throw new NpyShapeError(
              `Cannot append to ${where}: ${elems.length} raw bytes are not whole elements ` +
                `of ${descrText(source.descr)} (${source.itemsize} bytes each)`,
              { actual: parts.shape },
            );
          }
          count = source.itemsize === 0 ? 0 : elems.length / source.itemsize;
        } else {
          count = source.count(values, this.#encode);
        }
        flat = parts.flat;
        shape = flat ? [count] : parts.shape;
        chunkFortran = parts.fortran;
      }
      if (!flat && count !== sizeOf(shape)) {
        throw new NpyShapeError(
          `Cannot append to ${where}: the chunk's data holds ${count} elements but its ` +
            `shape ${shapeText(shape)} needs ${sizeOf(shape)}`,
          { actual: shape },
        );
      }
    } catch (e) {
      throw appendError(e, this.#named, dtype, casting);
    }
    // 3. The rows: checked against the file's row shape, or fixing it.
    let rowShape = this.#rowShape;
    let rows: number;
    const fortran = this.#fortran;
    if (shape.length === 0) {
      // A lone value (a number, a record, an ndarray-like of shape ()): one row, when the
      // file's rows are single values. A file never starts 0-d: it could not grow.
      if (rowShape !== undefined && rowShape.length > 0) {
        const dims = fortran ? [...rowShape, "k"] : ["k", ...rowShape];
        throw new NpyShapeError(
          `Cannot append to ${where}: the chunk is a single value (shape ()), but the ` +
            `file's rows have shape ${shapeText(rowShape)}: expected a chunk of shape ` +
            `(${dims.join(", ")})`,
          { path, expected: fortran ? [...rowShape, 0] : [0, ...rowShape], actual: [] },
        );
      }
      shape = [1];
    }
    if (rowShape === undefined) {
      rowShape = fortran ? shape.slice(0, -1) : shape.slice(1);
      rows = fortran ? shape[shape.length - 1] : shape[0];
    } else if (flat) {
      const rowElems = this.#rowElems;
      if (rowElems === 0 || count % rowElems !== 0) {
        throw new NpyShapeError(
          `Cannot append to ${where}: a flat chunk of ${count} elements is not whole rows ` +
            `of shape ${shapeText(rowShape)} (${rowElems} elements each)`,
          { path, expected: rowShape, actual: shape },
        );
      }
      rows = count / rowElems;
      shape = fortran ? [...rowShape, rows] : [rows, ...rowShape];
    } else {
      const given = fortran ? shape.slice(0, -1) : shape.slice(1);
      if (shape.length !== rowShape.length + 1 || !sameShape(given, rowShape)) {
        throw rowShapeError(this.#named, chunk, shape, rowShape, fortran);
      }
      rows = fortran ? shape[shape.length - 1] : shape[0];
    }
    // 4. The header must hold the new row count before any byte is written.
    const first = this.#rowShape === undefined;
    if (!first) this.#checkRoom(this.#rows + rows);
    // 5. The bytes, in the file's order.
    let bytes: Uint8Array;
    try {
      bytes = chunkBytes(dtype, castFrom, values, raw, count, this.#encode);
    } catch (e) {
      throw appendError(e, this.#named, dtype, casting);
    }
    if (!flat && shape.length >= 2 && chunkFortran !== fortran) {
      bytes = reverseAxes(bytes, chunkFortran ? [...shape].reverse() : shape, itemsize);
    }
    // 6. Commit the state (the first chunk fixes dtype and rows, and starts the header).
    if (this.#dtype === undefined) {
      this.#dtype = dtype;
      this.#declaredDescr = dtype.descr;
    }
    if (first) this.#setRowShape(rowShape);
    this.#rowBytes = this.#rowElems * itemsize;
    if (this.#headerLength === 0) {
      try {
        this.#startHeader();
        this.#writeHeader(); // a 0-row header describes no data: it may go first
      } catch (e) {
        this.#fail(e);
      }
    }
    this.#lastRows = rows;
    this.#rows += rows;
    return bytes;
  }

  /** Runs `task` after every queued operation; the queue is empty again when it settles. */
  #enqueue(task: () => Promise<void> | void): Promise<void> {
    this.#pending++;
    const run = async (): Promise<void> => {
      try {
        await task();
      } finally {
        if (--this.#pending === 0) this.#queue = undefined;
      }
    };
    const result = this.#queue === undefined ? run() : this.#queue.then(run);
    this.#queue = result.then(noop, noop);
    return result;
  }

  /**
   * A write failed (a full disk, an I/O error): later appends are refused. Bytes the failed
   * write left past the rows written are cut (best effort), so the file needs no recovery;
   * a system error is rethrown naming the file, its `code` kept.
   */
  #fail(e: unknown): never {
    if (this.#failed === undefined && this.#rowsInHeader >= 0) {
      try {
        const end = this.#headerLength + this.#rowsWritten * this.#rowBytes;
        if (this.#file.sizeSync() > end) this.#file.truncateSync(end);
      } catch {
        // The file is gone or failing too: the header still describes whole rows.
      }
    }
    const code = errnoCode(e);
    const error = code !== undefined && e instanceof Error && !e.message.includes(this.#where)
      ? Object.assign(new Error(`Cannot append to ${this.#where}: ${e.message}`, { cause: e }), {
        code,
      })
      : e;
    this.#failed ??= error;
    throw error;
  }

  /**
   * The commit of a prepared chunk, as I/O steps (lib/_steps.ts): into the buffer, or
   * written with the header after it. A buffer written is a commit: the header claims it at
   * once (whole appends only).
   */
  *#commitSteps(bytes: Uint8Array, rows: number): Steps<void> {
    if (this.#failed !== undefined) this.#checkOpen();
    try {
      const buffer = this.#buffer;
      if (buffer !== undefined && bytes.length < buffer.length) {
        if (this.#bufferLength + bytes.length > buffer.length) yield* this.#drainSteps(true);
        this.#intoBuffer(buffer, bytes, rows);
        if (this.#bufferLength === buffer.length) yield* this.#drainSteps(true);
      } else {
        yield* this.#bufferSteps();
        yield* this.#dataSteps(bytes, rows);
        yield* this.#headerSteps(false);
      }
    } catch (e) {
      this.#fail(e);
    }
    this.#updatePin();
  }

  #intoBuffer(buffer: Uint8Array, bytes: Uint8Array, rows: number): void {
    buffer.set(bytes, this.#bufferLength);
    this.#bufferLength += bytes.length;
    this.#bufferRows += rows;
  }

  /**
   * The hot path of small buffered appends: a chunk that fits in the write buffer with room
   * to spare is copied there at once, with no I/O and so no step generator (a generator per
   * append cost Bun a third of its 1-row rate). `false`: run #commitSteps.
   */
  #buffered(bytes: Uint8Array, rows: number): boolean {
    const buffer = this.#buffer;
    if (buffer === undefined || this.#failed !== undefined) return false;
    if (this.#bufferLength + bytes.length >= buffer.length) return false;
    this.#intoBuffer(buffer, bytes, rows);
    this.#updatePin();
    return true;
  }

  /** Bytes a commit of `length` bytes writes at once (see #commitSteps). */
  #bytesToWrite(length: number): number {
    const buffer = this.#buffer;
    const total = this.#bufferLength + length;
    return buffer === undefined || length >= buffer.length || total >= buffer.length ? total : 0;
  }

  /** Whether a commit writing `bytes` may run on the main thread, at once. */
  #runsNow(bytes: number): boolean {
    return this.#queue === undefined && this.#durability !== "append" && bytes <= SMALL_IO;
  }

  *#dataSteps(bytes: Uint8Array, rows: number): Steps<void> {
    const position = this.#headerLength + this.#rowsWritten * this.#rowBytes;
    yield { write: this.#file, bytes, position };
    this.#rowsWritten += rows;
  }

  *#bufferSteps(): Steps<void> {
    if (this.#bufferLength === 0) return;
    yield* this.#dataSteps(this.#buffer!.subarray(0, this.#bufferLength), this.#bufferRows);
    this.#bufferLength = 0;
    this.#bufferRows = 0;
  }

  /** Whether the header must be written now. */
  #headerDue(force: boolean): boolean {
    if (this.#headerLength === 0 || this.#rowsInHeader === this.#rowsWritten) return false;
    return force || this.#rewriteOnAppend || this.#rowsInHeader < 0;
  }

  /** After data: the header when due, synced before and after with `durability: "append"`. */
  *#headerSteps(force: boolean): Steps<void> {
    if (!this.#headerDue(force)) return;
    if (this.#durability === "append") yield { datasync: this.#file };
    this.#writeHeader();
    if (this.#durability === "append") yield { datasync: this.#file };
  }

  /** The buffer, then the header when due. */
  *#drainSteps(force: boolean): Steps<void> {
    yield* this.#bufferSteps();
    yield* this.#headerSteps(force);
  }

  /** flush(): the buffer and the header, a failure kept by the writer. */
  *#flushSteps(): Steps<void> {
    if (this.#failed !== undefined) this.#checkOpen();
    try {
      yield* this.#drainSteps(true);
    } catch (e) {
      this.#fail(e);
    }
    this.#updatePin();
  }

  /** close(): what flush() writes, then the data synced (unless `durability: "none"`). */
  *#finishSteps(): Steps<void> {
    if (this.#failed !== undefined) return;
    yield* this.#flushSteps();
    if (this.#durability !== "none" && this.#headerLength > 0) yield { datasync: this.#file };
  }

  /** Closes the file and releases the lock; `finished`: #finishSteps ran already. */
  #closeNow(finished = false): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer as number);
    this.#flushTimer = undefined;
    let error: unknown;
    try {
      if (!finished) runStepsSync(this.#finishSteps());
    } catch (e) {
      error = e;
    }
    try {
      this.#file.closeSync();
    } catch (e) {
      error ??= e;
    }
    // A temp file never given the path's name (no header yet, or a failure): not kept.
    if (this.#temp !== undefined) removeSync(this.#temp);
    if (this.#exitToken !== undefined) untrack(this.#exitToken, this);
    // The old file an overwrite never replaced is left as it was: if a dead writer's lock
    // was taken over, its record goes back (the old file may hold a cut append).
    this.#lock?.releaseSync(this.#temp !== undefined && this.#make === "replace");
    if (error !== undefined) throw error;
  }

  /** At process exit (see lib/_exit.ts): flush and close now, whatever is queued. */
  static #atExit(writer: NpyAppendArray): void {
    writer.#closed = true;
    writer.#closeNow();
  }

  /** Pins the writer while it has rows not yet in the file or its header (lib/_exit.ts). */
  #updatePin(): void {
    const dirty = this.#bufferLength > 0 ||
      (this.#rowsWritten > 0 && this.#rowsInHeader !== this.#rowsWritten);
    if (dirty !== this.#pinned) {
      this.#pinned = dirty;
      pin(this, dirty);
    }
    // Rows now wait for a flush: at most flushInterval ms. (A flush that cleans the writer
    // leaves the timer to expire harmlessly, and close() clears it.)
    if (dirty && this.#flushInterval !== undefined && this.#flushTimer === undefined) {
      this.#flushTimer = backgroundTimeout(() => {
        this.#flushTimer = undefined;
        // A failure is kept by the writer (#fail): the next call reports it.
        if (!this.#closed) this.flush().catch(noop);
      }, this.#flushInterval);
    }
  }
}

/** The rows of `shape` when the rest of it is `rowShape` (after it in Fortran order); else -1. */
function rowsOfLayout(shape: readonly number[], rowShape: readonly number[], fortran: boolean) {
  const first = fortran ? 0 : 1;
  for (let i = 0; i < rowShape.length; i++) if (shape[first + i] !== rowShape[i]) return -1;
  const rows = shape[fortran ? rowShape.length : 0];
  return Number.isSafeInteger(rows) && rows >= 0 ? rows : -1;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const WRITER_OPTIONS = {
  mode: true,
  descr: true,
  shape: true,
  fortranOrder: true,
  registry: true,
  casting: true,
  rewriteHeaderOnAppend: true,
  durability: true,
  bufferSize: true,
  lock: true,
  onRecovery: true,
  maxHeaderSize: true,
  flushInterval: true,
} as const satisfies OptionKeys<NpyAppendArrayOptions>;

function existsError(where: string): Error {
  return Object.assign(
    new Error(
      `Cannot create ${where}: the file exists (mode "create"); use mode "append" to ` +
        `append to it or "overwrite" to replace it`,
    ),
    { code: "EEXIST" },
  );
}

function checkOptions(where: string, options: NpyAppendArrayOptions): void {
  checkOptionKeys(options, WRITER_OPTIONS, `open ${where}`);
  const bad = (name: string, value: unknown, expected: string): never => {
    throw new TypeError(
      `Cannot open ${where}: options.${name} is ${JSON.stringify(value)} (expected ${expected})`,
    );
  };
  const { mode, durability, onRecovery, bufferSize, casting } = options;
  if (mode !== undefined && !["append", "create", "overwrite"].includes(mode)) {
    bad("mode", mode, `"append", "create" or "overwrite"`);
  }
  if (durability !== undefined && !["none", "close", "append"].includes(durability)) {
    bad("durability", durability, `"none", "close" or "append"`);
  }
  if (onRecovery !== undefined && !["error", "truncate", "zeroFill"].includes(onRecovery)) {
    bad("onRecovery", onRecovery, `"error", "truncate" or "zeroFill"`);
  }
  if (
    bufferSize !== undefined && !(Number.isSafeInteger(bufferSize) && bufferSize >= 0)
  ) bad("bufferSize", bufferSize, "a non-negative integer");
  const { flushInterval } = options;
  if (
    flushInterval !== undefined &&
    !(typeof flushInterval === "number" && flushInterval > 0 && flushInterval < 2 ** 31)
  ) bad("flushInterval", flushInterval, "a number of milliseconds, above 0");
  if (
    casting !== undefined && !["no", "equiv", "safe", "same_kind", "unsafe"].includes(casting)
  ) bad("casting", casting, `"no", "equiv", "safe", "same_kind" or "unsafe"`);
}
