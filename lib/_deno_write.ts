/**
 * Deno (2.x) runs `node:fs` `write` on the main thread: an awaited 16 MiB write stalls the
 * event loop for the whole transfer, where Node and Bun hand it to their thread pool. Deno's
 * own `FsFile.write` does go to a blocking-task thread. So under Deno, a large async write
 * goes through a Deno handle on the same open file: Linux's `/proc/self/fd/N`, which names
 * the open file itself and so follows it through renames. Where that handle cannot be had
 * (no `/proc`, or a `--allow-write` scoped to the data folder), `fs.write` it is: correct,
 * only not off the main thread.
 *
 * Internal: `lib/file.ts` builds its file-system layer with it.
 * @module
 */

type WriteCallback = (
  err: NodeJS.ErrnoException | null,
  written: number,
  buffer: Uint8Array,
) => void;
type Write = (
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
  callback: WriteCallback,
) => void;

interface DenoFile {
  seek(offset: number, whence: number): Promise<number>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}
interface DenoApi {
  openSync(path: string, options: { write: boolean }): DenoFile;
}

/**
 * `write` and `closeSync` for Deno (see the module doc); `undefined` in other runtimes.
 * @param write `fs.write`, the fallback.
 * @param closeSync `fs.closeSync`.
 */
export function denoWriteLayer(
  write: Write,
  closeSync: (fd: number) => void,
): { write: Write; closeSync: (fd: number) => void } | undefined {
  const deno = (globalThis as { Deno?: DenoApi }).Deno;
  if (deno === undefined) return undefined;
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
    write(fd, buffer, offset, length, position, callback) {
      const handle = handleOf(fd);
      if (handle === null) return write(fd, buffer, offset, length, position, callback);
      handle.seek(position, 0 /* SeekMode.Start */)
        .then(() => handle.write(buffer.subarray(offset, offset + length)))
        .then((written) => callback(null, written, buffer), (e) => callback(e, 0, buffer));
    },
    closeSync(fd) {
      const handle = handles.get(fd);
      handles.delete(fd);
      try {
        handle?.close();
      } finally {
        closeSync(fd);
      }
    },
  };
}
