/**
 * Sharded stacks: a directory of `.npy` shards `0.npy`, `1.npy`, … with the `info` file
 * `dask.array.from_npy_stack` reads (a pickle of `{'chunks': …, 'dtype': …, 'axis': …}`) and
 * a `stack.json` with the same facts for JS readers and people.
 *
 * - {@link NpyStackWriter} appends rows, rolling over to a new shard every `shardRows` rows
 *   (or `shardBytes`); each shard is an ordinary appendable `.npy` written by
 *   `NpyAppendArray`. `info` and `stack.json` are replaced atomically each time an append
 *   closes a shard, and list closed shards only: a reader always sees complete shards. An
 *   append across shards is all or nothing (lib/_stack_journal.ts).
 * - {@link NpyStackReader} reads rows across shards, from our stacks and from stacks Dask's
 *   `to_npy_stack` wrote (the facts come from the shards' headers; nothing is unpickled).
 * - {@link mergeStacks} joins stacks of separate producers by hard-linking (or renaming)
 *   their shards: no data is copied.
 * - {@link recoverStack} adopts the shard a crashed writer left open, an append across
 *   shards it cut undone.
 *
 * Each job has its module: lib/stack_writer.ts, lib/stack_reader.ts, lib/stack_merge.ts,
 * lib/stack_recover.ts, and the listing files (`info`, `stack.json`) in lib/stack_listing.ts.
 * This one gathers their public names.
 *
 * @module
 */

export { STACK_FORMAT, STACK_FORMAT_VERSION } from "./stack_listing.ts";
export { DEFAULT_SHARD_BYTES, type NpyStackWriterOptions } from "./stack_writer_options.ts";
export { NpyStackWriter } from "./stack_writer.ts";
export { NpyStackReader, type NpyStackReaderOptions } from "./stack_reader.ts";
export {
  mergeStacks,
  type MergeStacksOptions,
  type MergeStacksResult,
  mergeStacksSync,
} from "./stack_merge.ts";
export {
  recoverStack,
  type RecoverStackOptions,
  type RecoverStackResult,
  recoverStackSync,
} from "./stack_recover.ts";
