/**
 * Internal to the `npy` command: the commands that join files, `npy concat` (into a new
 * file, replaced atomically), `npy append` (through {@link NpyAppendArray}) and
 * `npy stack merge`.
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import { descrEquals, formatDescr, normalizeDescr } from "../lib/descr.ts";
import { NpyRecoveryError, NpyShapeError, quote } from "../lib/errors.ts";
import { existsSync, isDirectorySync, NpyFile, realPathSync } from "../lib/file.ts";
import { replaceSteps } from "../lib/_replace.ts";
import { encodeHeader, growthAxis, hasGrowthRoom, rowShapeOf, sameShape } from "../lib/header.ts";
import { WriterLock } from "../lib/_lock.ts";
import { pyReprIntTuple } from "../lib/_pyliteral.ts";
import { mergeStacks, NpyStackReader } from "../lib/stack.ts";
import { copySteps, runSteps } from "../lib/_steps.ts";
import type { NpyReader } from "../lib/reader.ts";
import { NpyAppendArray } from "../lib/writer.ts";
import {
  type Facts,
  inspect,
  inspectAll,
  needsRecovery,
  openReader,
  recoveryText,
} from "./facts.ts";
import {
  EXIT_OK,
  FileError,
  type Io,
  isAbort,
  namesText,
  plural,
  pyBool,
  signalOption,
  type Values,
} from "./io.ts";
import { bytesText, ProgressBar } from "./progress.ts";

/** Bytes read and written per step by `concat` and `append`: memory stays at this. */
const BLOCK_BYTES = 8 << 20;

/** Checks that every input can be joined to `base`; throws a worded FileError otherwise. */
function checkJoinable(action: string, base: Facts, inputs: readonly Facts[]): void {
  for (const f of [base, ...inputs]) {
    if (needsRecovery(f)) {
      throw new FileError(
        `Cannot ${action} ${quote(f.path)}: it needs recovery (${recoveryText(f)}); run ` +
          `npy recover ${quote(f.path)} first`,
      );
    }
    if (f.shape.length === 0) {
      throw new FileError(
        `Cannot ${action} ${quote(f.path)}: a 0-d array has no axis to join along`,
      );
    }
  }
  const h = base.header;
  for (const f of inputs) {
    const g = f.header;
    const against = `${quote(f.path)} and ${quote(base.path)}`;
    // Compared canonically: '<i1' and '|i1', 'f4' and '<f4' are one dtype, the same bytes.
    if (!descrEquals(normalizeDescr(g.descr), normalizeDescr(h.descr))) {
      throw new FileError(
        `Cannot ${action} ${against}: descr ${formatDescr(g.descr)} does not match ` +
          `${formatDescr(h.descr)}`,
      );
    }
    if (g.fortranOrder !== h.fortranOrder) {
      throw new FileError(
        `Cannot ${action} ${against}: fortran order ${pyBool(g.fortranOrder)} ` +
          `does not match ${pyBool(h.fortranOrder)}`,
      );
    }
    const a = rowShapeOf(f.shape, f.header.fortranOrder);
    const b = rowShapeOf(base.shape, base.header.fortranOrder);
    if (!sameShape(a, b)) {
      throw new NpyShapeError(
        `Cannot ${action} ${against}: row shape ${pyReprIntTuple(a)} does not match ` +
          `${pyReprIntTuple(b)} (shapes ${pyReprIntTuple(f.shape)} and ` +
          `${pyReprIntTuple(base.shape)})`,
        { path: f.path, expected: b, actual: a },
      );
    }
  }
}

/**
 * The files behind `paths`: a stack directory stands for its listed shards, in order. `text`
 * counts the inputs as given: `2 files`, or `2 inputs (4 shards of 1 stack, 1 file)`.
 */
