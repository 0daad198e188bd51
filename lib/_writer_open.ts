/**
 * The file system's side of opening a file for appending: which file the writer writes
 * (the existing one, or a new one written beside the path until it holds a valid header),
 * and an existing file's header, recovered first if a crash cut it and the options allow.
 * A new file's temp file gets the path's name ({@link publishNewFile}) once it holds a valid
 * header. Internal: `NpyAppendArray` runs these while it holds the file's lock.
 *
 * @module
 */

import { NpyIOError, NpyRecoveryError, quote } from "./errors.ts";
import {
  createError,
  existsSync,
  fileError,
  fsyncDirSync,
  NpyFile,
  publishSync,
  realPathSync,
  removeSync,
  tempPathBeside,
  writableModeSync,
} from "./file.ts";
import { MAX_HEADER_SIZE } from "./header.ts";
import { type FileHeader, type NumberShapedHeader, readHeaderSync } from "./_header_io.ts";
import { recoverFileSync } from "./repair.ts";
import { hasCommitTrace, type WriterLock } from "./_lock.ts";
import type { NpyAppendArrayOptions } from "./_writer_options.ts";

/**
 * A new file, or one replacing the old (`mode: "overwrite"`): written as a temp file beside
 * the path and given its name once it holds a valid header, so that the path never holds an
 * empty or partial file, only the old one or a valid `.npy`.
 */
export interface NewFile {
  /** `"new"`: no file at the path yet; `"replace"`: the old file is replaced. */
  readonly make: "new" | "replace";
  /** The file replaced: the path, or where its symlink points (it keeps pointing there). */
  readonly target: string;
  /** The temp file beside it. */
  readonly temp: string;
}

/** The file a writer writes, as {@link openForAppend} opened it. */
export interface OpenedFile {
  /** The open file: the existing one, or the temp file of a new one. */
  readonly file: NpyFile;
  /** A new file's names; `undefined` for an existing file. */
  readonly make: NewFile | undefined;
  /** An existing file's header (its data matching it); `undefined` for a new, empty file. */
  readonly header: NumberShapedHeader | undefined;
}

/**
 * Opens the file `options.mode` says for appending, reads an existing file's header and
 * recovers the file if its data does not match it (as `options.onRecovery` says). On
 * error, nothing is left open or created.
 * @param lock The lock this writer holds (it tells whether a header is a commit record).
 * @throws {NpyRecoveryError} When the data does not match and `onRecovery` is `"error"`.
 * @throws {NpyIOError} For mode `"create"` and an existing file; other system errors raw.
 */
export function openForAppend(
  path: string,
  options: NpyAppendArrayOptions,
  lock: WriterLock | undefined,
): OpenedFile {
  const where = quote(path);
  const mode = options.mode ?? "append";
  let file: NpyFile | undefined;
  let make: NewFile | undefined;
  try {
    if (mode === "append") file = openExisting(path);
    if (file === undefined) {
      let replacedMode: number | undefined;
      // An overwrite refuses a directory or a read-only file, as np.save does.
      if (mode === "overwrite") replacedMode = writableModeSync(path);
      if (mode === "create" && existsSync(path)) {
        throw new NpyIOError(
          `Cannot create ${where}: the file exists (mode "create"); use mode "append" to ` +
            `append to it or "overwrite" to replace it`,
          { path, code: "EEXIST" },
        );
      }
      const target = replacedMode === undefined ? path : realPathSync(path) ?? path;
      // One name per path: the next writer (holding the lock) reuses what a killed one left.
      const temp = tempPathBeside(target, "new");
      make = { make: replacedMode === undefined ? "new" : "replace", target, temp };
      try {
        file = NpyFile.openSync(temp, "w+");
      } catch (e) {
        throw createError(e, `open ${where} for appending`, path); // names the path
      }
      if (replacedMode !== undefined) file.chmodSync(replacedMode);
      return { file, make, header: undefined };
    }
    if (file.sizeSync() === 0) return { file, make, header: undefined };
    let state = readHeaderSync(file, options.maxHeaderSize);
    if (recoverIfCut(path, state, options, lock)) {
      // recover() may have replaced the file (rewritten beside it and renamed): reopen.
      file.closeSync();
      file = NpyFile.openSync(path, "r+");
      state = readHeaderSync(file, options.maxHeaderSize);
    }
    return { file, make, header: state.header };
  } catch (e) {
    file?.closeSync();
    if (make !== undefined) removeSync(make.temp);
    throw e;
  }
}

/** The file at `path`, opened to read and write; `undefined` when there is none. */
function openExisting(path: string): NpyFile | undefined {
  try {
    return NpyFile.openSync(path, "r+");
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * An existing file whose data does not match its header (a crash or a cut copy): refused
 * (`onRecovery: "error"`) or recovered as `onRecovery` says.
 * @returns Whether it was recovered (and may have been replaced: reopen it).
 */
function recoverIfCut(
  path: string,
  state: FileHeader,
  options: NpyAppendArrayOptions,
  lock: WriterLock | undefined,
): boolean {
  const actual = state.size - state.header.headerLength;
  if (actual === state.dataBytes) return false;
  const how = options.onRecovery ?? "error";
  if (how === "error") {
    throw new NpyRecoveryError(
      `Cannot open ${quote(path)} for appending: its data is ${actual} bytes but the ` +
        `header claims ${state.dataBytes} (a crash or a cut copy); pass ` +
        `{ onRecovery: "truncate" } or "zeroFill", or call recover() first`,
      { path, expectedBytes: state.dataBytes, actualBytes: actual },
    );
  }
  // This writer holds the lock (or was opened with lock: false): a dead writer's lock it
  // took over, or the lock file as it is, tells whether the header is the commit record.
  const committed = lock !== undefined ? lock.tookOverWriter : hasCommitTrace(path);
  const maxHeaderSize = options.maxHeaderSize ?? MAX_HEADER_SIZE;
  recoverFileSync(path, { zeroFill: how === "zeroFill", maxHeaderSize }, committed);
  return true;
}

/**
 * A new file's temp file holds a valid header: gives it the path's name (without replacing
 * a file another process made there meanwhile, unless this is an overwrite). `durable`:
 * its directory is flushed too, so that a power loss keeps the name.
 * @returns The name whose directory is still to flush (with the data, at close), if any.
 * @throws {NpyIOError} `EEXIST` when another process made a file at the path.
 */
export function publishNewFile(make: NewFile, path: string, durable: boolean): string | undefined {
  try {
    publishSync(make.temp, make.target, make.make === "replace");
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== "EEXIST") throw e;
    throw new NpyIOError(
      `Cannot create ${quote(path)}: another process made a file there since this ` +
        `writer was opened; it is left as it is`,
      { path, code: "EEXIST", cause: e },
    );
  }
  if (!durable) return make.target;
  syncNewName(make.target, path);
  return undefined;
}

/**
 * Flushes the directory of a new file given its name, so that the name survives a power
 * loss (with durability "append" once published, else at close).
 * @throws {NpyIOError} The system's error, worded for the user's file.
 */
export function syncNewName(target: string, path: string): void {
  try {
    fsyncDirSync(target);
  } catch (e) {
    throw fileError(e, `make ${quote(path)} durable`, path);
  }
}
