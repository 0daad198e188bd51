/**
 * Error classes thrown by this library. Each subclasses the built-in error that fits, so
 * `catch (e) { if (e instanceof SyntaxError) … }` keeps working, and each carries the
 * structured facts of the failure (file path, byte offset, descr, shapes) beside a message
 * of the form `Cannot <action>: <state>`.
 *
 * @module
 */

/**
 * Options shared by the error constructors: the usual `cause` plus the file involved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NpyFormatError, type NpyErrorOptions } from "@npy/append-array";
 *
 * const options: NpyErrorOptions = { path: "a.npy", cause: new Error("short read") };
 * const e = new NpyFormatError('Cannot parse the header of "a.npy": truncated', options);
 * assert.equal(e.path, "a.npy");
 * assert.equal((e.cause as Error).message, "short read");
 * ```
 */
export interface NpyErrorOptions extends ErrorOptions {
  /** The file the error is about, when there is one. */
  path?: string | undefined;
}

/**
 * A `.npy` file or header is malformed: bad magic, unknown version, a header that is not the
 * Python literal NumPy writes, a length past the end of the bytes, a header longer than
 * `maxHeaderSize` allows (then `maxHeaderSize` is set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, NpyFormatError, parseHeader } from "@npy/append-array";
 *
 * assert.throws(() => parseHeader(new Uint8Array(16)), (e) => {
 *   assert.ok(e instanceof SyntaxError && e instanceof NpyFormatError);
 *   assert.equal(e.offset, 0);
 *   assert.equal(e.maxHeaderSize, undefined);
 *   return true;
 * });
 * const header = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [1] });
 * assert.throws(() => parseHeader(header, { maxHeaderSize: 20 }), (e) => {
 *   assert.ok(e instanceof NpyFormatError);
 *   assert.equal(e.maxHeaderSize, 20); // the limit the header is over
 *   return true;
 * });
 * ```
 */
export class NpyFormatError extends SyntaxError {
  /** The file the malformed bytes came from, when known. */
  readonly path: string | undefined;
  /** Byte offset into the file (or the bytes given) where the problem was found. */
  readonly offset: number | undefined;
  /** The `maxHeaderSize` limit in effect, when the header was refused for being longer. */
  readonly maxHeaderSize: number | undefined;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why.
   * @param options `path`, `offset`, `maxHeaderSize` (for a header over it) and `cause`.
   */
  constructor(
    message: string,
    options: NpyErrorOptions & {
      offset?: number | undefined;
      maxHeaderSize?: number | undefined;
    } = {},
  ) {
    super(message, options);
    this.name = "NpyFormatError";
    ({ path: this.path, offset: this.offset, maxHeaderSize: this.maxHeaderSize } = options);
  }
}

/**
 * A dtype cannot be used: an unknown or unsupported descr (such as the object dtype `'O'`),
 * or values that cannot be cast to the file's dtype.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { itemsizeOf, NpyDtypeError } from "@npy/append-array";
 *
 * assert.throws(() => itemsizeOf("|O"), (e) => {
 *   assert.ok(e instanceof TypeError && e instanceof NpyDtypeError);
 *   assert.equal(e.descr, "|O");
 *   return true;
 * });
 * ```
 */
export class NpyDtypeError extends TypeError {
  /** The file involved, when known. */
  readonly path: string | undefined;
  /** The descr text or value that could not be used. */
  readonly descr: unknown;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why.
   * @param options `descr`, `path` and `cause`.
   */
  constructor(message: string, options: NpyErrorOptions & { descr?: unknown } = {}) {
    super(message, options);
    this.name = "NpyDtypeError";
    ({ path: this.path, descr: this.descr } = options);
  }
}

/**
 * A shape is invalid or does not match: a row of the wrong trailing shape, a ragged nested
 * array, a shape whose byte size does not fit in 2^53.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NpyShapeError } from "@npy/append-array";
 *
 * const e = new NpyShapeError("Cannot append: row shape (3,) does not match (4,)", {
 *   expected: [4],
 *   actual: [3],
 * });
 * assert.ok(e instanceof RangeError);
 * assert.deepEqual(e.expected, [4]);
 * ```
 */
export class NpyShapeError extends RangeError {
  /** The file involved, when known. */
  readonly path: string | undefined;
  /** The shape that was expected, when there is one. */
  readonly expected: readonly number[] | undefined;
  /** The shape that was given. */
  readonly actual: readonly number[] | undefined;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why.
   * @param options `expected`, `actual`, `path` and `cause`.
   */
  constructor(
    message: string,
    options: NpyErrorOptions & {
      expected?: readonly number[] | undefined;
      actual?: readonly number[] | undefined;
    } = {},
  ) {
    super(message, options);
    this.name = "NpyShapeError";
    ({ path: this.path, expected: this.expected, actual: this.actual } = options);
  }
}

/**
 * A header cannot be rewritten in place because the new header does not fit in the bytes the
 * old one occupies (the file was written without growth room). `ensureAppendable` rewrites
 * such a file with room to grow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, NpyHeaderSpaceError } from "@npy/append-array";
 *
 * assert.throws(
 *   () => encodeHeader({ descr: "<f4", fortranOrder: false, shape: [10] }, { totalLength: 32 }),
 *   NpyHeaderSpaceError,
 * );
 * ```
 */
