/**
 * {@link NpyAppendArray}: grows a `.npy` file past the size of memory by appending rows,
 * rewriting the header in place after each append so that `numpy.load(path,
 * mmap_mode="r")` opens the file at any moment and sees a prefix of the appended rows.
 *
 * The writer keeps its lifecycle, its queue, its write buffer and its commits. The rest is
 * in files of their own: the options and their checks (`lib/_writer_options.ts`), opening
 * and publishing the file (`lib/_writer_open.ts`), the file's layout and the fast path of
 * chunks that have it (`lib/_layout.ts`), any other chunk's way to bytes
 * (`lib/_chunk_normalizer.ts`), `appendFrom` and `writable` (`lib/_chunk_sink.ts`).
 *
 * @module
 */

import type { Descr } from "./descr.ts";
import { quote } from "./errors.ts";
import { fileError, type NpyFile, removeSync, SMALL_IO, tempPathBeside, toPath } from "./file.ts";
import { defaultRegistry, type Dtype, type DtypeRegistry, type EncodeOptions } from "./registry.ts";
import type { NumberShapedHeader } from "./_header_io.ts";
import { rowCountOf, shapeWithRows } from "./header.ts";
import type { NpyChunk } from "./npy.ts";
import { WriterLock } from "./_lock.ts";
import { backgroundTimeout, pin, track, untrack } from "./_exit.ts";
import { noop, RESOLVED, runSteps, runStepsSync, settle, type Steps } from "./_steps.ts";
import { appendAll, chunkStream } from "./_chunk_sink.ts";
import { ChunkNormalizer, resolveDescr, type RowLayout } from "./_chunk_normalizer.ts";
import { Layout } from "./_layout.ts";
import {
  checkOptionsMatchFile,
  checkWriterOptions,
  declaredRowShape,
  type NpyAppendArrayOptions,
} from "./_writer_options.ts";
import { type OpenedFile, openForAppend, publishNewFile, syncNewName } from "./_writer_open.ts";

export type { NpyAppendArrayOptions } from "./_writer_options.ts";

