/**
 * {@link NpyStackWriter}: rows appended to a sharded stack, a new shard every `shardRows`
 * rows, each an ordinary appendable `.npy` written by `NpyAppendArray`; the listing (`info`,
 * `stack.json`) replaced each time an append closes a shard.
 *
 * @module
 */

import { RESOLVED } from "./_steps.ts";
import { appendAll, chunkStream } from "./_chunk_sink.ts";
import type { Descr } from "./descr.ts";
import { NpyIOError, quote } from "./errors.ts";
import { listDirSync, makeDirSync, removeSync, toPath } from "./file.ts";
import type { NpyChunk } from "./npy.ts";
import type { Dtype, DtypeRegistry } from "./registry.ts";
import { NpyAppendArray } from "./writer.ts";
import type { WriterLock } from "./_lock.ts";
import { shardPath, type StackJournal, undoAppendSync } from "./_stack_journal.ts";
import { lockStack, registryOf, requireLayout, shardHeader, shardRowsOf } from "./_stack_layout.ts";
import {
  holdsStackFiles,
  publishListing,
  removeListing,
  shardIndices,
  type StackListing,
} from "./stack_listing.ts";
import { adoptUnlistedSync } from "./stack_recover.ts";
import {
  checkDeclared,
  checkOptions,
  DEFAULT_SHARD_BYTES,
  type NpyStackWriterOptions,
  resolveDescr,
  shardOptions,
} from "./stack_writer_options.ts";
import { ChunkNormalizer, type RowLayout } from "./_chunk_normalizer.ts";
import { pin, track, untrack } from "./_exit.ts";
import { sizeOf } from "./_chunk.ts";
import { shapeWithRows } from "./header.ts";
import { isTypedArray } from "./_typed.ts";

/** The stack's row layout once fixed, and what follows from it. */
interface FixedLayout extends RowLayout {
  readonly dtype: Dtype;
  readonly rowShape: readonly number[];
  /** Bytes of one row. */
  readonly rowBytes: number;
  /** Rows per shard. */
  readonly perShard: number;
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
  readonly #normalizer: ChunkNormalizer; // chunks as rows of the stack
  readonly #registry: DtypeRegistry;
  readonly #lock: WriterLock | undefined;
  readonly #options: NpyStackWriterOptions;
  #fortran: boolean;

