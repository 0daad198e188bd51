/**
 * The one module that touches the file system. Everything else works on bytes; readers,
 * writers and repair tools reach files only through {@link NpyFile}, built on `node:fs`,
 * which Deno, Bun and Node all provide. Positional reads and writes are looped until
 * complete (a single call may be short, and is capped at 2 GiB).
 *
 * @module
 */

import * as fs from "node:fs";
import * as nodePath from "node:path";

// One read or write call moves at most this many bytes (Node caps a call at 2 GiB - 1).
const MAX_IO = 1 << 30;
// Up to this size an async read or write is done synchronously: the thread-pool round trip
// (15–20 µs here) would cost more than the transfer itself (about 1 µs for a small pread).
const SMALL_IO = 1 << 20;

/** How to open a file: as `fs.openSync` flags. */
export type OpenFlags = "r" | "r+" | "w+" | "wx+";

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

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
    callback: (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: Uint8Array) => void,
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
    callback: (err: NodeJS.ErrnoException | null, written: number, buffer: Uint8Array) => void,
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
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  /** `fs.fsyncSync`. */
  fsyncSync(fd: number): void;
  /** `fs.fchmodSync`. */
  fchmodSync(fd: number, mode: number): void;
  /** `fs.closeSync`. */
  closeSync(fd: number): void;
}

/** The real file system: the `node:fs` functions themselves. */
export const NODE_FILE_SYSTEM: FileSystem = {
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
} as FileSystem;

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

  /** Async twin of {@link NpyFile.readSync}. */
  async read(target: Uint8Array, position: number): Promise<number> {
    if (target.length <= SMALL_IO) return this.readSync(target, position);
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
          Math.min(source.length - done, MAX_IO),
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

  /** The file's permission bits (`st_mode & 0o7777`). */
  modeSync(): number {
    return this.#fs.fstatSync(this.fd).mode & 0o7777;
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
  return e instanceof Error && codes.includes((e as NodeJS.ErrnoException).code ?? "");
}

/**
 * A fresh name beside `path` (same directory, so a rename is atomic):
 * `.<name>.<random>.tmp`. The file is not created.
 */
export function tempPathBeside(path: string): string {
  const random = Math.random().toString(36).slice(2, 10);
  return nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${random}.tmp`);
}

/** Renames `from` to `to`, atomically replacing `to` when both are on one file system. */
export function renameSync(from: string, to: string): void {
  fs.renameSync(from, to);
}

/** Removes `path`; a missing file is not an error. */
export function removeSync(path: string): void {
  fs.rmSync(path, { force: true });
}

/**
 * Flushes the directory holding `path` to the disk, so that a rename or a new file in it
 * survives a crash. A no-op where directories cannot be opened or synced (Windows).
 */
export function fsyncDirSync(path: string): void {
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

/** The whole file at `path` as utf-8 text; `undefined` when it does not exist. */
export function readTextSync(path: string): string | undefined {
  try {
    return fs.readFileSync(path, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw e;
  }
}

/** The canonical absolute path of `path` (symlinks resolved); `undefined` when it fails. */
export function realPathSync(path: string): string | undefined {
  try {
    return fs.realpathSync(path);
  } catch {
    return undefined;
  }
}