// What is done with a checked chunk: `bytes`, `rows` whole rows of `layout`, handed on (not
// returned in an object: the hot path allocates nothing).
type Commit<R> = (layout: Layout, bytes: Uint8Array, rows: number) => R;

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
  readonly #file: NpyFile;
  readonly #lock: WriterLock | undefined;
  #unpublished: OpenedFile["make"]; // a new file until it has its name (lib/_writer_open.ts)
  #unsyncedName: string | undefined; // a new file's name, its directory not yet flushed
  readonly #registry: DtypeRegistry;
  readonly #encode: EncodeOptions;
  readonly #normalizer: ChunkNormalizer;
  readonly #rewriteOnAppend: boolean;
  readonly #durability: "none" | "close" | "append";
  readonly #flushInterval: number | undefined;
  #flushTimer: unknown; // armed while rows wait for flushInterval
  #exitToken: object | undefined; // see lib/_exit.ts
  #pinned = false;
  #finished = false; // the file is closed and the lock released

  // What the file holds: what the options declared, until the layout is fixed (by the
  // header, by options.descr and shape together, or by the first chunk).
  readonly #declared: RowLayout;
  #layout: Layout | undefined;

  // The header state: rows accepted (written, buffered or queued), rows whose data is in the
  // file, and rows the header on disk claims (`undefined` until it is written).
  #rows = 0;
  #rowsWritten = 0;
  #rowsInHeader: number | undefined;

  readonly #buffer: Uint8Array | undefined;
  #bufferLength = 0;
  #bufferRows = 0;

  #queue: Promise<void> | undefined; // the tail of queued operations (never rejects)
  #pending = 0; // operations queued and not yet settled
  #closed = false;
  #failed: unknown = undefined;
  #writable: WritableStream<NpyChunk> | undefined;

  private constructor(
    path: string,
    { file, make, header }: OpenedFile,
    lock: WriterLock | undefined,
    options: NpyAppendArrayOptions,
  ) {
    this.path = path;
    this.#where = quote(path);
    this.#file = file;
    this.#lock = lock;
    this.#unpublished = make;
    this.#registry = options.registry ?? defaultRegistry;
    const encode = { casting: options.casting ?? "same_kind" } as const;
    this.#encode = encode;
    const target = { action: `append to ${this.#where}`, noun: "file", path } as const;
    this.#normalizer = new ChunkNormalizer(target, this.#registry, encode.casting);
    this.#rewriteOnAppend = options.rewriteHeaderOnAppend ?? true;
    this.#durability = options.durability ?? "close";
    this.#flushInterval = options.flushInterval;
    const bufferSize = options.bufferSize ?? 0;
    this.#buffer = bufferSize > 0 ? new Uint8Array(bufferSize) : undefined;
    if (header !== undefined) {
      this.#layout = this.#declared = this.#layoutOf(header, options);
      // (?? 0: never taken, Layout.ofFile refuses a 0-d file)
      const rows = rowCountOf(header.shape, header.fortranOrder) ?? 0;
      this.#rows = this.#rowsWritten = this.#rowsInHeader = rows;
    } else {
      const { descr, shape, fortranOrder: fortran = false } = options;
      this.#declared = {
        dtype: descr === undefined ? undefined : this.#resolve(descr, "options.descr"),
        rowShape: shape === undefined
          ? undefined
          : declaredRowShape(shape, fortran, this.#where, path),
        fortran,
      };
    }
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
   * @throws {NpyIOError} A system error (`code` kept: `ENOENT`, `EACCES`, `EISDIR`…)
   *   worded for `path`.
   */
  static openSync(path: string | URL, options: NpyAppendArrayOptions = {}): NpyAppendArray {
    path = toPath(path);
    const action = `open ${quote(path)} for appending`;
    checkWriterOptions(quote(path), options);
    const lock = options.lock === false ? undefined : WriterLock.acquireSync(path, action, true);
    let opened: OpenedFile | undefined;
    let writer: NpyAppendArray | undefined;
    try {
      // A dead writer's temp file (killed before its new file had a header): not kept.
      if (lock?.tookOverWriter) removeSync(tempPathBeside(path, "new"));
      opened = openForAppend(path, options, lock);
      writer = new NpyAppendArray(path, opened, lock, options);
      const { dtype, rowShape } = writer.#declared;
      // Declared in full: the new file exists, with 0 rows, from now on.
      if (writer.#layout === undefined && dtype !== undefined && rowShape !== undefined) {
        writer.#fixLayout(dtype, rowShape);
      }
      writer.#exitToken = track(writer, path, lock, NpyAppendArray.#atExit);
      return writer;
    } catch (e) {
      opened?.file.closeSync();
      // The temp file, unless it already has the path's name (an error after publishing).
      const temp = (writer === undefined ? opened?.make : writer.#unpublished)?.temp;
      if (temp !== undefined) removeSync(temp);
      lock?.releaseSync(true); // a dead writer's file may be left to recover: keep its trace
      // A system error (EACCES, EISDIR…) names the user's file, in our words.
      throw fileError(e, action, path);
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
    return (this.#layout ?? this.#declared).dtype?.descr;
  }

  /** Whether the file is in Fortran order (grows along its last axis). */
  get fortranOrder(): boolean {
    return (this.#layout ?? this.#declared).fortran;
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
    const { rowShape, fortran } = this.#layout ?? this.#declared;
    return rowShape === undefined ? undefined : shapeWithRows(rowShape, this.#rows, fortran);
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
    try {
      return this.#prepare(chunk, this.#commit);
    } catch (e) {
      return Promise.reject(e);
    }
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
    this.#prepare(chunk, this.#commitSync);
  }

  /**
   * Appends every chunk an (async) iterable yields, in order, awaiting each.
   *
   * @param chunks Chunks as {@link NpyAppendArray.append} takes them.
   * @returns The number of rows appended.
   */
  appendFrom(chunks: AsyncIterable<NpyChunk> | Iterable<NpyChunk>): Promise<number> {
    return appendAll(this, chunks);
  }

  /**
   * A `WritableStream` of chunks, with backpressure: each chunk is appended as by
   * {@link NpyAppendArray.append}. Closing (or aborting) the stream closes the writer.
   * The same stream is returned each time.
   */
  get writable(): WritableStream<NpyChunk> {
    return this.#writable ??= chunkStream(this);
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
    const syncs = this.#durability !== "none" && this.#layout !== undefined;
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

  /** An existing file's layout, checked against the options. */
  #layoutOf(header: NumberShapedHeader, options: NpyAppendArrayOptions): Layout {
    const dtype = this.#resolve(header.descr, "the file's descr");
    const layout = Layout.ofFile(header, dtype, this.path, this.#encode);
    const resolve = (descr: Descr) => this.#resolve(descr, "options.descr");
    const { descr, fortranOrder, shape } = header;
    const file = { descr, fortranOrder, shape, rowShape: layout.rowShape };
    checkOptionsMatchFile(options, file, dtype, resolve, this.#where, this.path);
    return layout;
  }

  /** `registry.resolve(descr)`, its error naming the file and `whose` descr it is. */
  #resolve(descr: Descr, whose: string): Dtype {
    const target = { action: `open ${this.#where} for appending`, path: this.path };
    return resolveDescr(this.#registry, descr, target, whose);
  }

  /** Fixes the layout of a new file and writes its header, with 0 rows. */
  #fixLayout(dtype: Dtype, rowShape: readonly number[]): Layout {
    const layout = Layout.create(dtype, rowShape, this.#declared.fortran, this.path, this.#encode);
    this.#layout = layout;
    this.#writeHeader(layout); // a 0-row header describes no data: it may go first
    return layout;
  }

  // ---------------------------------------------------------------------------------------
  // The header

  /** Writes the header claiming the rows written so far. */
  #writeHeader(layout: Layout): void {
    const rows = this.#rowsWritten;
    this.#file.writeSync(layout.rewrite(rows), 0);
    this.#rowsInHeader = rows;
    const made = this.#unpublished;
    if (made === undefined) return;
    const durable = this.#durability === "append";
    if (durable) this.#file.datasyncSync(); // the data before the name that shows it
    this.#unsyncedName = publishNewFile(made, this.path, durable);
    this.#unpublished = undefined;
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
   * Checks and encodes a chunk, fixing the file's layout when it is the first, and hands its
   * bytes (possibly a view of the caller's memory) and rows to `commit`. Nothing is written
   * before (but a first 0-row header) and, on error, nothing changes.
   */
  #prepare<R>(chunk: unknown, commit: Commit<R>): R {
    this.#checkOpen();
    let layout = this.#layout;
    // Fast path: a TypedArray, or an ndarray-like of whole rows, with the file's layout.
    const view = layout?.wholeRows(chunk);
    if (layout !== undefined && view !== undefined) {
      const rows = view.length / layout.rowBytes;
      layout.checkRoom(this.#rows + rows);
      this.#rows += rows;
      return commit(layout, view, rows);
    }
    const { dtype, rowShape, rows, bytes } = this.#normalizer.normalize(
      chunk,
      layout ?? this.#declared,
    );
    if (layout !== undefined) {
      layout.checkRoom(this.#rows + rows); // the header must hold the rows before any write
    } else {
      try {
        layout = this.#fixLayout(dtype, rowShape);
      } catch (e) {
        this.#fail(e);
      }
    }
    this.#rows += rows;
    return commit(layout, bytes, rows);
  }

  /** append()'s commit: buffered, run at once when small, else queued off the event loop. */
  readonly #commit: Commit<Promise<void>> = (layout, bytes, rows) => {
    if (this.#queue === undefined && this.#buffered(bytes, rows)) return RESOLVED;
    if (this.#direct(layout, bytes, rows)) return RESOLVED;
    const steps = this.#commitSteps(layout, bytes, rows);
    // Small commits run at once (two positional writes take microseconds; an awaited write
    // on the thread pool would cost ten times more); large ones leave the event loop free.
    if (this.#runsNow(this.#bytesToWrite(bytes.length))) return settle(() => runStepsSync(steps));
    return this.#enqueue(() => runSteps(steps));
  };

  /** appendSync()'s commit. */
  readonly #commitSync: Commit<void> = (layout, bytes, rows) => {
    if (this.#buffered(bytes, rows) || this.#direct(layout, bytes, rows)) return;
    runStepsSync(this.#commitSteps(layout, bytes, rows));
  };

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
   * a system error is rethrown as an {@link NpyIOError} naming the file, its `code` kept.
   */
  #fail(e: unknown): never {
    const layout = this.#layout;
    if (this.#failed === undefined && layout !== undefined && this.#rowsInHeader !== undefined) {
      try {
        const end = this.#dataEnd(layout);
        if (this.#file.sizeSync() > end) this.#file.truncateSync(end);
      } catch {
        // The file is gone or failing too: the header still describes whole rows.
      }
    }
    const error = fileError(e, `append to ${this.#where}`, this.path);
    this.#failed ??= error;
    throw error;
  }

  /** Where the next rows go: after the header and the rows written. */
  #dataEnd(layout: Layout): number {
    return layout.headerLength + this.#rowsWritten * layout.rowBytes;
  }

  /**
   * The commit of a prepared chunk, as I/O steps (lib/_steps.ts): into the buffer, or
   * written with the header after it. A buffer written is a commit: the header claims it at
   * once (whole appends only).
   */
  *#commitSteps(layout: Layout, bytes: Uint8Array, rows: number): Steps<void> {
    if (this.#failed !== undefined) this.#checkOpen();
    try {
      const buffer = this.#buffer;
      if (buffer !== undefined && bytes.length < buffer.length) {
        if (this.#bufferLength + bytes.length > buffer.length) yield* this.#drainSteps(true);
        this.#intoBuffer(buffer, bytes, rows);
        if (this.#bufferLength === buffer.length) yield* this.#drainSteps(true);
      } else {
        yield* this.#bufferSteps(layout);
        yield* this.#dataSteps(layout, bytes, rows);
        yield* this.#headerSteps(layout, false);
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

  /**
   * The hot path of small unbuffered appends: the data, then the header when due, written
   * at once with no step generator (four per append cost Deno a sixth of its 1-row rate
   * with the header rewritten each time). `false`: run #commitSteps.
   */
  #direct(layout: Layout, bytes: Uint8Array, rows: number): boolean {
    const buffer = this.#buffer;
    const buffers = buffer !== undefined &&
      (this.#bufferLength > 0 || bytes.length < buffer.length);
    if (buffers || this.#failed !== undefined || !this.#runsNow(bytes.length)) return false;
    try {
      this.#file.writeSync(bytes, this.#dataEnd(layout));
      this.#rowsWritten += rows;
      if (this.#headerDue(false)) this.#writeHeader(layout); // no datasync: see #runsNow
    } catch (e) {
      this.#fail(e);
    }
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

  *#dataSteps(layout: Layout, bytes: Uint8Array, rows: number): Steps<void> {
    yield { write: this.#file, bytes, position: this.#dataEnd(layout) };
    this.#rowsWritten += rows;
  }

  *#bufferSteps(layout: Layout): Steps<void> {
    const buffer = this.#buffer;
    if (buffer === undefined || this.#bufferLength === 0) return;
    yield* this.#dataSteps(layout, buffer.subarray(0, this.#bufferLength), this.#bufferRows);
    this.#bufferLength = 0;
    this.#bufferRows = 0;
  }

  /** After data: the header when due, synced before and after with `durability: "append"`. */
  *#headerSteps(layout: Layout, force: boolean): Steps<void> {
    if (!this.#headerDue(force)) return;
    if (this.#durability === "append") yield { datasync: this.#file };
    this.#writeHeader(layout);
    if (this.#durability === "append") yield { datasync: this.#file };
  }

  /** Whether the header claims fewer rows than are written, and must say so now. */
  #headerDue(force: boolean): boolean {
    const inHeader = this.#rowsInHeader;
    if (inHeader === this.#rowsWritten) return false;
    return force || this.#rewriteOnAppend || inHeader === undefined;
  }

  /** The buffer, then the header when due. */
  *#drainSteps(force: boolean): Steps<void> {
    const layout = this.#layout;
    if (layout === undefined) return; // no chunk yet: nothing buffered, no header to write
    yield* this.#bufferSteps(layout);
    yield* this.#headerSteps(layout, force);
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
    if (this.#durability !== "none" && this.#layout !== undefined) {
      yield { datasync: this.#file };
      const name = this.#unsyncedName;
      this.#unsyncedName = undefined; // tried once: a failure is reported, not retried
      if (name !== undefined) syncNewName(name, this.path);
    }
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
    if (this.#unpublished !== undefined) removeSync(this.#unpublished.temp);
    if (this.#exitToken !== undefined) untrack(this.#exitToken, this);
    // The old file an overwrite never replaced is left as it was: if a dead writer's lock
    // was taken over, its record goes back (the old file may hold a cut append).
    this.#lock?.releaseSync(this.#unpublished?.make === "replace");
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
