/**
 * Internal: one writer per file, across processes and runtimes. The writer of `a.npy` holds
 * `a.npy.lock`, created exclusively (`O_EXCL`) and holding JSON `{pid, host, runtime, time}`.
 * A lock whose process is gone (same host, `kill(pid, 0)` fails with `ESRCH`) is taken
 * over; any other lock makes the second writer fail with an {@link NpyLockError} naming
 * the holder. The lock file is removed when the writer closes.
 *
 * Without broad permissions (Deno's `--allow-read --allow-write`) the host name and the
 * liveness of a process may be out of reach: the host name is then read from
 * `/etc/hostname` where that may be read, else recorded as `""` (unknown); a lock whose
 * holder cannot be shown dead (another or an unknown host, no `--allow-run` to signal the
 * process) is never taken over, and the error says to remove it by hand.
 *
 * The lock file is also the trace recovery reads: a writer's record carries
 * `"commit": "header"` (its header is the commit record, so bytes past the rows the header
 * claims are an append a crash cut), and whoever takes such a lock over keeps the mark in its
 * own record, and puts the dead writer's record back if it gives up without repairing the
 * file (`releaseSync(true)`). See {@link hasCommitTrace}. A stack writer also keeps a journal in
 * its record while an append crosses shards ({@link WriterLock.writeJournalSync}, read by
 * lib/_stack_journal.ts); a takeover keeps that too, until the taker has undone the append.
 *
 * Taking over is done under a second, short-lived exclusive file, `<path>.lock.takeover`:
 * of two processes that both found the same dead writer's lock, only the one holding it
 * removes that lock, after reading it again; the other then finds the winner's lock. (A
 * plain read-compare-remove let both remove and both win: the concurrency test found it.)
 *
 * @module
 */

import { NpyLockError, type NpyLockHolder } from "./errors.ts";
import {
  createError,
  fileError,
  hasExited,
  hostName,
  NpyFile,
  PROCESS_ID,
  publishSync,
  readTextSync,
  removeSync,
  runtimeName,
  tempPathBeside,
} from "./file.ts";
import { releaseCollected } from "./_exit.ts";

interface LockRecord extends NpyLockHolder {
  readonly token: string;
  /** Set by this library's writer: the file's header is its commit record. */
  readonly commit?: "header";
  /** A stack writer's journal of an append across shards (opaque here). */
  readonly journal?: unknown;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text);
    if (
      r && typeof r === "object" && Number.isSafeInteger(r.pid) && typeof r.host === "string" &&
      typeof r.runtime === "string" && typeof r.time === "string"
    ) return r as LockRecord;
  } catch {
    // Not JSON (yet): the holder may be writing it right now.
  }
  return undefined;
}

/** The texts of the locks this process holds: a lock among them is ours, and alive. */
const HELD = new Set<string>();

/**
 * Replaces the lock file with `text` if it still holds `existing`, under the takeover file
 * `<lock>.takeover` (created exclusively), so that only one process takes a given stale lock
 * over. The new record is written beside and renamed over the old one: at every moment the
 * lock file holds the dead holder's record or ours, so a process killed while taking over
 * never loses a dead writer's trace (its file's header as the commit record).
 * @returns `false` when another process holds the takeover file, or the lock changed.
 * @throws The system error when the new record cannot be written (the old lock stays).
 */
function replaceStale(lockPath: string, existing: string, text: string): boolean {
  const takeoverPath = lockPath + ".takeover";
  let takeover: NpyFile;
  try {
    takeover = NpyFile.openSync(takeoverPath, "wx+");
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw e;
  }
  try {
    if (readTextSync(lockPath) !== existing) return false;
    // One fixed name (the takeover file makes us its only user): a process killed here
    // leaves at most this one small file, which the next takeover overwrites.
    const temp = tempPathBeside(lockPath, "new");
    try {
      const file = NpyFile.openSync(temp, "w+");
      try {
        file.writeSync(new TextEncoder().encode(text), 0);
      } finally {
        file.closeSync();
      }
      publishSync(temp, lockPath, true);
    } catch (e) {
      removeSync(temp);
      throw e;
    }
    return true;
  } finally {
    takeover.closeSync();
    removeSync(takeoverPath);
  }
}

/**
 * The record a new holder writes: marked as a writer's (`commit`), and keeping a dead
 * writer's mark and journal when it takes that writer's lock over.
 */
function ourRecord(record: LockRecord, commit: boolean, dead: LockRecord | undefined): LockRecord {
  if (dead?.commit === "header") return { ...record, commit: "header", journal: dead.journal };
  return commit ? { ...record, commit: "header" } : record;
}

