/**
 * Deno (2.x) runs `node:fs` `write` on the main thread: an awaited 16 MiB write stalls the
 * event loop for the whole transfer, where Node and Bun hand it to their thread pool. Deno's
 * own `FsFile.write` does go to a blocking-task thread. So under Deno, a large async write
 * goes through a Deno handle on the same open file: Linux's `/proc/self/fd/N`, which names
 * the open file itself and so follows it through renames. Where that handle cannot be had
 * (no `/proc`, or a `--allow-write` scoped to the data folder), `fs.write` it is: correct,
 * only not off the main thread.
 *
 * Deno's `node:fs` `read` with a position does go off the main thread, but as several
 * round trips (it seeks, reads and seeks back), which made a large async read about 0.75x a
 * `readSync` of the same bytes. A large async read goes through a Deno handle too.
 *
 * Each call opens a handle of its own (so concurrent calls on one file never share a file
 * position), seeks it synchronously (an async seek was a round trip per call, 10% of a
 * 4 MiB write's time), then reads or writes on a blocking-task thread.
 *
 * Deno's `node:fs` also leaves `syscall` off the errors of `write`, `ftruncate`, `fdatasync`,
 * `fsync` and `fchmod` (an `ENOSPC` from `writeSync` has `code` only); the layer adds it, as
 * the errors worded for the user's file (`lib/file.ts`'s `fileError`) need it.
 *
 * Internal: `lib/file.ts` builds its file-system layer with it.
 * @module
 */

/** How `fs.read` and `fs.write` report: an error, or the bytes moved. */
type IoCallback = (err: NodeJS.ErrnoException | null, bytes: number, buffer: Uint8Array) => void;
/** `fs.read` or `fs.write`: `length` bytes of `buffer` from `offset`, at `position`. */
type PositionalIo = (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
  callback: IoCallback,
) => void;

interface DenoFile {
  seekSync(offset: number, whence: number): number;
  write(bytes: Uint8Array): Promise<number>;
  read(bytes: Uint8Array): Promise<number | null>;
  close(): void;
}
interface DenoApi {
  openSync(path: string, options: { write?: boolean; read?: boolean }): DenoFile;
}

/** A Deno error as `node:fs` gives it: with the `syscall` Deno leaves off. */
function named<T>(e: T, syscall: string): T {
  const error = e as NodeJS.ErrnoException;
  if (error instanceof Error && typeof error.code === "string") error.syscall ??= syscall;
  return e;
}

/** The calls of {@link denoIoLayer}'s base whose errors Deno leaves unnamed. */
interface Unnamed {
  writeSync(...args: never[]): number;
  ftruncateSync(fd: number, length: number): void;
  fdatasyncSync(fd: number): void;
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  fsyncSync(fd: number): void;
  fchmodSync(fd: number, mode: number): void;
}

/** `f`, its errors named `syscall`. */
function namingSync<A extends unknown[], R>(f: (...a: A) => R, syscall: string) {
  return (...args: A): R => {
    try {
      return f(...args);
    } catch (e) {
      throw named(e, syscall);
    }
  };
}

/** Reads into all of `target` from the handle's position, short only at the end of the file. */
async function readFully(handle: DenoFile, target: Uint8Array): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const n = await handle.read(target.subarray(done));
    if (n === null || n === 0) break;
    done += n;
  }
  return done;
}

/**
 * `write`, `read` and `closeSync` for Deno, and the calls of `base` whose errors it names
 * (see the module doc); `undefined` in other runtimes.
 * @param write `fs.write`, the fallback.
 * @param read `fs.read`, the fallback.
 * @param closeSync `fs.closeSync`.
 * @param base The `node:fs` calls whose errors Deno leaves without `syscall`.
 */
export function denoIoLayer<U extends Unnamed>(
  write: PositionalIo,
  read: PositionalIo,
  closeSync: (fd: number) => void,
  base: U,
):
  | (Pick<U, keyof Unnamed> & {
    write: PositionalIo;
    read: PositionalIo;
    closeSync: (fd: number) => void;
  })
  | undefined {
  const deno = (globalThis as { Deno?: DenoApi }).Deno;
  if (deno === undefined) return undefined;
  // Descriptors (with the access wanted) for which no handle could be had: not Linux, or
  // not permitted (a --allow-read/--allow-write scoped to the data folder). Forgotten when
  // the descriptor closes (numbers are reused).
  const unavailable = new Set<string>();
  /**
   * A handle of its own on `fd`'s open file, at `position`: never shared, so concurrent
   * calls on one descriptor never move each other's file position. The caller closes it.
   */
  const handleAt = (fd: number, write: boolean, position: number): DenoFile | undefined => {
    const key = `${fd}:${write ? "w" : "r"}`;
    if (unavailable.has(key)) return undefined;
    let handle: DenoFile | undefined;
    try {
      handle = deno.openSync(`/proc/self/fd/${fd}`, write ? { write } : { read: true });
      handle.seekSync(position, 0 /* SeekMode.Start */); // a sync seek: no round trip
      return handle;
    } catch {
      handle?.close();
      unavailable.add(key);
      return undefined;
    }
  };
  return {
    writeSync: namingSync(base.writeSync, "write") as U["writeSync"],
    ftruncateSync: namingSync(base.ftruncateSync, "ftruncate"),
    fdatasyncSync: namingSync(base.fdatasyncSync, "fdatasync"),
    fdatasync: (fd, callback) => base.fdatasync(fd, (e) => callback(named(e, "fdatasync"))),
    fsyncSync: namingSync(base.fsyncSync, "fsync"),
    fchmodSync: namingSync(base.fchmodSync, "fchmod"),
    write(fd, buffer, offset, length, position, callback) {
      const done: IoCallback = (e, written, b) => callback(named(e, "write"), written, b);
      const handle = handleAt(fd, true, position);
      if (handle === undefined) return write(fd, buffer, offset, length, position, done);
      handle.write(buffer.subarray(offset, offset + length))
        .finally(() => handle.close())
        .then((written) => done(null, written, buffer), (e) => done(e, 0, buffer));
    },
    read(fd, buffer, offset, length, position, callback) {
      const done: IoCallback = (e, n, b) => callback(named(e, "read"), n, b);
      const handle = handleAt(fd, false, position);
      if (handle === undefined) return read(fd, buffer, offset, length, position, done);
      readFully(handle, buffer.subarray(offset, offset + length))
        .finally(() => handle.close())
        .then((n) => done(null, n, buffer), (e) => done(e, 0, buffer));
    },
    closeSync(fd) {
      unavailable.delete(`${fd}:w`);
      unavailable.delete(`${fd}:r`);
      closeSync(fd);
    },
  };
}
