/**
 * Repairing `.npy` files: {@link recover} makes a file that a crash or a cut download left
 * behind load again, {@link ensureAppendable} gives a file without growth room (old NumPy,
 * other tools) a header that can be rewritten in place, and {@link isAppendable} /
 * {@link needsRecovery} tell whether either is needed. Each has a `Sync` twin.
 *
 * - `recover.ts`: recover, needsRecovery;
 * - `ensure_appendable.ts`: ensureAppendable, isAppendable;
 * - `_repair_steps.ts`: what both share (options, the lock, the rewrite by copy).
 *
 * @module
 */

export { type RepairOptions, type RepairProgress } from "./_repair_steps.ts";
export {
  needsRecovery,
  needsRecoverySync,
  recover,
  recoverFileSync,
  type RecoverOptions,
  type RecoverResult,
  recoverSync,
} from "./recover.ts";
export {
  ensureAppendable,
  type EnsureAppendableOptions,
  type EnsureAppendableResult,
  ensureAppendableSync,
  isAppendable,
  isAppendableSync,
} from "./ensure_appendable.ts";