/** The error for a lock another writer holds; `alive`: that writer is known to run. */
function heldError(
  action: string,
  path: string,
  lockPath: string,
  holder: NpyLockHolder,
  alive: boolean,
  ours: boolean,
): NpyLockError {
  const host = holder.host === "" ? "an unnamed host" : `host "${holder.host}"`;
  const who = `pid ${holder.pid} (${holder.runtime}) on ${host} since ${holder.time}`;
  // A lock this very process holds: another writer object (or a command) in this program.
  const message = ours
    ? `Cannot ${action}: this process (pid ${holder.pid}) already holds the file's writer ` +
      `lock, for a writer opened here at ${holder.time} and not closed yet. Close that ` +
      `writer first`
    : `Cannot ${action}: another writer holds the file: ${who}. Close that writer first${
      alive ? "" : `, or remove "${lockPath}" if that process is gone`
    }`;
  return new NpyLockError(
    message,
    {
      path,
      lockPath,
      holder: { pid: holder.pid, host: holder.host, runtime: holder.runtime, time: holder.time },
    },
  );
}

/** The record in `<path>.lock`; `undefined` when there is none (or it cannot be read). */
function readRecord(path: string): LockRecord | undefined {
  let text: string | undefined;
  try {
    text = readTextSync(path + ".lock");
  } catch {
    return undefined; // unreadable (a directory, no permission): no trace
  }
  return text === undefined ? undefined : parseRecord(text);
}

/**
 * Whether `<path>.lock` holds a record of this library's writer (live or dead), or of a
 * process that took such a lock over: then the file's header is its commit record.
 */
export function hasCommitTrace(path: string): boolean {
  return readRecord(path)?.commit === "header";
}

/** The journal in `<path>.lock`'s record, as it is (see {@link WriterLock.writeJournalSync}). */
export function lockJournal(path: string): unknown {
  return readRecord(path)?.journal;
}

/**
 * Writes `text` over the start of the lock file in one write, padded with spaces (JSON allows
 * them) to at least `length` bytes, so no byte of a longer record before it is left; `sync`:
 * `fdatasync` it. The file always holds a whole record: a write this small, at offset 0, lands
 * whole or not at all when the process dies.
 * @returns The file's text now.
 */
function writeOverSync(lockPath: string, text: string, length: number, sync = false): string {
  const encoded = new TextEncoder().encode(text);
  const bytes = new Uint8Array(Math.max(length, encoded.length)).fill(0x20);
  bytes.set(encoded);
  const file = NpyFile.openSync(lockPath, "r+");
  try {
    file.writeSync(bytes, 0);
    if (sync) file.datasyncSync();
  } finally {
    file.closeSync();
  }
  return new TextDecoder().decode(bytes);
}

/** A held lock. */
export class WriterLock {
  readonly #lockPath: string;
  #text: string; // the lock file's text, as readTextSync returns it
  #record: LockRecord;
  readonly #inherited: string | undefined;
  #held = true;

  private constructor(
    lockPath: string,
    text: string,
    record: LockRecord,
    inherited: string | undefined,
  ) {
    this.#lockPath = lockPath;
    this.#text = text;
    this.#record = record;
    this.#inherited = inherited;
  }

  /** The lock file's path. */
  get lockPath(): string {
    return this.#lockPath;
  }

  /** Whether the lock taken over was a (dead) writer's: its header is the commit record. */
  get tookOverWriter(): boolean {
    return this.#inherited !== undefined;
  }

  /** The journal in our record: a dead writer's taken over, until replaced. */
  get journal(): unknown {
    return this.#record.journal;
  }