export class NpyHeaderSpaceError extends RangeError {
  /** The file involved, when known. */
  readonly path: string | undefined;
  /** Bytes the new header needs. */
  readonly needed: number;
  /** Bytes available for it. */
  readonly available: number;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why.
   * @param options `needed`, `available`, `path` and `cause`.
   */
  constructor(
    message: string,
    options: NpyErrorOptions & { needed: number; available: number },
  ) {
    super(message, options);
    this.name = "NpyHeaderSpaceError";
    ({ path: this.path, needed: this.needed, available: this.available } = options);
  }
}

/**
 * A file's data does not match its header (a crash or a cut download left it shorter or
 * longer than the header claims); `recover` makes it loadable again.
 *
 * @example A cut download
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, truncateSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, NpyRecoveryError, recoverSync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, new Float64Array(5)); // 128 header bytes, then 40 data bytes
 * truncateSync(path, 128 + 37);
 * assert.throws(() => loadNpySync(path), (e) => {
 *   assert.ok(e instanceof NpyRecoveryError);
 *   assert.deepEqual([e.path, e.expectedBytes, e.actualBytes], [path, 40, 37]);
 *   return true;
 * });
 * assert.equal(recoverSync(path).rows, 4); // whole rows kept, the cut one dropped
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NpyRecoveryError extends Error {
  /** The file that needs recovery. */
  readonly path: string | undefined;
  /** Data bytes the header claims. */
  readonly expectedBytes: number;
  /** Data bytes the file holds. */
  readonly actualBytes: number;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why.
   * @param options `expectedBytes`, `actualBytes`, `path` and `cause`.
   */
  constructor(
    message: string,
    options: NpyErrorOptions & { expectedBytes: number; actualBytes: number },
  ) {
    super(message, options);
    this.name = "NpyRecoveryError";
    ({ path: this.path, expectedBytes: this.expectedBytes, actualBytes: this.actualBytes } =
      options);
  }
}

/**
 * Who holds a writer's lock on a file, as written in its `<path>.lock` file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NpyLockError, type NpyLockHolder } from "@npy/append-array";
 *
 * function describe(e: unknown): string {
 *   if (!(e instanceof NpyLockError)) return "not a lock error";
 *   const holder: NpyLockHolder | undefined = e.holder;
 *   return holder ? `pid ${holder.pid} (${holder.runtime}) on ${holder.host}` : "unknown holder";
 * }
 * assert.equal(describe(new Error("x")), "not a lock error");
 * ```
 */
export interface NpyLockHolder {
  /** Process id of the holder. */
  readonly pid: number;
  /** Host name of the holder's machine. */
  readonly host: string;
  /** Runtime and version of the holder, e.g. `"deno 2.1.0"`. */
  readonly runtime: string;
  /** When the lock was taken, as an ISO 8601 date. */
  readonly time: string;
}

/**
 * Another writer holds the file: each `.npy` file has at most one writer at a time, across
 * processes and runtimes, marked by a `<path>.lock` file beside it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NpyLockError } from "@npy/append-array";
 *
 * const holder = { pid: 42, host: "box", runtime: "bun 1.2.0", time: "2025-01-01T00:00:00Z" };
 * const e = new NpyLockError("Cannot open \"a.npy\" for appending: locked by pid 42", {
 *   path: "a.npy",
 *   lockPath: "a.npy.lock",
 *   holder,
 * });
 * assert.ok(e instanceof Error);
 * assert.equal(e.holder?.pid, 42);
 * ```
 */
export class NpyLockError extends Error {
  /** The file that is locked. */
  readonly path: string | undefined;
  /** The lock file. */
  readonly lockPath: string;
  /** The holder, when the lock file could be read. */
  readonly holder: NpyLockHolder | undefined;
  /**
   * The system error code when the lock file could not be made (`EACCES`, `EROFS`…);
   * `undefined` when another writer holds the file.
   */
  readonly code: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why.
   * @param options `lockPath`, `holder`, `code`, `path` and `cause`.
   */
  constructor(
    message: string,
    options: NpyErrorOptions & {
      lockPath: string;
      holder?: NpyLockHolder | undefined;
      code?: string | undefined;
    },
  ) {
    super(message, options);
    this.name = "NpyLockError";
    ({ path: this.path, lockPath: this.lockPath, holder: this.holder, code: this.code } = options);
  }
}

/**
 * A file-system operation on the user's file failed: a full disk, a permission, an I/O
 * error, a file in the way. The message names the user's file (never a lock or temp file
 * beside it) and says what failed: `Cannot append to "out.npy": no space left on the device
 * (ENOSPC)`. It keeps the system's `code` (and `syscall`), and the system error as `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyAppendArray, NpyIOError } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "taken.npy");
 * writeFileSync(path, "");
 * assert.throws(() => NpyAppendArray.openSync(path, { mode: "create" }), (e) => {
 *   assert.ok(e instanceof NpyIOError);
 *   assert.equal(e.code, "EEXIST");
 *   assert.equal(e.path, path);
 *   return true;
 * });
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NpyIOError extends Error {
  /** The user's file. */
  readonly path: string;
  /** The system error code: `ENOENT`, `EACCES`, `ENOSPC`…. */
  readonly code: string;
  /** The system call that failed (`open`, `write`, `rename`…), when known. */
  readonly syscall: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What could not be done and why, naming the file.
   * @param options `path`, `code`, `syscall` and `cause` (the system error).
   */
  constructor(
    message: string,
    options: ErrorOptions & { path: string; code: string; syscall?: string | undefined },
  ) {
    super(message, options);
    this.name = "NpyIOError";
    ({ path: this.path, code: this.code, syscall: this.syscall } = options);
  }
}

/** A path as messages name it, quoted: `Cannot append to "out.npy": …`. Internal. */
export function quote(path: string): string {
  return JSON.stringify(path);
}
