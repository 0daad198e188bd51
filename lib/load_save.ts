/**
 * Whole arrays in one call, as `numpy.load` and `numpy.save` do: {@link loadNpy} reads a file
 * through {@link NpyReader}, {@link saveNpy} writes one through the one atomic replace of
 * `lib/file.ts`. For a slice of a big file use {@link NpyReader}; to grow a file, the writer.
 *
 * @module
 */

import { quote } from "./errors.ts";
import { toPath } from "./file.ts";
import { replaceSteps } from "./_replace.ts";
import {
  type EncodeNpyOptions,
  encodeParts,
  type NpyArray,
  type NpyChunk,
  type NpyReaderOptions,
} from "./npy.ts";
import { NpyReader } from "./reader.ts";
import { runSteps, runStepsSync, type Steps } from "./_steps.ts";

/**
 * Loads a whole `.npy` file, as `numpy.load` does (for a slice of a big file use
 * {@link NpyReader}).
 *
 * @param path The `.npy` file.
 * @param options `registry`, `layout`, `maxHeaderSize`.
 * @returns The array.
 * @throws {NpyFormatError} When the file is not a valid `.npy` file.
 * @throws {NpyDtypeError} When no registered dtype handles the file's descr.
 * @throws {NpyRecoveryError} When the data is shorter than the header claims.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpy, saveNpy } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * await saveNpy(path, new Int32Array([1, 2, 3]));
 * const a = await loadNpy(path);
 * assert.equal(a.descr, "<i4");
 * assert.deepEqual(a.shape, [3]);
 * assert.deepEqual(a.data, new Int32Array([1, 2, 3]));
 * rmSync(dir, { recursive: true });
 * ```
 */
export async function loadNpy(
  path: string | URL,
  options: NpyReaderOptions = {},
): Promise<NpyArray> {
  path = toPath(path);
  await using r = await NpyReader.open(path, { ...options, allowTruncated: false });
  return await r.read();
}

/**
 * Sync twin of {@link loadNpy}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, { data: Uint8Array.of(1, 2, 3, 4), shape: [2, 2] });
 * const a = loadNpySync(path);
 * assert.equal(a.descr, "|u1");
 * assert.deepEqual(a.shape, [2, 2]);
 * assert.deepEqual(a.data, Uint8Array.of(1, 2, 3, 4));
 * rmSync(dir, { recursive: true });
 * ```
 */
export function loadNpySync(path: string | URL, options: NpyReaderOptions = {}): NpyArray {
  path = toPath(path);
  using r = NpyReader.openSync(path, { ...options, allowTruncated: false });
  return r.readSync();
}

/**
 * Writes an array to `path` as `np.save` does, atomically: into a temp file beside it,
 * flushed, then renamed over `path` — a crash leaves the old file or the new one. It holds
 * the file's writer lock meanwhile, so it never replaces a file an `NpyAppendArray` (in
 * any process) has open.
 *
 * @param path The file to write (replaced if it exists).
 * @param chunk An ndarray-like `{ data, shape, descr?, fortranOrder? }` or flat values.
 * @param options As {@link encodeNpy}.
 * @throws {NpyDtypeError} When the descr is unknown or the values cannot be cast to it.
 * @throws {NpyShapeError} When the shape does not match the number of elements.
 * @throws {NpyLockError} When a live writer holds the file (it is left untouched).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, saveNpy } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "x.npy");
 * await saveNpy(path, [1.5, 2.5], { descr: "<f8" });
 * assert.deepEqual([...(loadNpySync(path).data as Float64Array)], [1.5, 2.5]);
 * rmSync(dir, { recursive: true });
 * ```
 */
export async function saveNpy(
  path: string | URL,
  chunk: NpyChunk,
  options: EncodeNpyOptions = {},
): Promise<void> {
  await runSteps(saveSteps(path, chunk, options));
}

/**
 * Sync twin of {@link saveNpy}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { loadNpySync, saveNpySync } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "x.npy");
 * saveNpySync(path, [[1, 2], [3, 4]], { descr: "<i4" });
 * const a = loadNpySync(path);
 * assert.deepEqual(a.shape, [2, 2]);
 * assert.deepEqual(a.data, Int32Array.of(1, 2, 3, 4));
 * rmSync(dir, { recursive: true });
 * ```
 */
export function saveNpySync(
  path: string | URL,
  chunk: NpyChunk,
  options: EncodeNpyOptions = {},
): void {
  runStepsSync(saveSteps(path, chunk, options));
}

/** saveNpy as steps: the bytes encoded first, then one atomic replace. */
function* saveSteps(path: string | URL, chunk: NpyChunk, options: EncodeNpyOptions): Steps<void> {
  path = toPath(path);
  const [header, data] = encodeParts(chunk, options, path);
  yield* replaceSteps(path, { action: `write ${quote(path)}` }, function* (file) {
    yield { write: file, bytes: header, position: 0 };
    yield { write: file, bytes: data, position: header.length };
  });
}
