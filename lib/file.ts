/**
 * The one module that touches the file system. Everything else works on bytes; readers,
 * writers and repair tools reach files only through {@link NpyFile}, built on `node:fs`,
 * which Deno, Bun and Node all provide. Positional reads and writes are looped until
 * complete (a single call may be short, and is capped at 2 GiB).
 *
 * What the library asks of the process and its host (pid, host name, whether a process
 * lives, environment, the exit hook) is here too: this is the one module that imports
 * `node:`. It also words system errors for the user's file ({@link fileError}: `Cannot
 * write "out.npy": permission denied (EACCES)`, not the lock or temp file the call was
 * about). The one atomic replace, built on these calls, is `lib/_replace.ts`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import { hostname } from "node:os";
import * as nodePath from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { permitted } from "./_permissions.ts";
import { fileError } from "./_file_error.ts";
import { denoIoLayer } from "./_deno_io.ts";

// One read or write call moves at most this many bytes (Node caps a call at 2 GiB - 1).
const MAX_IO = 1 << 30;
/**
 * Up to this size an async read or write is done synchronously: the thread-pool round trip
 * (15–20 µs here) would cost more than the transfer itself (about 1 µs for a small pread).
 */
export const SMALL_IO = 1 << 20;
/** The most parts a large async read is split into (2 cores here; more cost more calls). */
const READ_PARTS = 4;
/**
 * The most bytes one async write call moves. Deno's `FsFile.write` of 16 MiB held the event
 * loop for 7 ms and ran at half the rate of 4 MiB calls (bench/RESULTS.md); for Node and Bun
 * the pool's round trip per 4 MiB is lost in the transfer.
 */
const WRITE_PIECE = 4 << 20;

/** From this size on, {@link bytesToFill} does not zero the memory a read overwrites. */
const UNZEROED_FROM = 1 << 16;

/**
 * A new buffer of `length` bytes for a read to fill. A large one is not zeroed first
 * (`Buffer.allocUnsafeSlow`: memory of its own, never the shared pool): zeroing memory that
 * a read then overwrites costs about as much as the read. So the caller must fill every
 * byte before anyone sees the buffer, or drop it: {@link NpyFile.read} returns a short
 * count at the end of the file, and the reader then throws instead of returning the rows.
 */
export function bytesToFill(length: number): Uint8Array {
  if (length < UNZEROED_FROM) return new Uint8Array(length);
  const bytes = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, length);
}

/** Joins path segments, as `node:path` does: for modules that must not import `node:`. */
export function joinPath(...segments: string[]): string {
  return nodePath.join(...segments);
}

/** How to open a file: as `fs.openSync` flags. */
export type OpenFlags = "r" | "r+" | "w+" | "wx+";

/**
 * A path as the public API takes it: a string, or a `file:` URL (`new URL("./x.npy",
 * import.meta.url)`), turned into the file-system path every message and lock file uses.
 * @throws {TypeError} For a URL of another scheme, or a value that is neither.
 */
export function toPath(path: string | URL): string {
  if (typeof path === "string") return path;
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `Cannot use ${JSON.stringify(path.href)} as a path: only file: URLs are files`,
      );
    }
    return fileURLToPath(path);
  }
  throw new TypeError(
    `Cannot use ${describePath(path)} as a path: expected a string or a file: URL`,
  );
}

