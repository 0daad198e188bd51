/**
 * Internal: a system error (as `node:fs` throws it) reworded for the user's file, `Cannot
 * <action>: <reason> (<code>)`, an `NpyIOError`. Pure; lib/file.ts, which makes the system calls, exports
 * {@link fileError} with its other file-system helpers.
 *
 * @module
 */

import { NpyIOError } from "./errors.ts";

/** What the system error codes mean, in words. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EEXIST: "the file exists",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  EROFS: "read-only file system",
  EIO: "input/output error",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EBUSY: "the file is busy",
  ETXTBSY: "the file is busy",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "the name is too long",
  EFBIG: "the file is too large",
};

/**
 * The error to throw for `e`, raised while trying to `action` the user's file at `path`
 * (`action` names it: `open "a.npy" for appending`). A raw system error (a `code` and a
 * `syscall`, as `node:fs` throws them; its message may name a lock or temp file, or no file
 * at all) becomes an {@link NpyIOError} `Cannot <action>: <reason> (<code>)`; any other error
 * is returned as is.
 *
 * @param reason Words for the reason, when the caller knows better than the code
 *   (`the directory "d" does not exist`).
 */
export function fileError(e: unknown, action: string, path: string, reason?: string): unknown {
  if (!(e instanceof Error) || e instanceof NpyIOError) return e;
  const { code, syscall } = e as NodeJS.ErrnoException;
  if (typeof code !== "string" || typeof syscall !== "string") return e;
  const text = reason ?? ERRNO_TEXT[code] ?? e.message.replace(/^[A-Z]+: |, .*$/g, "");
  // The original error is the cause: it may name a lock or temp file, the message never does.
  return new NpyIOError(`Cannot ${action}: ${text} (${code})`, { path, code, syscall, cause: e });
}
