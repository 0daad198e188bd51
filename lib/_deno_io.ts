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
 * `readSync` of the same bytes. A large async read goes through a Deno handle too: its own,
 * opened for that read (so concurrent reads of one file never share a file position), a
 * synchronous seek, then `FsFile.read` on a blocking-task thread.
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
  seek(offset: number, whence: number): Promise<number>;
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
  // Descriptors whose reading handle could not be had (not Linux, or not permitted).
  const unreadable = new Set<number>();
  // One Deno handle per descriptor, dropped when the descriptor closes (numbers are reused).
  const handles = new Map<number, DenoFile | null>();
  const handleOf = (fd: number): DenoFile | null => {
    let handle = handles.get(fd);
    if (handle === undefined) {
      try {
        handle = deno.openSync(`/proc/self/fd/${fd}`, { write: true });
      } catch {
        handle = null; // not Linux, or not permitted: fs.write
      }
      handles.set(fd, handle);
    }
    return handle;
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
      const handle = handleOf(fd);
      if (handle === null) return write(fd, buffer, offset, length, position, done);
      handle.seek(position, 0 /* SeekMode.Start */)
        .then(() => handle.write(buffer.subarray(offset, offset + length)))
        .then((written) => done(null, written, buffer), (e) => done(e, 0, buffer));
    },
    read(fd, buffer, offset, length, position, callback) {
      const done: IoCallback = (e, n, b) => callback(named(e, "read"), n, b);
      let handle: DenoFile | undefined;
      if (!unreadable.has(fd)) {
        try {
          handle = deno.openSync(`/proc/self/fd/${fd}`, { read: true });
          handle.seekSync(position, 0 /* SeekMode.Start */);
        } catch {
          handle?.close();
          handle = undefined;
          unreadable.add(fd);
        }
      }
      if (handle === undefined) return read(fd, buffer, offset, length, position, done);
      const own = handle;
      readFully(own, buffer.subarray(offset, offset + length))
        .finally(() => own.close())
        .then((n) => done(null, n, buffer), (e) => done(e, 0, buffer));
    },
    closeSync(fd) {
      const handle = handles.get(fd);
      handles.delete(fd);
      unreadable.delete(fd);
      try {
        handle?.close();
      } finally {
        closeSync(fd);
      }
    },
  };
}