async function expandStacks(
  paths: readonly string[],
  io: Io,
): Promise<{ files: string[]; text: string }> {
  const out: string[] = [];
  let stacks = 0;
  for (const path of paths) {
    if (!isDirectorySync(path)) {
      out.push(path);
      continue;
    }
    stacks++;
    await using r = await NpyStackReader.open(path, { registry: io.registry });
    if (r.shardPaths.length === 0) {
      throw new FileError(`Cannot concatenate the stack ${quote(path)}: it has no shards`);
    }
    out.push(...r.shardPaths);
  }
  const files = paths.length - stacks;
  const text = stacks === 0
    ? plural(files, "file")
    : `${plural(paths.length, "input")} (${plural(out.length - files, "shard")} of ${
      plural(stacks, "stack")
    }${files > 0 ? `, ${plural(files, "file")}` : ""})`;
  return { files: out, text };
}

/** Runs `npy concat OUT IN...`. */
export async function runConcat(
  [out = "", ...ins]: string[],
  values: Values,
  io: Io,
  quiet: boolean,
): Promise<number> {
  const given = await expandStacks(ins, io);
  const [base, ...rest] = await inspectAll(given.files, io);
  if (base === undefined) throw new FileError(`Cannot write ${quote(out)}: no input`);
  const inputs = [base, ...rest];
  checkJoinable("concatenate", base, rest);
  if (values.force !== true && existsSync(out)) {
    throw new FileError(`Cannot write ${quote(out)}: the file exists (pass --force to replace it)`);
  }
  const h = base.header;
  const rows = inputs.reduce((n, f) => n + f.rows, 0);
  const shape = [...base.shape];
  shape[growthAxis(h)] = rows;
  const header = encodeHeader({ descr: h.descr, fortranOrder: h.fortranOrder, shape }, {
    path: out,
  });
  const total = inputs.reduce((n, f) => n + f.dataBytes, 0);
  const bar = new ProgressBar(io, "concat");
  try {
    // Into a temp file renamed over OUT, holding OUT's writer lock: a live writer's file is
    // never replaced under it. The data is copied as it is, undecoded.
    await runSteps(replaceSteps(out, { action: `write ${quote(out)}` }, function* (target) {
      yield { write: target, bytes: header, position: 0 };
      let position = header.length;
      const buffer = new Uint8Array(Math.max(1, Math.min(BLOCK_BYTES, total)));
      for (const f of inputs) {
        const source = NpyFile.openSync(f.path, "r");
        try {
          const start = position;
          yield* copySteps(source, f.header.headerLength, target, start, f.dataBytes, buffer, {
            ...signalOption(io),
            onProgress: (done) => bar.update(start + done - header.length, total),
            short: () =>
              new FileError(`Cannot concatenate ${quote(f.path)}: the file shrank while read`),
          });
          position += f.dataBytes;
        } finally {
          source.closeSync();
        }
      }
    }));
  } finally {
    bar.clear();
  }
  if (!quiet) {
    await io.out(
      `wrote ${quote(out)}: ${rows} rows from ${given.text}, shape ${pyReprIntTuple(shape)}, ` +
        `${formatDescr(h.descr)}, ${bytesText(header.length + total)}\n`,
    );
  }
  return EXIT_OK;
}

/** Runs `npy append OUT IN...`. */
export async function runAppend(
  [out = "", ...ins]: string[],
  _values: Values,
  io: Io,
  quiet: boolean,
): Promise<number> {
  // The lock first, so that a live writer's file is reported as held, not checked. It is a
  // writer's lock, marked as such: the rows are committed block by block by NpyAppendArray,
  // its header the commit record, so a kill rolls the file back to the last whole block.
  const lock = WriterLock.acquireSync(out, `open ${quote(out)} for appending`, true);
  const state = { settled: false };
  try {
    return await appendLocked(out, ins, io, quiet, state);
  } finally {
    // Refused before the writer opened (OUT needs recovery, an input does not fit): a dead
    // writer's lock record taken over goes back, so recovery still rolls OUT back.
    lock.releaseSync(!state.settled);
  }
}