function describePath(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/**
 * A system error as `node:fs` raises it (`NodeJS.ErrnoException`), spelled out so that the
 * package's declarations need no Node types.
 */
export interface SystemError extends Error {
  code?: string | undefined;
  syscall?: string | undefined;
  errno?: number | undefined;
  path?: string | undefined;
}

type Callback<T> = (err: SystemError | null, value: T) => void;

/**
 * Internal: the descriptor-level calls {@link NpyFile} makes, with `node:fs` signatures.
 * {@link NODE_FILE_SYSTEM} is `node:fs` itself (no wrapper). Tests swap in a fault-injecting
 * layer with {@link setFileSystem}; a file keeps the layer it was opened with, so the
 * append path pays nothing for the seam.
 */
export interface FileSystem {
  /** `fs.openSync`. */
  openSync(path: string, flags: OpenFlags): number;
  /** `fs.open`. */
  open(path: string, flags: OpenFlags, callback: Callback<number>): void;
  /** `fs.readSync`. */
  readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  /** `fs.read`. */
  read(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: (err: SystemError | null, bytesRead: number, buffer: Uint8Array) => void,
  ): void;
  /** `fs.writeSync`. */
  writeSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  /** `fs.write`. */
  write(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: (err: SystemError | null, written: number, buffer: Uint8Array) => void,
  ): void;
  /** `fs.fstatSync`. */
  fstatSync(fd: number): { size: number; mode: number };
  /** `fs.fstat`. */
  fstat(fd: number, callback: Callback<{ size: number; mode: number }>): void;
  /** `fs.ftruncateSync`. */
  ftruncateSync(fd: number, length: number): void;
  /** `fs.fdatasyncSync`. */
  fdatasyncSync(fd: number): void;
  /** `fs.fdatasync`. */
  fdatasync(fd: number, callback: (err: SystemError | null) => void): void;
  /** `fs.fsyncSync`. */
  fsyncSync(fd: number): void;
  /** `fs.fchmodSync`. */
  fchmodSync(fd: number, mode: number): void;
  /** `fs.closeSync`. */
  closeSync(fd: number): void;
  /** `fs.renameSync`. */
  renameSync(from: string, to: string): void;
  /** `fs.linkSync`. */
  linkSync(from: string, to: string): void;
  /** Removes the file at `path`; a missing one is not an error (`fs.rmSync` with `force`). */
  removeSync(path: string): void;
  /**
   * Flushes the directory holding the file at `path` to the disk (its `open` and `fsync`),
   * so that a rename or a new file in it survives a crash. A no-op where directories cannot
   * be opened or synced (Windows).
   */
  fsyncDirSync(path: string): void;
}

const NODE_FS = {
  openSync: fs.openSync,
  open: fs.open,
  readSync: fs.readSync,
  read: fs.read,
  writeSync: fs.writeSync,
  write: fs.write,
  fstatSync: fs.fstatSync,
  fstat: fs.fstat,
  ftruncateSync: fs.ftruncateSync,
  fdatasyncSync: fs.fdatasyncSync,
  fdatasync: fs.fdatasync,
  fsyncSync: fs.fsyncSync,
  fchmodSync: fs.fchmodSync,
  closeSync: fs.closeSync,
  renameSync: fs.renameSync,
  linkSync: fs.linkSync,
  removeSync: (path: string) => fs.rmSync(path, { force: true }),
  fsyncDirSync: syncDirectory,
} as FileSystem;

/**
 * The real file system: the `node:fs` functions themselves, but under Deno for large async
 * reads and writes and for errors without `syscall` (lib/_deno_io.ts).
 */
export const NODE_FILE_SYSTEM: FileSystem = {
  ...NODE_FS,
  ...denoIoLayer(fs.write, fs.read, fs.closeSync, NODE_FS),
};

let fileSystem: FileSystem = NODE_FILE_SYSTEM;

/**
 * Internal, for fault-injection tests: files opened from now on use `layer`.
 * @returns The layer in use before.
 */
export function setFileSystem(layer: FileSystem): FileSystem {
  const previous = fileSystem;
  fileSystem = layer;
  return previous;
}

/**
 * An open file with positional, complete reads and writes. Internal: not exported from
 * `mod.ts`. Sync methods are the primitive; async ones run the same calls through the
 * thread pool for large transfers.
 */
export class NpyFile {
  #fd: number | undefined;
  readonly #fs: FileSystem;

  private constructor(readonly path: string, fd: number, layer: FileSystem) {
    this.#fd = fd;
    this.#fs = layer;
  }

  /** Opens `path` with `flags`; errors are the runtime's `ENOENT`, `EEXIST`, `EACCES`…. */
  static openSync(path: string, flags: OpenFlags): NpyFile {
    const layer = fileSystem;
    return new NpyFile(path, layer.openSync(path, flags), layer);
  }

  /** Async twin of {@link NpyFile.openSync}. */
  static open(path: string, flags: OpenFlags): Promise<NpyFile> {
    const layer = fileSystem;
    return new Promise((resolve, reject) =>
      layer.open(
        path,
        flags,
        (err, fd) => err ? reject(err) : resolve(new NpyFile(path, fd, layer)),
      )
    );
  }

  /** The file descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd === undefined) throw new Error(`Cannot use "${this.path}": the file is closed`);
    return this.#fd;
  }

  /** Whether {@link NpyFile.closeSync} has run. */
  get closed(): boolean {
    return this.#fd === undefined;
  }

  /** Current size in bytes. */
  sizeSync(): number {
    return this.#fs.fstatSync(this.fd).size;
  }

  /** Async twin of {@link NpyFile.sizeSync}. */
  size(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.#fs.fstat(this.fd, (err, st) => err ? reject(err) : resolve(st.size))
    );
  }

  /**
   * Reads into `target` from `position` until it is full or the file ends.
   * @returns Bytes read (less than `target.length` only at the end of the file).
   */
  readSync(target: Uint8Array, position: number): number {
    let done = 0;
    while (done < target.length) {
      const n = this.#fs.readSync(
        this.fd,
        target,
        done,
        Math.min(target.length - done, MAX_IO),
        position + done,
      );
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /**
   * Async twin of {@link NpyFile.readSync}. A large read is split into up to
   * {@link READ_PARTS} parts read at once on the thread pool: reads of a file's cached pages
   * run in parallel (a write would not), so copying them and faulting in a fresh buffer is
   * shared between threads, where one thread alone was slower than a `readSync` (Deno: 0.8x).
   */
  async read(target: Uint8Array, position: number): Promise<number> {
    if (target.length <= SMALL_IO) return this.readSync(target, position);
    const parts = Math.min(READ_PARTS, Math.ceil(target.length / SMALL_IO));
    const step = Math.ceil(target.length / parts);
    const counts = await Promise.all(
      Array.from({ length: parts }, (_, i) => {
        const start = i * step;
        return this.#readPart(target.subarray(start, start + step), position + start);
      }),
    );
    // The bytes read are the parts up to the first short one (the end of the file).
    let done = 0;
    for (const [i, n] of counts.entries()) {
      done += n;
      if (n < Math.min(step, target.length - i * step)) break;
    }
    return done;
  }

  /** Reads all of `target` at `position` on the thread pool; short only at the end. */
  async #readPart(target: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < target.length) {
      const n = await new Promise<number>((resolve, reject) =>
        this.#fs.read(
          this.fd,
          target,
          done,
          Math.min(target.length - done, MAX_IO),
          position + done,
          (err, bytesRead) => err ? reject(err) : resolve(bytesRead),
        )
      );
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** Writes all of `source` at `position`, looping over short writes. */
  writeSync(source: Uint8Array, position: number): void {
    let done = 0;
    while (done < source.length) {
      done += this.#fs.writeSync(
        this.fd,
        source,
        done,
        Math.min(source.length - done, MAX_IO),
        position + done,
      );
    }
  }

  /** Async twin of {@link NpyFile.writeSync}. */
  async write(source: Uint8Array, position: number): Promise<void> {
    if (source.length <= SMALL_IO) return this.writeSync(source, position);
    let done = 0;
    while (done < source.length) {
      done += await new Promise<number>((resolve, reject) =>
        this.#fs.write(
          this.fd,
          source,
          done,
          Math.min(source.length - done, WRITE_PIECE),
          position + done,
          (err, written) => err ? reject(err) : resolve(written),
        )
      );
    }
  }

  /** Sets the file's length, cutting or zero-extending it. */
  truncateSync(length: number): void {
    this.#fs.ftruncateSync(this.fd, length);
  }

  /** Flushes the file's data (and the metadata needed to read it) to the disk. */
  datasyncSync(): void {
    this.#fs.fdatasyncSync(this.fd);
  }

  /** Async twin of {@link NpyFile.datasyncSync}. */
  datasync(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#fs.fdatasync(this.fd, (err) => err ? reject(err) : resolve())
    );
  }

  /** Flushes data and all metadata to the disk. */
  fsyncSync(): void {
    this.#fs.fsyncSync(this.fd);
  }

  /** Sets the file's permission bits; ignored where the platform cannot (Windows). */
  chmodSync(mode: number): void {
    try {
      this.#fs.fchmodSync(this.fd, mode);
    } catch (e) {
      if (!isErrno(e, "EPERM", "ENOSYS", "EINVAL")) throw e;
    }
  }

  /** Closes the file; idempotent. */
  closeSync(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    this.#fs.closeSync(fd);
  }
}

