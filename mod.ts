/**
 * Append rows to NumPy `.npy` files that are larger than memory, from Deno, Bun and Node,
 * so that `numpy.load(path, mmap_mode="r")` opens them unchanged at any moment.
 *
 * The header core parses and writes `.npy` headers exactly as NumPy does:
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeHeader, parseHeader } from "@npy/append-array";
 *
 * const header = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [0, 3] });
 * assert.equal(header.length % 64, 0);
 * assert.deepEqual(parseHeader(header).shape, [0, 3]);
 * ```
 *
 * Importing this module has no side effects.
 *
 * @module
 */
export * from "./core.ts";
export { hasGrowthRoom } from "./lib/header.ts";
export { type NpyChunksOptions, NpyReader, type NpyReadOptions } from "./lib/reader.ts";
export { loadNpy, loadNpySync, saveNpy, saveNpySync } from "./lib/load_save.ts";
export {
  ensureAppendable,
  type EnsureAppendableOptions,
  type EnsureAppendableResult,
  ensureAppendableSync,
  isAppendable,
  isAppendableSync,
  needsRecovery,
  needsRecoverySync,
  recover,
  type RecoverOptions,
  type RecoverResult,
  recoverSync,
  type RepairOptions,
  type RepairProgress,
} from "./lib/repair.ts";
export { NpyAppendArray, type NpyAppendArrayOptions } from "./lib/writer.ts";
export { NpyIOError, NpyLockError, type NpyLockHolder } from "./lib/errors.ts";
export {
  DEFAULT_SHARD_BYTES,
  mergeStacks,
  type MergeStacksOptions,
  type MergeStacksResult,
  mergeStacksSync,
  NpyStackReader,
  type NpyStackReaderOptions,
  NpyStackWriter,
  type NpyStackWriterOptions,
  recoverStack,
  type RecoverStackOptions,
  type RecoverStackResult,
  recoverStackSync,
  STACK_FORMAT,
  STACK_FORMAT_VERSION,
} from "./lib/stack.ts";