/** The file `path` names, links resolved: two names of one file compare equal. */
function identity(path: string): string {
  return realPathSync(path) ?? resolvePath(path);
}

async function appendLocked(
  out: string,
  ins: string[],
  io: Io,
  quiet: boolean,
  state: { settled: boolean },
): Promise<number> {
  const target = await inspect(out, io);
  const inputs = await inspectAll(ins, io);
  checkJoinable("append", target, inputs);
  if (!hasGrowthRoom(target.header)) {
    throw new FileError(
      `Cannot append to ${quote(out)}: its header has no room to grow; run ` +
        `npy ensure-appendable ${quote(out)} first`,
    );
  }
  const self = identity(out);
  for (const f of inputs) {
    if (identity(f.path) === self) throw new FileError(`Cannot append ${quote(f.path)} to itself`);
  }
  const h = target.header;
  const rowShape = rowShapeOf(target.shape, h.fortranOrder);
  const total = inputs.reduce((n, f) => n + f.dataBytes, 0);
  const bar = new ProgressBar(io, "append");
  let appended = 0;
  const writer = await NpyAppendArray.open(out, {
    mode: "append",
    lock: false, // held
    maxHeaderSize: io.maxHeaderSize,
    registry: io.registry,
  });
  state.settled = true; // opened: OUT held no cut append (the writer refuses one)
  try {
    let doneBytes = 0;
    for (const f of inputs) {
      const perBlock = Math.max(1, Math.floor(BLOCK_BYTES / Math.max(1, f.rowBytes)));
      await using reader = await openReader(f.path, io);
      for (let s = 0; s < f.rows; s += perBlock) {
        io.signal?.throwIfAborted();
        const k = Math.min(perBlock, f.rows - s);
        const block = await readRows(reader, s, s + k);
        await writer.append({
          data: new DataView(block.buffer, block.byteOffset, block.byteLength),
          shape: h.fortranOrder ? [...rowShape, k] : [k, ...rowShape],
          descr: f.header.descr,
          fortranOrder: h.fortranOrder,
        });
        appended += k;
        doneBytes += block.length;
        bar.update(doneBytes, total);
      }
    }
    await writer.close();
  } catch (e) {
    await writer.close().catch(() => {});
    if (isAbort(e, io.signal) && appended > 0) {
      io.err(`npy append: ${appended} rows were appended to ${quote(out)} before the interrupt\n`);
    }
    throw e;
  } finally {
    bar.clear();
  }
  if (!quiet) {
    await io.out(
      `appended ${plural(appended, "row")} from ${namesText(ins)} to ${quote(out)}: now ` +
        `${target.rows + appended} rows, shape ${pyReprIntTuple(writer.shape ?? [])}\n`,
    );
  }
  return EXIT_OK;
}

/** Rows `[start, end)` of an input as stored; a file cut since it was checked is an error. */
async function readRows(
  reader: NpyReader,
  start: number,
  end: number,
): Promise<Uint8Array> {
  try {
    return await reader.readBytes(start, end);
  } catch (e) {
    if (!(e instanceof NpyRecoveryError)) throw e;
    throw new FileError(`Cannot append ${quote(reader.path)}: the file shrank while read`, {
      cause: e,
    });
  }
}

/** Runs `npy stack merge OUT DIR...`. */
export async function runStack(
  [, out = "", ...dirs]: string[],
  values: Values,
  io: Io,
  quiet: boolean,
): Promise<number> {
  // main checked the subcommand (merge, the only one) and that OUT and a DIR are given.
  const result = await mergeStacks(out, dirs, { move: values.move === true });
  if (!quiet) {
    await io.out(
      `merged ${dirs.length} stacks into ${quote(out)}: ${result.rows} rows in ` +
        `${result.shardRows.length} shards (${
          values.move ? "moved" : "hard-linked"
        }, no data copied)\n`,
    );
  }
  return EXIT_OK;
}
