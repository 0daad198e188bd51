/**
 * Internal: writers still open when the process ends are flushed and closed, synchronously
 * (their rows and header land, their lock file goes): at `process.on("exit")` in Node and
 * Bun (which also runs after an uncaught error), and at the `unload` and uncaught `error`
 * events in Deno. The hooks are installed by the first writer opened, never on import.
 * Writers are closed newest first, so a stack writer's shards close before the stack.
 *
 * Open writers are held weakly, so one dropped without `close()` can be collected: it then
 * gets a one-line warning naming its file, and its lock is released (nothing is written:
 * the file was complete). That happens when the `FinalizationRegistry` calls back, or
 * earlier when the collection is found first: at exit (a writer collected whose callback
 * has not run yet) and when this process tries to lock the file again. A writer with rows
 * not yet in the file or its header (buffered, or a header behind) is pinned, held
 * strongly, until they are, so nothing a buffer holds is lost to the collector.
 *
 * @module
 */

import { onProcessExit } from "./file.ts";

interface Tracked {
  readonly ref: WeakRef<object>;
  readonly path: string;
  /** Released when the writer is collected (it holds no reference to the writer). */
  readonly lock: { releaseSync(): void } | undefined;
  /** Flushes and closes the writer at once, whatever is queued. */
  readonly close: (writer: object) => void;
}

/** Writers open, by token (the token is all the finalizer holds). */
const live = new Map<object, Tracked>();
const pinned = new Set<object>();
let registry: FinalizationRegistry<object> | undefined;
let hooked = false;

function warn(line: string): void {
  try {
    console.error(line);
  } catch {
    // No stderr to warn on.
  }
}

/** The writer of `token` was garbage-collected: warn once, release its lock. */
function collected(token: object): void {
  const tracked = live.get(token);
  if (tracked === undefined) return; // seen already (at exit, or by releaseCollected)
  live.delete(token);
  registry?.unregister(token);
  warn(
    `npy-append-array: a writer of ${
      JSON.stringify(tracked.path)
    } was garbage-collected without close(); close it (or use \`using\`)`,
  );
  try {
    tracked.lock?.releaseSync();
  } catch {
    // Best effort: a lock left behind is taken over by the next writer once we exit.
  }
}

/**
 * Handles every writer already collected whose finalizer has not run yet (a warning, its
 * lock released).
 * @returns Whether there was any.
 */
export function releaseCollected(): boolean {
  let found = false;
  for (const [token, tracked] of [...live]) {
    if (tracked.ref.deref() === undefined) {
      collected(token);
      found = true;
    }
  }
  return found;
}

/** Closes every writer still open, newest first, and handles those collected. */
function closeAll(): void {
  for (const [token, tracked] of [...live].reverse()) {
    if (!live.has(token)) continue; // closed meanwhile (a stack closes its shard)
    const writer = tracked.ref.deref();
    if (writer === undefined) {
      collected(token);
    } else {
      live.delete(token);
      try {
        tracked.close(writer);
      } catch (e) {
        warn(
          `npy-append-array: cannot close ${JSON.stringify(tracked.path)} at exit: ${
            (e as Error)?.message ?? e
          }`,
        );
      }
    }
  }
  live.clear();
  pinned.clear();
}

function installHooks(): void {
  hooked = true;
  const deno = (globalThis as { Deno?: unknown }).Deno;
  const target = globalThis as unknown as {
    addEventListener?: (
      type: string,
      listener: (event: { defaultPrevented?: boolean }) => void,
    ) => void;
  };
  if (deno !== undefined && typeof target.addEventListener === "function") {
    target.addEventListener("unload", closeAll);
    // An uncaught error: unload does not follow. (A handler that prevents the default
    // keeps the process alive, and then the writers too.)
    const fatal = (event: { defaultPrevented?: boolean }) => {
      if (!event.defaultPrevented) closeAll();
    };
    target.addEventListener("error", fatal);
    target.addEventListener("unhandledrejection", fatal);
  } else {
    onProcessExit(closeAll);
  }
}

/**
 * Tracks an open writer until {@link untrack}: `close(writer)` runs at exit (a function that
 * must not hold the writer itself, or it would never be collected).
 * @returns The token to untrack it with.
 */
export function track<T extends object>(
  writer: T,
  path: string,
  lock: { releaseSync(): void } | undefined,
  close: (writer: T) => void,
): object {
  if (!hooked) installHooks();
  registry ??= new FinalizationRegistry(collected);
  const token = {};
  live.set(token, {
    ref: new WeakRef(writer),
    path,
    lock,
    close: close as (writer: object) => void,
  });
  registry.register(writer, token, token);
  return token;
}

/** The writer closed: forget it. */
export function untrack(token: object, writer: object): void {
  live.delete(token);
  registry?.unregister(token);
  pinned.delete(writer);
}

/** Holds `writer` strongly (it has rows not yet in the file), or lets it go again. */
export function pin(writer: object, on: boolean): void {
  if (on) pinned.add(writer);
  else pinned.delete(writer);
}

/**
 * `setTimeout` that does not keep the process alive: `unref()` in Node and Bun,
 * `Deno.unrefTimer` in Deno. Returns the timer for `clearTimeout`.
 */
export function backgroundTimeout(run: () => void, ms: number): unknown {
  const timer: unknown = setTimeout(run, ms);
  const deno = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno;
  if (typeof timer === "number") deno?.unrefTimer?.(timer);
  else (timer as { unref?(): void }).unref?.();
  return timer;
}
