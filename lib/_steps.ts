/**
 * One algorithm, two drivers. A job with a sync and an async form is written once, as a
 * generator that yields its I/O steps; {@link runStepsSync} and {@link runSteps} carry them
 * out. The drivers, not the algorithm, decide what leaves the main thread: the async driver
 * hands large reads and writes to the runtime's thread pool (see `NpyFile.write`) so a big
 * append or read never blocks the event loop, and keeps small ones synchronous, where the
 * thread-pool round trip would cost more than the transfer.
 *
 * A failed step is thrown into the generator (`throw()`), so its `try`/`finally` blocks run
 * in both drivers alike.
 *
 * @module
 */

import type { NpyFile } from "./file.ts";

/**
 * One I/O step; the driver sends back the bytes read for `read`, the file's size for
 * `size`, else `undefined`.
 */
export type FileStep =
  | { readonly write: NpyFile; readonly bytes: Uint8Array; readonly position: number }
  | { readonly read: NpyFile; readonly into: Uint8Array; readonly position: number }
  | { readonly size: NpyFile }
  | { readonly datasync: NpyFile }
  | { readonly pause: number }; // milliseconds: a retry's wait

/** What a step algorithm is: it yields steps and gets back the bytes read (or nothing). */
export type Steps<T> = Generator<FileStep, T, number | undefined>;

const PAUSE = new Int32Array(new SharedArrayBuffer(4)); // never notified: waits time out

function stepSync(step: FileStep): number | undefined {
  if ("read" in step) return step.read.readSync(step.into, step.position);
  if ("size" in step) return step.size.sizeSync();
  if ("write" in step) step.write.writeSync(step.bytes, step.position);
  else if ("pause" in step) Atomics.wait(PAUSE, 0, 0, step.pause); // a sync call may block
  else step.datasync.datasyncSync();
}

async function stepAsync(step: FileStep): Promise<number | undefined> {
  if ("read" in step) return await step.read.read(step.into, step.position);
  if ("size" in step) return await step.size.size();
  if ("write" in step) await step.write.write(step.bytes, step.position);
  else if ("pause" in step) await new Promise((resolve) => setTimeout(resolve, step.pause));
  else await step.datasync.datasync();
}

/** Runs `steps` with synchronous I/O. @returns What the algorithm returns. */
export function runStepsSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    let result: number | undefined;
    try {
      result = stepSync(next.value);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

/**
 * Runs `steps` with large transfers and syncs off the main thread.
 * @returns What the algorithm returns.
 */
export async function runSteps<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let result: number | undefined;
    try {
      result = await stepAsync(next.value);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

/** How {@link copySteps} reports and stops. */
export interface CopyControl {
  /** Checked before each block: an abort stops the copy with its reason. */
  signal?: AbortSignal;
  /** Called after each block with the bytes copied so far. */
  onProgress?: (done: number) => void;
  /** The error for a source that ends `done` bytes into the copy. */
  short: (done: number) => Error;
}

/**
 * Copies `length` bytes from `source` at `from` to `target` at `to`, through `buffer`, as
 * steps: the copy loop of repairs and `npy concat`.
 */
export function* copySteps(
  source: NpyFile,
  from: number,
  target: NpyFile,
  to: number,
  length: number,
  buffer: Uint8Array,
  control: CopyControl,
): Steps<void> {
  for (let done = 0; done < length;) {
    control.signal?.throwIfAborted();
    const block = buffer.subarray(0, Math.min(buffer.length, length - done));
    const n = (yield { read: source, into: block, position: from + done })!;
    if (n < block.length) throw control.short(done);
    yield { write: target, bytes: block, position: to + done };
    done += n;
    control.onProgress?.(done);
  }
  control.signal?.throwIfAborted();
}

/** A promise settled already: what a call that had nothing to wait for returns. */
export const RESOLVED: Promise<void> = Promise.resolve();

/** Runs `op` now, as a promise: settled already, or rejected with what it threw. */
export function settle(op: () => void): Promise<void> {
  try {
    op();
    return RESOLVED;
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Does nothing: a rejection handler for a failure reported elsewhere. */
export function noop(): void {}
