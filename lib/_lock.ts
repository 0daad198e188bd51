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
 * Taking over is done under a second, short-lived exclusive file, `<path>.lock.takeover`:
 * of two processes that both found the same dead writer's lock, only the one holding it
 * removes that lock, after reading it again; the other then finds the winner's lock. (A
 * plain read-compare-remove let both remove and both win: the concurrency test found it.)
 *
 * @module
 */

import { hostname } from "node:os";
import process from "node:process";
import { NpyLockError, type NpyLockHolder } from "./errors.ts";
import { createError, NpyFile, readTextSync, removeSync } from "./file.ts";
import { permitted } from "./_permissions.ts";

interface LockRecord extends NpyLockHolder {
  readonly token: string;
}

/** `"deno 2.1.0"`, `"bun 1.2.0"` or `"node 22.1.0"`. */
export function runtimeName(): string {
  const g = globalThis as {
    Deno?: { version?: { deno?: string } };
    Bun?: { version?: string };
  };
  if (g.Deno?.version?.deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun?.version) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
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

/** The host name, for a process not permitted to ask the system for it. */
const HOSTNAME_FILE = "/etc/hostname";

/** This machine's name; `""` when this process may not learn it. */
function hostName(): string {
  if (permitted({ name: "sys", kind: "hostname" })) return hostname();
  if (permitted({ name: "read", path: HOSTNAME_FILE })) {
    try {
      return readTextSync(HOSTNAME_FILE)?.trim() ?? "";
    } catch {
      return "";
    }
  }
  return "";
}

/** Whether process `pid` on this host has exited; `undefined` when this cannot be told. */
function isDead(pid: number): boolean | undefined {
  if (pid === process.pid) return false;
  if (!permitted({ name: "run" })) return undefined; // Deno without --allow-run
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === "ESRCH" ? true : undefined;
  }
}

/** The texts of the locks this process holds: a lock among them is ours, and alive. */
const HELD = new Set<string>();

/**
 * Removes the lock file if it still holds `existing`, under the takeover file
 * `<lock>.takeover` (created exclusively), so that only one process removes a given stale
 * lock.
 * @returns `false` when another process holds the takeover file.
 */
function removeStale(lockPath: string, existing: string): boolean {
  const takeoverPath = lockPath + ".takeover";
  let takeover: NpyFile;
  try {
    takeover = NpyFile.openSync(takeoverPath, "wx+");
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw e;
  }
  try {
    if (readTextSync(lockPath) === existing) removeSync(lockPath);
  } finally {
    takeover.closeSync();
    removeSync(takeoverPath);
  }
  return true;
}

/** The error for a lock another writer holds; `alive`: that writer is known to run. */
function heldError(
  action: string,
  path: string,
  lockPath: string,
  holder: NpyLockHolder,
  alive: boolean,
): NpyLockError {
  const host = holder.host === "" ? "an unnamed host" : `host "${holder.host}"`;
  const who = `pid ${holder.pid} (${holder.runtime}) on ${host} since ${holder.time}`;
  return new NpyLockError(
    `Cannot ${action}: another writer holds the file: ${who}. Close that writer first${
      alive ? "" : `, or remove "${lockPath}" if that process is gone`
    }`,
    {
      path,
      lockPath,
      holder: { pid: holder.pid, host: holder.host, runtime: holder.runtime, time: holder.time },
    },
  );
}

/** A held lock. */
export class WriterLock {
  readonly #lockPath: string;
  readonly #text: string;
  #held = true;

  private constructor(lockPath: string, text: string) {
    this.#lockPath = lockPath;
    this.#text = text;
  }

  /** The lock file's path. */
  get lockPath(): string {
    return this.#lockPath;
  }

  /**
   * Takes the lock on `path` (the file `<path>.lock`).
   * @throws {NpyLockError} When another live writer holds it.
   */
  static acquireSync(path: string, action: string): WriterLock {
    const lockPath = path + ".lock";
    const time = new Date().toISOString();
    const record: LockRecord = {
      pid: process.pid,
      host: hostName(),
      runtime: runtimeName(),
      time,
      token: `${process.pid}-${time}-${Math.random().toString(36).slice(2)}`,
    };
    const text = JSON.stringify(record);
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
            { path, lockPath, cause: e },
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
          const dead = HELD.has(existing) ? false : sameHost ? isDead(holder.pid) : undefined;
          if (dead !== true) throw heldError(action, path, lockPath, holder, dead === false);
        }
        // The holder is dead (or its lock unreadable for 100 ms): take the lock over, unless
        // someone else did so since we read it.
        if (!removeStale(lockPath, existing)) {
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
        unreadable = 0;
        continue;
      }
      try {
        file.writeSync(new TextEncoder().encode(text), 0);
      } finally {
        file.closeSync();
      }
      HELD.add(text);
      return new WriterLock(lockPath, text);
    }
    throw new NpyLockError(
      `Cannot ${action}: the lock file "${lockPath}" keeps changing hands`,
      { path, lockPath },
    );
  }

  /** Removes the lock file if it is still ours; idempotent. */
  releaseSync(): void {
    if (!this.#held) return;
    this.#held = false;
    HELD.delete(this.#text);
    if (readTextSync(this.#lockPath) === this.#text) removeSync(this.#lockPath);
  }
}