  #declared: Dtype | undefined; // a declared descr's dtype, until the row shape is known
  #fixed: FixedLayout | undefined; // once the row shape is known

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
    this.#lock = lock;
    this.#options = options;
    this.#registry = registryOf(options);
    const target = {
      action: `append to the stack ${quote(dir)}`,
      noun: "stack",
      path: dir,
    } as const;
    this.#normalizer = new ChunkNormalizer(target, this.#registry, options.casting ?? "same_kind");
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
    const registry = registryOf(options);
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
      removeListing(dir);
      for (const index of shardIndices(listDirSync(dir) ?? [])) removeSync(shardPath(dir, index));
    }
    const occupied = holdsStackFiles(listDirSync(dir) ?? []);
    if (occupied && mode === "create") {
      throw new NpyIOError(
        `Cannot create the stack ${quote(dir)}: it holds a stack already (mode "create"); use ` +
          `mode "append" to add to it or "overwrite" to replace it`,
        { code: "EEXIST", path: dir },
      );
    }
    if (occupied) {
      const layout = requireLayout(dir, registry, "append to the stack");
      checkDeclared(options, layout, registry);
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
      this.#fix(resolveDescr(registry, layout.descr, dir), layout.rowShape);
      if (adopted.length > 0 || layout.source === "dask") this.#publish();
      return;
    }
    if (options.descr !== undefined && options.shape !== undefined) {
      this.#fix(resolveDescr(registry, options.descr, dir), options.shape);
      this.#publish();
    } else if (options.descr !== undefined) {
      this.#declared = resolveDescr(registry, options.descr, dir);
    }
  }

  /** Fixes the dtype and row shape (from the options, the stack, or the first chunk). */
  #fix(dtype: Dtype, rowShape: readonly number[]): void {
    const rowBytes = sizeOf(rowShape) * dtype.itemsize;
    const { shardRows, shardBytes = DEFAULT_SHARD_BYTES } = this.#options;
    const perShard = shardRows ??
      (rowBytes === 0 ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.floor(shardBytes / rowBytes)));
    const fortran = this.#fortran;
    this.#fixed = { dtype, rowShape: [...rowShape], fortran, rowBytes, perShard };
  }

  /**
   * The fixed layout, where rows are written or listed: the chunk that brought them fixed
   * it (or the options, or the stack, did).
   */
  #rowLayout(): FixedLayout {
    if (this.#fixed === undefined) {
      throw new Error(
        `Cannot write the stack ${quote(this.dir)}: its dtype and row shape are not known yet`,
      );
    }
    return this.#fixed;
  }

  #publish(): void {
    const { dtype, rowShape } = this.#rowLayout();
    const listing: StackListing = {
      dir: this.dir,
      descr: dtype.descr,
      rowShape: [...rowShape],
      fortranOrder: this.#fortran,
      shardRows: this.#shardRows,
    };
    publishListing(listing);
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
    return (this.#fixed?.dtype ?? this.#declared)?.descr;
  }

  /** The row shape; `undefined` until declared or fixed by the first chunk. */
  get rowShape(): readonly number[] | undefined {
    return this.#fixed?.rowShape;
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
    return this.#fixed?.perShard;
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
    const fixed = this.#fixed;
    // Fast path: a TypedArray the dtype views as it is, whole rows.
    if (fixed !== undefined && fixed.rowBytes > 0 && isTypedArray(chunk)) {
      const view = fixed.dtype.view?.(chunk, { casting: this.#options.casting ?? "same_kind" });
      if (view !== undefined && view.length % fixed.rowBytes === 0) {
        return { bytes: view, rows: view.length / fixed.rowBytes };
      }
    }
    const layout = fixed ?? { dtype: this.#declared, rowShape: undefined, fortran: this.#fortran };
    const { dtype, rowShape, rows, bytes } = this.#normalizer.normalize(chunk, layout);
    if (fixed === undefined) {
      this.#fix(dtype, rowShape);
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
    const layout = this.#rowLayout();
    const { rowBytes, perShard } = layout;
    const across = this.#currentRows + rows > perShard;
    if (across) yield* this.#beginAcross();
    let offset = 0;
    for (let left = rows; left > 0;) {
      const shard = this.#current ?? this.#openShard();
      const n = Math.min(left, perShard - this.#currentRows);
      const piece = bytes.subarray(offset, offset + n * rowBytes);
      yield { append: shard, chunk: this.#rawChunk(piece, n, layout) };
      this.#currentRows += n;
      offset += n * rowBytes;
      left -= n;
      if (this.#currentRows >= perShard) yield* this.#closeShard(shard, !across);
    }
    if (across) yield* this.#endAcross();
  }

  /** Before an append across shards: the open shard committed as it is, the journal written. */
  *#beginAcross(): Generator<ShardStep, void, undefined> {
    if (this.#current !== undefined) yield { flush: this.#current };
    this.#journal = { shard: this.#shardRows.length, rows: this.#currentRows };
    this.#writeJournal(this.#journal);
  }

  /** After it: the last shard committed, the journal cleared, then the shards it closed listed. */
  *#endAcross(): Generator<ShardStep, void, undefined> {
    if (this.#current !== undefined) yield { flush: this.#current };
    this.#writeJournal(undefined);
    this.#journal = undefined;
    this.#publish();
  }

  /**
   * Writes the journal in the lock record (`undefined`: clears it). Written, it is synced with
   * `durability: "append"` (a power loss then keeps it); cleared, unless `durability: "none"`
   * (it must not come back after a power loss and undo an append a `close()` synced).
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
  #undo(journal: StackJournal): void {
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

  #rawChunk(bytes: Uint8Array, rows: number, layout: FixedLayout): NpyChunk {
    const { rowShape, dtype } = layout;
    return {
      data: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      shape: shapeWithRows(rowShape, rows, this.#fortran),
      descr: dtype.descr,
      fortranOrder: this.#fortran,
    };
  }

  #openShard(): NpyAppendArray {
    const { dtype, rowShape } = this.#rowLayout();
    const shard = NpyAppendArray.openSync(shardPath(this.dir, this.#shardRows.length), {
      ...shardOptions(this.#options),
      registry: this.#registry,
      mode: "create",
      descr: dtype.descr,
      shape: rowShape,
      fortranOrder: this.#fortran,
      lock: false, // the stack's lock covers its shards
    });
    this.#current = shard;
    this.#currentRows = 0;
    this.#pin();
    return shard;
  }

  /** Closes the open shard; `publish`: lists it now. */
  *#closeShard(shard: NpyAppendArray, publish = true): Generator<ShardStep, void, undefined> {
    yield { close: shard };
    this.#current = undefined;
    this.#shardRows.push(this.#currentRows);
    this.#currentRows = 0;
    if (publish) this.#publish();
    else this.#pin();
  }

  *#closeSteps(): Generator<ShardStep, void, undefined> {
    if (this.#journal !== undefined) this.#undo(this.#journal); // a failed append across shards
    // An empty stack still gets shard 0 (with 0 rows): Dask refuses an empty chunk list.
    const current = this.#current ??
      (this.#shardRows.length === 0 && this.#fixed ? this.#openShard() : undefined);
    if (current !== undefined) yield* this.#closeShard(current);
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
      if (this.#journal !== undefined) this.#undo(this.#journal);
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
  appendFrom(chunks: AsyncIterable<NpyChunk> | Iterable<NpyChunk>): Promise<number> {
    return appendAll(this, chunks);
  }

  /**
   * A `WritableStream` of chunks, with backpressure: each chunk is appended as by
   * {@link NpyStackWriter.append}. Closing (or aborting) the stream closes the writer.
   */
  get writable(): WritableStream<NpyChunk> {
    return this.#writable ??= chunkStream(this);
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
        writer.#currentRows = shardRowsOf(header);
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
