/**
 * Internal to the `npy` command: `npy recover` and `npy ensure-appendable`, which run the
 * library's repairs and say what changed.
 *
 * @module
 */

import { NpyRecoveryError, quote } from "../lib/errors.ts";
import { WriterLock } from "../lib/_lock.ts";
import { ensureAppendable, recover, type RecoverResult } from "../lib/repair.ts";
import { inspect, needsRecovery } from "./facts.ts";
import { EXIT_OK, FileError, type Io, signalOption, type Values } from "./io.ts";
import { ProgressBar } from "./progress.ts";

function planText(before: number, plan: RecoverResult): string {
  const parts = [`${before} -> ${plan.rows} rows`];
  if (plan.droppedBytes > 0) parts.push(`${plan.droppedBytes} bytes dropped`);
  if (plan.addedBytes > 0) parts.push(`${plan.addedBytes} zero bytes added`);
  return parts.join(", ");
}

/** Runs `npy recover`. */
export async function runRecover(
  [path = ""]: string[],
  values: Values,
  io: Io,
  quiet: boolean,
): Promise<number> {
  const zeroFill = values["zero-fill"] === true;
  const dryRun = values["dry-run"] === true;
  // The lock first: a live writer's file may look cut (rows written, header not yet), and
  // must not be recovered under it. A dry run writes nothing and needs no lock.
  const lock = dryRun ? undefined : WriterLock.acquireSync(path, `recover ${quote(path)}`);
  let settled = false; // the file needs no recovery, or got it
  try {
    const f = await inspect(path, io);
    if (!needsRecovery(f)) {
      settled = true;
      if (!quiet) await io.out(`${quote(path)} needs no recovery: ${f.rows} rows\n`);
      return EXIT_OK;
    }
    const done = await recover(path, {
      zeroFill,
      dryRun,
      lock: false,
      maxHeaderSize: io.maxHeaderSize,
    });
    settled = true;
    if (dryRun) {
      await io.out(`would recover ${quote(path)}: ${planText(f.rows, done)} (dry run)\n`);
      return EXIT_OK;
    }
    if (!quiet) await io.out(`recovered ${quote(path)}: ${planText(f.rows, done)}\n`);
    return EXIT_OK;
  } finally {
    // Failed: a dead writer's lock record taken over goes back (the trace recover needs).
    lock?.releaseSync(!settled);
  }
}

/** Runs `npy ensure-appendable`. */
export async function runEnsureAppendable(
  [path = ""]: string[],
  values: Values,
  io: Io,
  quiet: boolean,
): Promise<number> {
  const inPlace = values["in-place"] === true;
  const bar = new ProgressBar(io, "ensure-appendable");
  let result;
  try {
    result = await ensureAppendable(path, {
      inPlace,
      maxHeaderSize: io.maxHeaderSize,
      ...signalOption(io),
      onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal),
    });
  } catch (e) {
    if (!(e instanceof NpyRecoveryError)) throw e;
    throw new FileError(
      `Cannot make ${quote(path)} appendable: the data is ${e.actualBytes} bytes but the header ` +
        `claims ${e.expectedBytes}; run npy recover ${quote(path)} first`,
      { cause: e },
    );
  } finally {
    bar.clear();
  }
  if (!quiet) {
    await io.out(
      result.changed
        ? `made ${quote(path)} appendable: header ${result.previousHeaderLength} -> ` +
          `${result.headerLength} bytes${inPlace ? " (data shifted in place)" : ""}\n`
        : `${quote(path)} is already appendable\n`,
    );
  }
  return EXIT_OK;
}
