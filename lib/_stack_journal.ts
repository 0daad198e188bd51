/**
 * Internal: what makes a stack append that crosses shards all or nothing. Within one shard the
 * header is the commit record; an append across shards writes several. Before such an append
 * the stack writer puts a journal in its lock record (`dir/stack.lock`, see lib/_lock.ts):
 * `{"shard": k, "rows": c}`, the open shard and its rows (0: the append creates shard k). Shard
 * k was then the last shard, and `info` and `stack.json` listed the k shards before it. The
 * shards the append fills are closed but listed only once it is complete, after the journal is
 * cleared: so while a journal stands the listing holds exactly k shards, and a listed shard is
 * never changed. A dead writer's journal, where the listing still holds k shards, is undone:
 * shard k back to `c` rows (header rewritten, data cut, as `recover` does; removed when `c` is
 * 0) and every shard after it removed, the last first (a crash part-way is undone again). A
 * lock without a journal (older writers, appends within a shard) reads as before.
 *
 * @module
 */

import { lockJournal, type WriterLock } from "./_lock.ts";
import { joinPath, removeSync } from "./file.ts";
import { recoverFileSync } from "./repair.ts";

/** The stack's lock: the file `dir/stack.lock`. */
export const LOCK_NAME = "stack";

/** The journal of an append across shards. */
export interface StackJournal {
  /** The shard the append writes first: the open one, or the one it creates. */
  readonly shard: number;
  /** Rows of that shard before the append. */
  readonly rows: number;
}

/** The file of shard `index` of the stack in `dir`. */
export function shardPath(dir: string, index: number): string {
  return joinPath(dir, `${index}.npy`);
}

/** A journal read from a lock record; `undefined` when there is none (or it is not one). */
export function parseJournal(value: unknown): StackJournal | undefined {
  const { shard, rows } = (value ?? {}) as Record<string, unknown>;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  return count(shard) && count(rows) ? { shard, rows } : undefined;
}

/**
 * The journal a stopped writer left in `<path>.lock`: the one in the lock taken over, or
 * without a lock (`lock: false`, `npy info`), the one in the lock file as it is.
 */
export function leftJournal(
  lock: WriterLock | undefined,
  lockPath: string,
): StackJournal | undefined {
  return parseJournal(lock !== undefined ? lock.journal : lockJournal(lockPath));
}

/**
 * Undoes the append `journal` records in the stack `dir` (see the module doc), when its
 * listing still holds `listed` = `journal.shard` shards. `unlisted`: the shard files present
 * past the listing. `dryRun`: change nothing.
 * @returns The unlisted shards left, or `undefined` when there is nothing to undo.
 */
export function undoAppendSync(
  dir: string,
  journal: StackJournal,
  listed: number,
  unlisted: readonly number[],
  dryRun: boolean,
): number[] | undefined {
  if (journal.shard !== listed) return undefined;
  const { shard, rows } = journal;
  const drop = unlisted.filter((i) => i > shard || (i === shard && rows === 0));
  const cut = rows > 0 && unlisted.includes(shard) && (() => {
    const r = recoverFileSync(shardPath(dir, shard), { dryRun: true }, true, rows);
    return r.rows !== rows || r.droppedBytes > 0 || r.addedBytes > 0;
  })();
  if (drop.length === 0 && !cut) return undefined;
  if (!dryRun) {
    for (const i of drop.reverse()) removeSync(shardPath(dir, i));
    if (cut) recoverFileSync(shardPath(dir, shard), {}, true, rows);
  }
  return unlisted.filter((i) => !drop.includes(i));
}

/**
 * For `npy info`: the append across shards `stack.lock` in `dir` records as it is, when
 * recovery would undo it (`listed`, `unlisted`: as the stack's listing and files are); with
 * the shard files undoing it removes.
 */
export function cutAppendSync(
  dir: string,
  listed: number,
  unlisted: readonly number[],
): { journal: StackJournal; removed: number[] } | undefined {
  const journal = leftJournal(undefined, joinPath(dir, LOCK_NAME));
  if (journal === undefined) return undefined;
  const left = undoAppendSync(dir, journal, listed, unlisted, true);
  return left && { journal, removed: unlisted.filter((i) => !left.includes(i)) };
}
