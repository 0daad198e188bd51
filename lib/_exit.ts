/**
 * Internal: writers still open when the process ends are flushed and closed, synchronously
 * (their rows and header land, their lock file goes): at `process.on("exit")` in Node and
 * Bun (which also runs after an uncaught error), and at the `unload` and uncaught `error`
 * events in Deno. The hooks are installed by the first writer opened, never on import.
 *
 * Open writers are held weakly, so one dropped without `close()` can be collected: a
 * `FinalizationRegistry` then prints a one-line warning naming its file (and writes nothing:
 * its lock is released at exit). A writer with rows not yet in the file or its header
 * (buffered, or a header behind) is pinned, held strongly, until they are, so nothing a
 * buffer holds is lost to the collector.
 *
 * @module
 */

import process from "node:process";

/** What stays of a tracked writer for its finalizer: its lock, released at exit. */
interface Held {
  readonly token: object;
  readonly path: string;
  readonly lock: { releaseSync(): void } | undefined;
}

interface Tracked {
  readonly ref: WeakRef<object>;
  /** Flushes and closes the writer at once, whatever is queued; never throws. */
  readonly close: (writer: object) => void;
}

const live = new Map<object, Tracked>();
const pinned = new Set<object>();
const orphanLocks = new Set<{ releaseSync(): void }>();
let registry: FinalizationRegistry<Held> | undefined;
let hooked = false;

function warn(line: string): void {
  try {
    process.stderr.write(line + "\n");
  } catch {
    // No stderr to warn on.
  }
}

function collected(held: Held): void {
  live.delete(held.token);
  warn(
    `npy-append-array: a writer of ${
      JSON.stringify(held.path)
    } was garbage-collected without close(); close it (or use \`using\`)`,
  );
  if (held.lock !== undefined) orphanLocks.add(held.lock);
}

/** Closes every writer still open (and releases the locks of collected ones). */
function closeAll(): void {
  const writers = [...live.values()];
  live.clear();
  for (const { ref, close } of writers) {
    const writer = ref.deref();
    if (writer !== undefined) close(writer);
  }
  pinned.clear();
  for (const lock of orphanLocks) {
    try {
      lock.releaseSync();
    } catch {
      // Best effort at exit: a lock left behind is taken over by the next writer.
    }
  }
  orphanLocks.clear();
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
    process.on("exit", closeAll);
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
  live.set(token, { ref: new WeakRef(writer), close: close as (writer: object) => void });
  registry.register(writer, { token, path, lock }, token);
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
