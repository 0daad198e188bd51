/**
 * The one atomic replace of a file ({@link Replacement}, {@link replaceSteps}): behind
 * `saveNpy`, the copying repairs, the stack listing and `npy concat`. Built on the calls of
 * `lib/file.ts`, the module that touches the file system.
 *
 * @module
 */

import {
  createError,
  fileError,
  fsyncDirSync,
  NpyFile,
  publishSync,
  removeSync,
  tempPathBeside,
  writableModeSync,
} from "./file.ts";
import { WriterLock } from "./_lock.ts";
import type { Steps } from "./_steps.ts";

/**
 * Options of {@link Replacement.beginSync}.
 */
export interface ReplaceOptions {
  /** What the replace does, for errors; names the file: `write "out.npy"`. */
  action: string;
  /**
   * Hold `path`'s writer lock (as `NpyAppendArray` takes it) from the start until the
   * rename: a live writer makes the replace fail with its `NpyLockError`. `false` when the
   * caller holds the lock already, or locking is off.
   * @default {true}
   */
  lock?: boolean;
}

/**
 * A file being replaced atomically: the new content goes into a temp file beside it (same
 * directory, so the rename is atomic), which {@link Replacement.commitSync} flushes and
 * renames over the file, then flushes the directory. Unless told otherwise it holds the
 * file's writer lock throughout, so it never replaces a file a live writer holds (whose
 * later appends would go to the unlinked old file). A crash at any point leaves the old
 * file or the new one. The one way this library replaces a file.
 */
export class Replacement {
  /** The temp file: write the new content here. */
  readonly file: NpyFile;
  readonly #path: string;
  readonly #temp: string;
  readonly #action: string;
  readonly #lock: WriterLock | undefined;

  private constructor(
    path: string,
    temp: string,
    file: NpyFile,
    action: string,
    lock: WriterLock | undefined,
  ) {
    this.#path = path;
    this.#temp = temp;
    this.file = file;
    this.#action = action;
    this.#lock = lock;
  }

  /**
   * Creates the temp file beside `path` and takes `path`'s writer lock. A file at `path` must
   * open for writing, as `np.save` needs: a read-only one is refused, not replaced. The new
   * file gets the replaced file's permission bits.
   * @throws {NpyLockError} When a live writer holds `path` (nothing is left behind).
   * @throws A system error worded for `path` when the temp file cannot be created, or the
   *   file cannot be written (`EACCES`, `EISDIR`).
   */
  static beginSync(path: string, options: ReplaceOptions): Replacement {
    const temp = tempPathBeside(path);
    let file: NpyFile;
    try {
      file = NpyFile.openSync(temp, "wx+");
    } catch (e) {
      throw createError(e, options.action, path);
    }
    let lock: WriterLock | undefined;
    try {
      if (options.lock !== false) lock = WriterLock.acquireSync(path, options.action);
      const mode = writableModeSync(path);
      if (mode !== undefined) file.chmodSync(mode);
    } catch (e) {
      file.closeSync();
      removeSync(temp);
      lock?.releaseSync(true);
      throw fileError(e, options.action, path);
    }
    return new Replacement(path, temp, file, options.action, lock);
  }

  /** Flushes the temp file, renames it over the file, flushes the directory, unlocks. */
  commitSync(): void {
    try {
      this.file.fsyncSync();
      this.file.closeSync();
      publishSync(this.#temp, this.#path, true);
    } catch (e) {
      this.abortSync();
      throw fileError(e, this.#action, this.#path);
    }
    try {
      fsyncDirSync(this.#path);
    } catch (e) {
      // The new file is in place, but its name may not survive a crash: the caller hears.
      throw fileError(e, this.#action, this.#path);
    } finally {
      this.#lock?.releaseSync();
    }
  }

  /**
   * Removes the temp file and unlocks; the file is untouched, so a dead writer's lock
   * record taken over is put back (the trace its recovery needs). Idempotent.
   */
  abortSync(): void {
    try {
      this.file.closeSync();
    } catch {
      // Closing a temp file we are about to remove: nothing depends on it.
    }
    try {
      removeSync(this.#temp);
    } catch {
      // The temp file stays (a hidden `.name.tag.tmp` beside the file); what made the
      // replace fail is the error the caller reports, and the file is untouched.
    } finally {
      this.#lock?.releaseSync(true);
    }
  }
}

/**
 * Replaces `path` atomically with what the steps of `fill` write into the temp file (see
 * {@link Replacement}), as steps (lib/_steps.ts); when they throw, `path` is untouched.
 * @returns What `fill` returned.
 */
export function* replaceSteps<T>(
  path: string,
  options: ReplaceOptions,
  fill: (file: NpyFile) => Steps<T>,
): Steps<T> {
  const replacement = Replacement.beginSync(path, options);
  let result: T;
  try {
    result = yield* fill(replacement.file);
  } catch (e) {
    replacement.abortSync();
    throw fileError(e, options.action, path); // ENOSPC writing the temp file: the user's file
  }
  replacement.commitSync();
  return result;
}