  /**
   * Puts `journal` in our record (`undefined`: removes it), rewriting the lock file in place
   * (see {@link writeOverSync}); `sync`: `fdatasync` it before returning.
   */
  writeJournalSync(journal: unknown, sync: boolean): void {
    const { journal: _old, ...rest } = this.#record;
    const record: LockRecord = journal === undefined ? rest : { ...rest, journal };
    const length = new TextEncoder().encode(this.#text).length;
    try {
      this.#now(writeOverSync(this.#lockPath, JSON.stringify(record), length, sync), record);
    } catch (e) {
      // Written or not (a failed sync), the file is ours: what it holds is our record now.
      const text = readTextSync(this.#lockPath);
      const now = text === undefined ? undefined : parseRecord(text);
      if (now !== undefined) this.#now(text!, now);
      throw e;
    }
  }

  /** The lock file holds `text`, our `record`. */
  #now(text: string, record: LockRecord): void {
    HELD.delete(this.#text);
    HELD.add(text);
    this.#text = text;
    this.#record = record;
  }

  /**
   * Takes the lock on `path` (the file `<path>.lock`). `commit`: the holder is a writer
   * whose header is the commit record (the mark is also kept from a dead holder's lock).
   * @throws {NpyLockError} When another live writer holds it.
   */
  static acquireSync(path: string, action: string, commit = false): WriterLock {
    const lockPath = path + ".lock";
    const time = new Date().toISOString();
    const record: LockRecord = {
      pid: PROCESS_ID,
      host: hostName(),
      runtime: runtimeName(),
      time,
      token: `${PROCESS_ID}-${time}-${Math.random().toString(36).slice(2)}`,
    };
    let unreadable = 0, busy = 0;
    for (let attempt = 0; attempt < 400; attempt++) {
      let file: NpyFile;
      try {
        file = NpyFile.openSync(lockPath, "wx+");
      } catch (e) {
        const code = (e as { code?: string }).code;
        // The directory is missing: the file cannot be made. Name it, not the lock.
        if (code === "ENOENT") throw createError(e, action, path);
        if (code !== "EEXIST") {
          throw new NpyLockError(
            `Cannot ${action}: the lock file "${lockPath}" cannot be created ` +
              `(${(e as Error).message}); pass { lock: false } where locking cannot work`,
            { path, lockPath, ...(code === undefined ? {} : { code }), cause: e },
          );
        }
        const existing = readTextSync(lockPath);
        if (existing === undefined) continue; // released meanwhile: try again
        const holder = parseRecord(existing);
        if (holder === undefined) {
          // Created but not yet written by its holder, or garbage left by a crash.
          if (++unreadable < 20) {
            sleepSync(5);
            continue;
          }
        } else {
          const sameHost = holder.host !== "" && holder.host === record.host;
          const ours = HELD.has(existing);
          // A writer of ours collected without close(): its lock goes now, then try again.
          if (ours && releaseCollected()) continue;
          const dead = ours ? false : sameHost ? hasExited(holder.pid) : undefined;
          if (dead !== true) {
            throw heldError(action, path, lockPath, holder, dead === false, ours);
          }
        }
        // The holder is dead (or its lock unreadable for 100 ms): take the lock over, in
        // one rename, unless someone else did so since we read it.
        const inherited = holder?.commit === "header" ? existing : undefined;
        const mine = ourRecord(record, commit, holder);
        const text = JSON.stringify(mine);
        let taken: boolean;
        try {
          taken = replaceStale(lockPath, existing, text);
        } catch (e) {
          throw fileError(e, action, path);
        }
        if (!taken) {
          // Another process is taking over right now (it takes microseconds): wait. A
          // takeover file still there after 200 ms was left by a process that died in
          // between (or one stopped for that long: the only case where two could win).
          if (++busy > 100) {
            removeSync(lockPath + ".takeover");
            busy = 0;
          }
          sleepSync(2);
          continue;
        }
        HELD.add(text);
        return new WriterLock(lockPath, text, mine, inherited);
      }
      const mine = ourRecord(record, commit, undefined);
      const text = JSON.stringify(mine);
      try {
        file.writeSync(new TextEncoder().encode(text), 0);
      } catch (e) {
        // Made but not written (a full disk): leave no empty or cut lock file behind.
        file.closeSync();
        removeSync(lockPath);
        throw fileError(e, action, path);
      }
      file.closeSync();
      HELD.add(text);
      return new WriterLock(lockPath, text, mine, undefined);
    }
    throw new NpyLockError(
      `Cannot ${action}: the lock file "${lockPath}" keeps changing hands`,
      { path, lockPath },
    );
  }

  /**
   * Stops holding the lock but leaves the lock file as it is: its journal is the trace
   * recovery needs once this process has ended. Idempotent.
   */
  leaveSync(): void {
    this.#held = false;
    HELD.delete(this.#text);
  }

  /**
   * Removes the lock file if it is still ours; idempotent. `restore`: the holder failed and
   * may have left the file unrepaired, so a dead writer's record it took over is put back
   * (the trace recovery needs) instead.
   */
  releaseSync(restore = false): void {
    if (!this.#held) return;
    this.#held = false;
    HELD.delete(this.#text);
    if (readTextSync(this.#lockPath) !== this.#text) return;
    if (restore && this.#inherited !== undefined) {
      // One write over ours, never an empty or cut lock file.
      try {
        writeOverSync(this.#lockPath, this.#inherited, new TextEncoder().encode(this.#text).length);
      } catch {
        // Ours stays: it carries the mark too (taken over from the dead writer).
      }
    } else {
      removeSync(this.#lockPath);
    }
  }
}
