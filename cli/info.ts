/**
 * Internal to the `npy` command: `npy info`, the header facts of files and stack directories.
 *
 * @module
 */

import { formatDescr } from "../lib/descr.ts";
import { NpyDtypeError, NpyIOError, quote } from "../lib/errors.ts";
import { isDirectorySync, NpyFile } from "../lib/file.ts";
import { growthAxis, hasGrowthRoom, peekHeaderLength } from "../lib/header.ts";
import { pyReprIntTuple } from "../lib/_pyliteral.ts";
import { recover } from "../lib/repair.ts";
import { NpyStackReader } from "../lib/stack.ts";
import { cutAppendSync } from "../lib/_stack_journal.ts";
import { bytesText } from "./progress.ts";
import { type Facts, inspect, needsRecovery, recoveryText } from "./facts.ts";
import {
  errorLine,
  EXIT_FAILURE,
  EXIT_OK,
  factLines,
  FileError,
  innermost,
  type Io,
  pyBool,
  type Values,
} from "./io.ts";

/** One file's report: its JSON object and its text. */
interface Report {
  json: unknown;
  text: string | undefined;
}

/** Runs `npy info` on `paths`. */
export async function runInfo(paths: string[], values: Values, io: Io): Promise<number> {
  const json = values.json === true;
  const reports: unknown[] = [];
  let failed = false;
  let first = true;
  for (const path of paths) {
    let report: Report;
    try {
      report = isDirectorySync(path) ? await stackInfo(path, io) : await fileInfo(path, io);
    } catch (e) {
      failed = true;
      io.err(`npy info: ${errorLine(e)}\n`);
      report = await unreadableInfo(path, e, io);
    }
    if (json) reports.push(report.json);
    else if (report.text !== undefined) {
      await io.out((first ? "" : "\n") + report.text);
      first = false;
    }
  }
  if (json) await io.out(JSON.stringify(reports, null, 2) + "\n");
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/**
 * The report on a file that could not be read: its error, and for a valid file of a dtype
 * no plugin reads ('O'), still its header.
 */
async function unreadableInfo(path: string, e: unknown, io: Io): Promise<Report> {
  const raw = e instanceof NpyDtypeError
    ? await rawHeader(path, io.maxHeaderSize).catch(() => undefined)
    : undefined;
  if (raw === undefined) return { json: { path, error: errorLine(e) }, text: undefined };
  const reason = e instanceof Error ? innermost(e).message : String(e);
  return {
    json: { path, ...raw, error: errorLine(e) },
    text: factLines(path, [
      ["version", raw.version],
      ["header", raw.headerText],
      ["dtype", `not supported: ${reason}`],
    ]),
  };
}

/** What `npy info` says about a `.npy` file. */
async function fileInfo(path: string, io: Io): Promise<Report> {
  const f: Facts = await inspect(path, io);
  const h = f.header;
  const appendable = hasGrowthRoom(h);
  const recovery = needsRecovery(f);
  // What recover would keep, from its own plan (a dead writer's file rolls back to its
  // header; another tool's keeps the whole rows found), so info and recover agree.
  let kept: number | undefined;
  if (recovery) {
    try {
      kept = (await recover(path, { dryRun: true, maxHeaderSize: io.maxHeaderSize })).rows;
    } catch {
      kept = undefined; // a cut 0-d element: only --zero-fill recovers it
    }
  }
  const axis = growthAxis(h);
  const json = {
    path,
    version: `${h.version}.0`,
    descr: h.descr,
    descrText: formatDescr(h.descr),
    shape: f.shape,
    fortranOrder: h.fortranOrder,
    rows: f.rows,
    growthAxis: axis,
    rowBytes: f.rowBytes,
    dataOffset: h.headerLength,
    dataBytes: f.dataBytes,
    fileBytes: f.fileBytes,
    appendable,
    needsRecovery: recovery,
    availableRows: f.availableRows,
    ...(recovery ? { recoverRows: kept ?? null } : {}),
  };
  const text = factLines(path, [
    ["version", `${h.version}.0`],
    ["descr", formatDescr(h.descr)],
    ["shape", pyReprIntTuple(f.shape)],
    ["fortran order", pyBool(h.fortranOrder)],
    ["rows", axis < 0 ? "1 (0-d array)" : `${f.rows} (along axis ${axis})`],
    ["data offset", `${h.headerLength}`],
    ["data bytes", `${f.dataBytes} (${bytesText(f.dataBytes)})`],
    ["file bytes", `${f.fileBytes}`],
    [
      "appendable",
      appendable
        ? "yes"
        : axis < 0
        ? "no: a 0-d array cannot grow"
        : `no: the header has no room to grow (npy ensure-appendable ${quote(path)})`,
    ],
    [
      "needs recovery",
      recovery
        ? `yes: ${recoveryText(f)}; ${
          kept === undefined ? "only --zero-fill recovers it" : `recover keeps ${kept} rows`
        } (npy recover ${quote(path)})`
        : "no",
    ],
  ]);
  return { json, text };
}

/** The version and header text of a `.npy` file, without interpreting its descr. */
async function rawHeader(
  path: string,
  maxHeaderSize: number,
): Promise<{ version: string; headerText: string }> {
  const file = await NpyFile.open(path, "r");
  try {
    const prefix = new Uint8Array(12);
    await file.read(prefix, 0);
    const length = peekHeaderLength(prefix, { path, maxHeaderSize });
    // Called once parseHeader has read this header: it is bounded, but check again.
    if (length > 12 + 4 * maxHeaderSize) throw new FileError(`Cannot read ${quote(path)}`);
    const bytes = new Uint8Array(length);
    await file.read(bytes, 0);
    const version = bytes[6];
    const text = new TextDecoder(version === 3 ? "utf-8" : "latin1")
      .decode(bytes.subarray(version === 1 ? 10 : 12));
    return { version: `${version}.0`, headerText: text.trimEnd() };
  } finally {
    file.closeSync();
  }
}

/** What `npy info` says about a stack directory. */
async function stackInfo(dir: string, io: Io): Promise<Report> {
  await using r = await NpyStackReader.open(dir, { registry: io.registry }).catch((e) => {
    if (!(e instanceof NpyIOError && e.code === "ENOTSTACK")) throw e;
    throw new FileError(
      `Cannot read ${quote(dir)}: is a directory, neither a .npy file nor a stack (no ` +
        `stack.json, info or 0.npy)`,
      { cause: e },
    );
  });
  const shards = r.shardRows;
  const itemsize = io.registry.resolve(r.descr).itemsize;
  const rowBytes = r.rowShape.reduce((a, b) => a * b, 1) * itemsize;
  const dataBytes = r.rows * rowBytes;
  // A writer stopped in an append across shards: recoverStack undoes it, not adopts it.
  const cut = cutAppendSync(dir, shards.length, r.unlistedShards);
  const open = r.unlistedShards.map((i) => `${i}.npy`).join(", ");
  const json = {
    path: dir,
    stack: r.source,
    descr: r.descr,
    descrText: formatDescr(r.descr),
    shape: r.shape,
    fortranOrder: r.fortranOrder,
    axis: r.axis,
    rows: r.rows,
    shards: shards.length,
    shardRows: shards,
    rowBytes,
    dataBytes,
    unlistedShards: r.unlistedShards,
    cutAppend: cut?.journal ?? null,
  };
  const min = shards.length ? Math.min(...shards) : 0;
  const max = shards.length ? Math.max(...shards) : 0;
  const text = factLines(dir, [
    ["stack", r.source === "dask" ? "written by Dask's to_npy_stack" : "npy-stack (stack.json)"],
    ["descr", formatDescr(r.descr)],
    ["shape", pyReprIntTuple(r.shape)],
    ["fortran order", pyBool(r.fortranOrder)],
    ["rows", `${r.rows} (along axis ${r.axis})`],
    [
      "shards",
      `${shards.length}` +
      (shards.length ? ` (${min === max ? min : `${min} to ${max}`} rows each)` : ""),
    ],
    ["data bytes", `${dataBytes} (${bytesText(dataBytes)})`],
    [
      "open shards",
      r.unlistedShards.length === 0
        ? "none"
        : cut === undefined
        ? `${open}: not listed yet (a writer is running, or crashed: recoverStack adopts their ` +
          `rows)`
        : `${open}: not listed yet, in an append across shards stack.lock records (if its ` +
          `writer is gone, recoverStack rolls it back: ${undoText(cut)})`,
    ],
  ]);
  return { json, text };
}

/** What undoing a cut append does: `2.npy to 8 rows, 3.npy removed`. */
function undoText({ journal, removed }: NonNullable<ReturnType<typeof cutAppendSync>>): string {
  const kept = journal.rows > 0 ? [`${journal.shard}.npy to ${journal.rows} rows`] : [];
  return [...kept, ...removed.map((i) => `${i}.npy removed`)].join(", ");
}