function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && codes.includes((e as SystemError).code ?? "");
}

/**
 * A fresh name beside `path` (same directory, so a rename is atomic):
 * `.<name>.<tag>.tmp`, the tag random unless given. The file is not created.
 */
export function tempPathBeside(
  path: string,
  tag: string = Math.random().toString(36).slice(2, 10),
): string {
  return nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${tag}.tmp`);
}

/** Removes `path`; a missing file is not an error. */
export function removeSync(path: string): void {
  fileSystem.removeSync(path);
}

/**
 * Flushes the directory holding `path` to the disk, so that a rename or a new file in it
 * survives a crash. A no-op where directories cannot be opened or synced (Windows).
 */
export function fsyncDirSync(path: string): void {
  fileSystem.fsyncDirSync(path);
}

/** {@link FileSystem.fsyncDirSync} of `node:fs`. */
function syncDirectory(path: string): void {
  let fd: number;
  try {
    fd = fs.openSync(nodePath.dirname(path), "r");
  } catch (e) {
    if (isErrno(e, "EISDIR", "EPERM", "EACCES", "ENOTSUP")) return;
    throw e;
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    if (!isErrno(e, "EISDIR", "EPERM", "EINVAL", "ENOTSUP", "EBADF")) throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The permission bits of the file at `path`, once it is known to open for writing as
 * `np.save` opens a file it replaces (write only, not created); `undefined` when there is
 * no file there.
 * @throws The system error (`EACCES` for a read-only file, `EISDIR`…) when it cannot.
 */
export function writableModeSync(path: string): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_WRONLY);
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw e;
  }
  try {
    return fs.fstatSync(fd).mode & 0o7777;
  } finally {
    fs.closeSync(fd);
  }
}

/** The whole file at `path` as utf-8 text; `undefined` when it does not exist. */
export function readTextSync(path: string): string | undefined {
  return unlessMissing(() => fs.readFileSync(path, "utf8"), "ENOENT");
}

/** The canonical absolute path of `path` (symlinks resolved); `undefined` when it fails. */
export function realPathSync(path: string): string | undefined {
  try {
    return fs.realpathSync(path);
  } catch {
    return undefined;
  }
}

// -----------------------------------------------------------------------------------------
// System errors, worded (lib/_file_error.ts; re-exported: callers reach files through here)

export { fileError };

/**
 * {@link fileError} for a file that could not be created at `path`: an `ENOENT` then means
 * that its directory is missing, and says so.
 */
export function createError(e: unknown, action: string, path: string): unknown {
  const missing = (e as { code?: unknown })?.code === "ENOENT";
  const dir = nodePath.dirname(path);
  return fileError(e, action, path, missing ? `the directory "${dir}" does not exist` : undefined);
}

/** Whether anything (a file, a directory, a dangling link) is at `path`. */
export function existsSync(path: string): boolean {
  return unlessMissing(() => fs.lstatSync(path), "ENOENT", "ENOTDIR") !== undefined;
}

/**
 * Gives the file at `from` the name `to` and removes the name `from`, atomically; the file
 * may stay open meanwhile (the writer's new file, see `lib/writer.ts`). `replace`: a rename
 * over the file at `to`. Otherwise without replacing one (`EEXIST`) where hard links work,
 * else by a plain rename.
 */
export function publishSync(from: string, to: string, replace: boolean): void {
  if (replace) return fileSystem.renameSync(from, to);
  try {
    fileSystem.linkSync(from, to);
  } catch (e) {
    if (isErrno(e, "EEXIST")) throw e;
    fileSystem.renameSync(from, to); // no hard links here (FAT, some network file systems)
    return;
  }
  fileSystem.removeSync(from);
}

// -----------------------------------------------------------------------------------------
// Directories and whole small files (sharded stacks: lib/stack.ts)

/** Creates the directory `path` and its missing parents; an existing directory is fine. */
export function makeDirSync(path: string): void {
  fs.mkdirSync(path, { recursive: true });
}

/** `look()`, or `undefined` when what it looks at is not there (one of `codes`). */
function unlessMissing<T>(look: () => T, ...codes: string[]): T | undefined {
  try {
    return look();
  } catch (e) {
    if (isErrno(e, ...codes)) return undefined;
    throw e;
  }
}

/** The names in directory `path`; `undefined` when it does not exist. */
export function listDirSync(path: string): string[] | undefined {
  return unlessMissing(() => fs.readdirSync(path), "ENOENT");
}

/** Whether `path` is a directory (symlinks followed); `false` when it does not exist. */
export function isDirectorySync(path: string): boolean {
  return unlessMissing(() => fs.statSync(path).isDirectory(), "ENOENT", "ENOTDIR") ?? false;
}

/** Creates `to` as a hard link to `from` (no data copied); fails if `to` exists. */
export function linkSync(from: string, to: string): void {
  fileSystem.linkSync(from, to);
}

/** The whole file at `path` as bytes; `undefined` when it does not exist. */
export function readBytesSync(path: string): Uint8Array | undefined {
  return unlessMissing(() => fs.readFileSync(path), "ENOENT");
}

/** The size in bytes of the file at `path`. */
export function fileSizeSync(path: string): number {
  return fs.statSync(path).size;
}

// -----------------------------------------------------------------------------------------
// The process and its host (for the writer lock and the exit hooks)

/** This process's id. */
export const PROCESS_ID: number = process.pid;

/** `"deno 2.1.0"`, `"bun 1.2.0"` or `"node 22.1.0"`. */
export function runtimeName(): string {
  const g = globalThis as { Deno?: { version?: { deno?: string } }; Bun?: { version?: string } };
  if (g.Deno?.version?.deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun?.version) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/** Where the host name is read by a process not permitted to ask the system for it. */
const HOSTNAME_FILE = "/etc/hostname";

/** This machine's name; `""` when this process may not learn it. */
export function hostName(): string {
  if (permitted({ name: "sys", kind: "hostname" })) return hostname();
  if (!permitted({ name: "read", path: HOSTNAME_FILE })) return "";
  try {
    return readTextSync(HOSTNAME_FILE)?.trim() ?? "";
  } catch {
    return "";
  }
}

/** Whether process `pid` on this host has exited; `undefined` when this cannot be told. */
export function hasExited(pid: number): boolean | undefined {
  if (pid === process.pid) return false;
  if (!permitted({ name: "run" })) return undefined; // Deno without --allow-run
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === "ESRCH" ? true : undefined;
  }
}

/** The environment variable `name`; `undefined` when unset or not permitted. */
export function envVar(name: string): string | undefined {
  return permitted({ name: "env", variable: name }) ? process.env[name] : undefined;
}

/** Runs `listener` when the process exits (Node and Bun: its `exit` event). */
export function onProcessExit(listener: () => void): void {
  process.on("exit", listener);
}
