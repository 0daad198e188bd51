#!/usr/bin/env node
/**
 * The `npy` command: inspect, print, repair and join NumPy `.npy` files from a shell.
 *
 * ```sh
 * npx npy info data.npy            # bunx npy … / deno run -A jsr:@npy/append-array/cli …
 * npx npy tail -n 3 data.npy
 * npx npy concat all.npy shard-*.npy
 * npx npy stack merge all/ producer-1/ producer-2/
 * ```
 *
 * Run `npy --help` for every command. Exit codes: 0 success, 1 a file could not be
 * processed, 2 usage error, 130 interrupted. Importing this module runs nothing: call
 * {@link main}.
 *
 * @module
 */

import process from "node:process";
import { resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  type Descr,
  descrEquals,
  fieldLayout,
  formatDescr,
  normalizeDescr,
  parseTypestr,
} from "./lib/descr.ts";
import {
  NpyDtypeError,
  NpyFormatError,
  NpyRecoveryError,
  NpyShapeError,
  quote,
} from "./lib/errors.ts";
import { fileError, isDirectorySync, NpyFile, realPathSync, replaceSteps } from "./lib/file.ts";
import { civilFromDays } from "./dtypes/_cast_time.ts";
import { copySteps, runSteps } from "./lib/_steps.ts";
import { WriterLock } from "./lib/_lock.ts";
import { envVar } from "./lib/file.ts";
import { encodeHeader, growthAxis, MAX_HEADER_SIZE, peekHeaderLength } from "./lib/header.ts";
import { type NumberShapedHeader, readHeader, rowBytesOf, rowsOf } from "./lib/_header_io.ts";
import { ensureAppendable, hasGrowthRoom, recover, type RecoverResult } from "./lib/repair.ts";
import { NpyAppendArray } from "./lib/writer.ts";
import { mergeStacks, NpyStackReader } from "./lib/stack.ts";
import { cutAppendSync } from "./lib/_stack_journal.ts";
import { defaultRegistry } from "./dtypes/mod.ts";
import { bytesText, ProgressBar } from "./cli/progress.ts";
import { floatToHalfBits, halfBitsToFloat } from "./dtypes/_half.ts";

const VERSION = "0.1.0";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

/** Bytes read and written per step by `concat` and `append`: memory stays at this. */
const BLOCK_BYTES = 8 << 20;
/** Rows printed (and read) per batch by `head` and `tail`. */
const PRINT_BATCH_BYTES = 1 << 20;

/**
 * Where {@link main} writes and what it knows about the terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { saveNpySync } from "@npy/append-array";
 * import { main, type MainOptions } from "@npy/append-array/cli";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, Float64Array.of(1, 2));
 * let out = "";
 * const options: MainOptions = { stdout: (text) => void (out += text), isTTY: false };
 * assert.equal(await main(["head", path], options), 0);
 * assert.equal(out, "0  1.0\n1  2.0\n");
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface MainOptions {
  /**
   * Receives standard output text (may return a promise to apply backpressure).
   * @default {writes to process.stdout}
   */
  stdout?: (text: string) => void | Promise<void>;
  /**
   * Receives error lines and the progress bar.
   * @default {writes to process.stderr}
   */
  stderr?: (text: string) => void;
  /**
   * Whether stderr is a terminal: the progress bar is drawn only then (and not with `--quiet`).
   * @default {process.stderr.isTTY}
   */
  isTTY?: boolean;
  /**
   * Terminal width for the progress bar.
   * @default {process.stderr.columns, else 80}
   */
  columns?: number;
  /**
   * Stops a long operation (`concat`, `append`, `ensure-appendable`, `head`, `tail`); the
   * command then exits with code 130 and leaves every file consistent.
   * @default {undefined}
   */
  signal?: AbortSignal;
}

interface Io {
  out(text: string): Promise<void>;
  /** A message line on stderr; it first ends a progress bar's line if one is drawn. */
  err(text: string): void;
  /** Draws (or clears, with `undefined`) the progress bar's line on stderr. */
  bar(text: string | undefined): void;
  progress: boolean;
  columns: number;
  signal: AbortSignal | undefined;
  /** `--max-header-size`: header texts longer than this are refused, as numpy.load does. */
  maxHeaderSize: number;
}

/** A wrong command line: exit code 2. */
class UsageError extends Error {}

/** A file that cannot be processed: exit code 1, with a message already worded. */
class FileError extends Error {}

// -----------------------------------------------------------------------------------------
// Commands and their help

interface Command {
  name: string;
  usage: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  min: number;
  max: number;
  /** The words the first argument may be (`npy stack merge …`); any other is unknown. */
  subcommands?: readonly string[];
  run(args: string[], values: Values, io: Io, quiet: boolean): Promise<number>;
}

type Values = Record<string, string | boolean | undefined>;

const COMMON_HELP = `  --max-header-size N
                   read headers of up to N characters (default ${MAX_HEADER_SIZE}, NumPy's
                   limit); raise it only for files you trust
  -q, --quiet      no progress bar and no summary line
  -h, --help       show this help`;

const COMMANDS: Command[] = [
  {
    name: "info",
    usage: "npy info FILE... [--json]",
    summary: "header facts: appendable, needs recovery",
    help: `Prints what each file's header says and whether the file matches it. A directory
is read as a sharded stack (written by NpyStackWriter or Dask's to_npy_stack): its descr,
shape, shards and rows.

Options:
  --json           one JSON array, an object per file (an "error" key for a bad file)
${COMMON_HELP}

A file that needs recovery is reported (and exits 0); a file that cannot be read exits 1,
after the other files are reported.`,
    options: { json: { type: "boolean" } },
    min: 1,
    max: Infinity,
    run: runInfo,
  },
  {
    name: "head",
    usage: "npy head FILE [-n N]",
    summary: "print the first N rows (default 10)",
    help: `Prints the first N rows along the growth axis (axis 0, or the last axis of a
Fortran-order file), one per line after its index: records as {field: value}, datetimes
as NumPy prints them ('2024-03-01T09:30'), complex as (a+bj), bool as True/False, bytes
and strings quoted. A file of 0 rows prints [], as NumPy prints an empty array.

Options:
  -n, --rows N     rows to print (default 10); -N prints all but the last N, as head does
${COMMON_HELP}`,
    options: { rows: { type: "string", short: "n" } },
    min: 1,
    max: 1,
    run: (args, values, io) => runHeadTail("head", args, values, io),
  },
  {
    name: "tail",
    usage: "npy tail FILE [-n N]",
    summary: "print the last N rows (default 10)",
    help: `Prints the last N rows, as npy head does. On a file that needs recovery it prints
the last complete rows and warns on stderr.

Options:
  -n, --rows N     rows to print (default 10); +N starts at row N (counted from 1), as
                   tail does
${COMMON_HELP}`,
    options: { rows: { type: "string", short: "n" } },
    min: 1,
    max: 1,
    run: (args, values, io) => runHeadTail("tail", args, values, io),
  },
  {
    name: "recover",
    usage: "npy recover FILE [--zero-fill] [--dry-run]",
    summary: "make a crashed or cut file load again",
    help: `Infers the row count from the file size, drops an incomplete last row (or completes
it with zeros) and any bytes past it, and rewrites the header in place.

Options:
  --zero-fill      keep an incomplete last row, filling its missing bytes with zeros
  --dry-run        only say what would change; write nothing
${COMMON_HELP}`,
    options: { "zero-fill": { type: "boolean" }, "dry-run": { type: "boolean" } },
    min: 1,
    max: 1,
    run: runRecover,
  },
  {
    name: "ensure-appendable",
    usage: "npy ensure-appendable FILE [--in-place]",
    summary: "give a header room to grow in place",
    help: `Rewrites a file whose header has no room to grow (old NumPy, other tools) with
NumPy's np.save header, so rows can be appended in place. By default the file is copied
into a temp file beside it and renamed over it (crash-safe). A file that already has room
is left untouched.

Options:
  --in-place       shift the data inside the file instead of copying it (no second copy
                   on disk, but a crash while shifting leaves a broken file)
${COMMON_HELP}`,
    options: { "in-place": { type: "boolean" } },
    min: 1,
    max: 1,
    run: runEnsureAppendable,
  },
  {
    name: "concat",
    usage: "npy concat OUT IN... [--force]",
    summary: "join files along the growth axis",
    help: `Joins the IN files along the growth axis (axis 0; the last axis in Fortran order)
into OUT, as np.concatenate does. An IN that is a stack directory stands for its shards,
in order. Every IN is checked first (dtype, order, row shape, no
recovery needed): nothing is written unless all agree. The data is streamed in 8 MiB
blocks into a temp file beside OUT, flushed, then renamed over OUT: a crash or Ctrl-C
never leaves a partial OUT.

Options:
  -f, --force      replace OUT if it exists
${COMMON_HELP}`,
    options: { force: { type: "boolean", short: "f" } },
    min: 2,
    max: Infinity,
    run: runConcat,
  },
  {
    name: "append",
    usage: "npy append OUT IN...",
    summary: "append the rows of the IN files to OUT",
    help: `Appends the rows of every IN to OUT in place, through NpyAppendArray (the header is
rewritten after each block, so NumPy can open OUT at any moment). Every IN is checked
against OUT first (dtype, order, row shape); nothing is appended unless all agree.
OUT must exist and have growth room (see npy ensure-appendable).

Options:
${COMMON_HELP}`,
    options: {},
    min: 2,
    max: Infinity,
    run: runAppend,
  },
  {
    name: "stack",
    usage: "npy stack merge OUT DIR... [--move]",
    summary: "join sharded stacks without copying data",
    help: `Merges the stacks in the DIRs (written by separate producers with NpyStackWriter,
or by Dask's to_npy_stack) into one stack in OUT: their shards are hard-linked into OUT as
0.npy, 1.npy, … in order, and OUT gets a new info (for dask.array.from_npy_stack) and
stack.json. No data is copied, so all must be on one file system. Every DIR is checked
first (descr, order, row shape, no shard left open by a writer): nothing changes unless all
agree. OUT must be new or hold no stack.

Options:
  --move           move the shards into OUT instead of linking them (the DIRs are left
                   without shards)
${COMMON_HELP}`,
    options: { move: { type: "boolean" } },
    min: 3,
    max: Infinity,
    subcommands: ["merge"],
    run: runStack,
  },
];

function globalHelp(): string {
  const usages = COMMANDS.map((c) => c.usage.replace(/^npy /, ""));
  const width = Math.max(...usages.map((u) => u.length));
  return `npy ${VERSION}: inspect, print, repair and join NumPy .npy files

Usage: npy <command> [options] FILE...

Commands:
${COMMANDS.map((c, i) => `  ${usages[i].padEnd(width)}  ${c.summary}`).join("\n")}

Options:
  -h, --help       show help (npy <command> --help for one command)
  -V, --version    print the version
  -q, --quiet      no progress bar and no summary line

Exit codes:
  0    success (info also exits 0 for a file that needs recovery, and says so)
  1    a file could not be processed (missing, not .npy, mismatched, locked…)
  2    usage error (unknown command or option, missing argument)
  130  interrupted (Ctrl-C); every file is left consistent
`;
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.summary[0].toUpperCase()}${c.summary.slice(1)}.\n\n${c.help}\n`;
}

// -----------------------------------------------------------------------------------------
// main

/**
 * Runs the `npy` command with `args` (the arguments after `npy`) and returns its exit
 * code; nothing is printed to the real terminal when `options` capture the output.
 *
 * @param args The command line, e.g. `["info", "data.npy", "--json"]`.
 * @param options Where output goes and terminal facts (see {@link MainOptions}).
 * @returns The exit code: 0 success, 1 a file could not be processed, 2 usage error,
 *   130 interrupted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { saveNpySync } from "@npy/append-array";
 * import { main } from "@npy/append-array/cli";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "a.npy");
 * saveNpySync(path, { data: new Float64Array([1, 2.5, 3, 4]), shape: [2, 2] });
 * let out = "";
 * const stdout = (text: string) => {
 *   out += text;
 * };
 * assert.equal(await main(["head", path], { stdout }), 0);
 * assert.equal(out, "0  [1.0, 2.5]\n1  [3.0, 4.0]\n");
 * assert.equal(await main(["info", join(dir, "missing.npy")], { stderr: () => {} }), 1);
 * assert.equal(await main(["info", "--bogus"], { stderr: () => {} }), 2);
 * rmSync(dir, { recursive: true });
 * ```
 */
export async function main(args: readonly string[], options: MainOptions = {}): Promise<number> {
  const io = makeIo(options);
  let command: Command | undefined;
  try {
    let i = 0;
    let quiet = false;
    for (; i < args.length && args[i].startsWith("-"); i++) {
      const flag = args[i];
      if (flag === "-h" || flag === "--help") {
        await io.out(globalHelp());
        return EXIT_OK;
      }
      if (flag === "-V" || flag === "--version") {
        await io.out(`${VERSION}\n`);
        return EXIT_OK;
      }
      if (flag === "-q" || flag === "--quiet") quiet = true;
      else throw new UsageError(`unknown option '${flag}' (see npy --help)`);
    }
    const name = args[i];
    if (name === undefined) {
      io.err(globalHelp());
      return EXIT_USAGE;
    }
    if (name === "help") {
      const topic = COMMANDS.find((c) => c.name === args[i + 1]);
      await io.out(topic ? commandHelp(topic) : globalHelp());
      return EXIT_OK;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(`unknown command '${name}' (see npy --help)`);
    }
    const { values, positionals } = parse(command, args.slice(i + 1));
    if (values.help) {
      await io.out(commandHelp(command));
      return EXIT_OK;
    }
    quiet ||= values.quiet === true;
    const sub = positionals[0];
    if (command.subcommands !== undefined && !command.subcommands.includes(sub)) {
      throw new UsageError(
        `${sub === undefined ? "missing the" : "unknown"} ${command.name} command${
          sub === undefined ? "" : ` ${JSON.stringify(sub)}`
        } (usage: ${command.usage})`,
      );
    }
    if (positionals.length < command.min) {
      throw new UsageError(
        `missing ${missingArgument(command, positionals.length)} (usage: ${command.usage})`,
      );
    }
    if (positionals.length > command.max) {
      throw new UsageError(
        `too many arguments: ${JSON.stringify(positionals[command.max])} (usage: ${command.usage})`,
      );
    }
    if (quiet) io.progress = false;
    if (values["max-header-size"] !== undefined) {
      const text = String(values["max-header-size"]);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw new UsageError(
          `--max-header-size needs a whole number of characters, not ${JSON.stringify(text)}`,
        );
      }
      io.maxHeaderSize = Number(text);
    }
    return await command.run(positionals, values, io, quiet);
  } catch (e) {
    const prefix = command ? `npy ${command.name}: ` : "npy: ";
    if (e instanceof UsageError) {
      io.err(prefix + e.message + "\n");
      return EXIT_USAGE;
    }
    if (isAbort(e, io.signal)) {
      io.err(prefix + "interrupted\n");
      return EXIT_INTERRUPTED;
    }
    io.err(prefix + errorLine(e) + "\n");
    if (envVar("NPY_DEBUG") && e instanceof Error && e.stack) io.err(e.stack + "\n");
    return EXIT_FAILURE;
  }
}

/** The name the usage gives the argument at `index`: `npy concat OUT IN...` has OUT, IN. */
function missingArgument(command: Command, index: number): string {
  const names = command.usage.split(" ").slice(2).filter((w) => !w.startsWith("["));
  return names[Math.min(index, names.length - 1)].replace("...", "");
}

function parse(command: Command, args: string[]): { values: Values; positionals: string[] } {
  // `-n -3` (head: all but the last 3) would read as an option: keep it the value of -n.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === "-n" || a === "--rows") && /^[-+]\d+$/.test(args[i + 1] ?? "")) {
      joined.push(`--rows=${args[++i]}`);
    } else joined.push(a);
  }
  try {
    const { values, positionals } = parseArgs({
      args: joined,
      options: {
        ...command.options,
        help: { type: "boolean", short: "h" },
        quiet: { type: "boolean", short: "q" },
        "max-header-size": { type: "string" },
      },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /nknown option '([^']+)'/.exec(message);
    if (unknown) {
      throw new UsageError(`unknown option '${unknown[1]}' (see npy ${command.name} --help)`);
    }
    const first = message.split("\n")[0].replace(/\.$/, "");
    throw new UsageError(`${first} (see npy ${command.name} --help)`);
  }
}

function makeIo(options: MainOptions): Io {
  const stdout = options.stdout ?? writeStdout;
  const stderr = options.stderr ?? ((text: string) => void process.stderr.write(text));
  const isTTY = options.isTTY ?? (options.stderr === undefined && process.stderr.isTTY === true);
  // Whether the bar's line is open: a message then starts on a line of its own.
  let barLine = false;
  return {
    out: async (text) => {
      await stdout(text);
    },
    err: (text) => {
      if (barLine) stderr("\n");
      barLine = false;
      stderr(text);
    },
    bar: (text) => {
      if (text === undefined) {
        if (barLine) stderr(`\r${" ".repeat(Math.max(0, (options.columns ?? 80) - 1))}\r`);
        barLine = false;
        return;
      }
      stderr(text);
      barLine = true;
    },
    progress: isTTY,
    columns: options.columns ?? (process.stderr.columns || 80),
    signal: options.signal,
    maxHeaderSize: MAX_HEADER_SIZE,
  };
}

function writeStdout(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once("drain", () => resolve()));
}

function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (e === signal.reason || (e as Error)?.name === "AbortError");
}

/** One line for an error: ours are worded already; system errors get the file's name. */
function errorLine(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // A header over the limit: the command's way to raise it is the flag, not the option.
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    if (c instanceof NpyFormatError && c.maxHeaderSize !== undefined) {
      return `Cannot read the header of ${quote(c.path ?? "")}: it is longer than ` +
        `--max-header-size ${c.maxHeaderSize} allows (NumPy's limit too); pass a larger ` +
        `--max-header-size only for files you trust`;
    }
  }
  const { path, syscall } = e as NodeJS.ErrnoException;
  const verb = syscall === "rename" || syscall === "open" || syscall === "read"
    ? syscall
    : "access";
  const where = typeof path === "string" ? `${verb} ${quote(path)}` : verb;
  const worded = fileError(e, where, path ?? "") as Error;
  return worded.message.replace(/\s*\n\s*/g, " ");
}

// -----------------------------------------------------------------------------------------
// Facts about a file

interface Facts {
  path: string;
  header: NumberShapedHeader;
  fileBytes: number;
  /** Data bytes the header claims. */
  dataBytes: number;
  rowBytes: number;
  rows: number;
  /** Rows whose bytes are all in the file. */
  availableRows: number;
  /** Data bytes in the file (past the header). */
  actualBytes: number;
}

async function inspect(path: string, maxHeaderSize: number): Promise<Facts> {
  let file: NpyFile | undefined;
  try {
    file = await NpyFile.open(path, "r");
    const { header, size, dataBytes } = await readHeader(file, maxHeaderSize);
    const rowBytes = rowBytesOf(header);
    const rows = rowsOf(header);
    const actualBytes = Math.max(0, size - header.headerLength);
    const availableRows = rowBytes === 0
      ? rows
      : Math.min(rows, Math.floor(actualBytes / rowBytes));
    return {
      path,
      header,
      fileBytes: size,
      dataBytes,
      rowBytes,
      rows,
      availableRows,
      actualBytes,
    };
  } catch (e) {
    // A system error names no file when it comes from a read (EISDIR): name it.
    if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string") {
      (e as NodeJS.ErrnoException).path ??= path;
    }
    throw e;
  } finally {
    file?.closeSync();
  }
}

function needsRecovery(f: Facts): boolean {
  return f.actualBytes !== f.dataBytes;
}

function rowShapeOf(header: NumberShapedHeader): number[] {
  const { shape, fortranOrder } = header;
  return fortranOrder ? shape.slice(0, -1) : shape.slice(1);
}

/** `1 file`, `3 files`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `"b.npy"`, `"b.npy" and "c.npy"`, …; past three, `"b.npy" and 3 other files`. */
function namesText(paths: readonly string[]): string {
  const names = paths.map(quote);
  if (names.length > 3) return `${names[0]} and ${plural(names.length - 1, "other file")}`;
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** `(3, 4)`, `(5,)`, `()`: Python's tuple text, as NumPy prints shapes. */
function tupleText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

function recoveryText(f: Facts): string {
  return `the data is ${f.actualBytes} bytes but the header claims ${f.dataBytes}`;
}

// -----------------------------------------------------------------------------------------
// info

async function runInfo(paths: string[], values: Values, io: Io): Promise<number> {
  const json = values.json === true;
  const reports: unknown[] = [];
  let failed = false;
  let first = true;
  for (const path of paths) {
    if (isDirectorySync(path)) {
      try {
        const report = await stackInfo(path);
        if (json) reports.push(report.json);
        else await io.out((first ? "" : "\n") + report.text);
        first = false;
      } catch (e) {
        failed = true;
        io.err(`npy info: ${errorLine(e)}\n`);
        if (json) reports.push({ path, error: errorLine(e) });
      }
      continue;
    }
    let f: Facts;
    try {
      f = await inspect(path, io.maxHeaderSize);
    } catch (e) {
      failed = true;
      io.err(`npy info: ${errorLine(e)}\n`);
      // A valid file of a dtype the library does not handle ('O'): still show its header.
      const raw = e instanceof NpyDtypeError
        ? await rawHeader(path, io.maxHeaderSize).catch(() => undefined)
        : undefined;
      if (json) reports.push({ path, ...raw, error: errorLine(e) });
      else if (raw !== undefined) {
        const lines = [
          ["version", raw.version],
          ["header", raw.headerText],
          ["dtype", `not supported: ${innermost(e as Error).message}`],
        ];
        await io.out(
          (first ? "" : "\n") + path + "\n" +
            lines.map(([k, v]) => `  ${k.padEnd(15)} ${v}\n`).join(""),
        );
        first = false;
      }
      continue;
    }
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
    if (json) {
      reports.push({
        path,
        version: `${h.version}.0`,
        descr: h.descr,
        descrText: formatDescr(h.descr),
        shape: h.shape,
        fortranOrder: h.fortranOrder,
        rows: f.rows,
        growthAxis: growthAxis(h),
        rowBytes: f.rowBytes,
        dataOffset: h.headerLength,
        dataBytes: f.dataBytes,
        fileBytes: f.fileBytes,
        appendable,
        needsRecovery: recovery,
        availableRows: f.availableRows,
        ...(recovery ? { recoverRows: kept ?? null } : {}),
      });
      continue;
    }
    const axis = growthAxis(h);
    const lines = [
      ["version", `${h.version}.0`],
      ["descr", formatDescr(h.descr)],
      ["shape", tupleText(h.shape)],
      ["fortran order", h.fortranOrder ? "True" : "False"],
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
    ];
    await io.out(
      (first ? "" : "\n") + path + "\n" +
        lines.map(([k, v]) => `  ${k.padEnd(15)} ${v}\n`).join(""),
    );
    first = false;
  }
  if (json) await io.out(JSON.stringify(reports, null, 2) + "\n");
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** The error at the bottom of a chain of causes: the reason without the wrapping. */
function innermost(e: Error): Error {
  while (e.cause instanceof Error) e = e.cause;
  return e;
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
async function stackInfo(dir: string): Promise<{ json: unknown; text: string }> {
  await using r = await NpyStackReader.open(dir).catch((e) => {
    if ((e as { code?: string }).code !== "ENOTSTACK") throw e;
    throw new FileError(
      `Cannot read ${quote(dir)}: is a directory, neither a .npy file nor a stack (no ` +
        `stack.json, info or 0.npy)`,
    );
  });
  const shards = r.shardRows;
  const itemsize = defaultRegistry.resolve(r.descr).itemsize;
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
  const lines = [
    ["stack", r.source === "dask" ? "written by Dask's to_npy_stack" : "npy-stack (stack.json)"],
    ["descr", formatDescr(r.descr)],
    ["shape", tupleText(r.shape)],
    ["fortran order", r.fortranOrder ? "True" : "False"],
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
  ];
  return {
    json,
    text: dir + "\n" + lines.map(([k, v]) => `  ${k.padEnd(15)} ${v}\n`).join(""),
  };
}

/** What undoing a cut append does: `2.npy to 8 rows, 3.npy removed`. */
function undoText({ journal, removed }: NonNullable<ReturnType<typeof cutAppendSync>>): string {
  const kept = journal.rows > 0 ? [`${journal.shard}.npy to ${journal.rows} rows`] : [];
  return [...kept, ...removed.map((i) => `${i}.npy removed`)].join(", ");
}

// -----------------------------------------------------------------------------------------
// stack

async function runStack(
  [, out, ...dirs]: string[],
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

// -----------------------------------------------------------------------------------------
// head, tail

/**
 * `-n` of head and tail: `N` rows; for head `-N`, all but the last N; for tail `+N`, from
 * row N on (counted from 1), as the POSIX commands read them.
 */
function parseCount(
  which: "head" | "tail",
  text: string | boolean | undefined,
): { count: number; sign: "" | "-" | "+" } {
  if (text === undefined) return { count: 10, sign: "" };
  const s = String(text);
  const m = /^([-+]?)(\d+)$/.exec(s);
  const allowed = which === "head" ? "-" : "+";
  if (m === null || !Number.isSafeInteger(Number(m[2])) || (m[1] !== "" && m[1] !== allowed)) {
    throw new UsageError(
      `-n needs a whole number of rows${
        which === "head" ? ", or -N for all but the last N" : ", or +N to start at row N"
      }, not ${JSON.stringify(s)}`,
    );
  }
  return { count: Number(m[2]), sign: m[1] as "" | "-" | "+" };
}

async function runHeadTail(
  which: "head" | "tail",
  [path]: string[],
  values: Values,
  io: Io,
): Promise<number> {
  const { count: n, sign } = parseCount(which, values.rows);
  const f = await inspect(path, io.maxHeaderSize);
  const h = f.header;
  defaultRegistry.resolve(h.descr); // refuses what the library cannot read ('O')
  const printer = printerFor(h.descr);
  if (needsRecovery(f) && f.actualBytes < f.dataBytes) {
    io.err(
      `npy ${which}: warning: ${quote(path)} needs recovery (${recoveryText(f)}); showing only ` +
        `its ${f.availableRows} complete rows\n`,
    );
  }
  const file = await NpyFile.open(path, "r");
  try {
    if (h.shape.length === 0) {
      if (n === 0 || f.availableRows === 0) return EXIT_OK;
      const bytes = new Uint8Array(f.rowBytes);
      await file.read(bytes, h.headerLength);
      await io.out(printer.print(bytes, 0) + "\n");
      return EXIT_OK;
    }
    const total = f.availableRows;
    if (total === 0) {
      await io.out("[]\n"); // what NumPy prints for an empty array
      return EXIT_OK;
    }
    let start: number, end: number;
    if (which === "head") [start, end] = [0, sign === "-" ? Math.max(0, total - n) : n];
    else [start, end] = [sign === "+" ? Math.max(0, n - 1) : Math.max(0, total - n), total];
    end = Math.min(end, total);
    const rowShape = rowShapeOf(h);
    const width = String(Math.max(0, end - 1)).length;
    const perBatch = Math.max(1, Math.floor(PRINT_BATCH_BYTES / Math.max(1, f.rowBytes)));
    for (let s = start; s < end; s += perBatch) {
      io.signal?.throwIfAborted();
      const e = Math.min(end, s + perBatch);
      const bytes = new Uint8Array((e - s) * f.rowBytes);
      await file.read(bytes, h.headerLength + s * f.rowBytes);
      let text = "";
      for (let r = s; r < e; r++) {
        const row = rowText(printer, bytes, (r - s) * f.rowBytes, rowShape, h.fortranOrder);
        text += `${String(r).padStart(width)}  ${row}\n`;
      }
      await io.out(text);
    }
    return EXIT_OK;
  } finally {
    file.closeSync();
  }
}

/** NumPy's summarising threshold: a row with more elements prints 3 at each end. */
const SUMMARY_THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/** One row (of `rowShape`, in C or Fortran order from `offset`) as nested lists. */
function rowText(
  printer: Printer,
  bytes: Uint8Array,
  offset: number,
  rowShape: readonly number[],
  fortran: boolean,
): string {
  const size = printer.size;
  if (rowShape.length === 0) return printer.print(bytes, offset);
  const strides = new Array<number>(rowShape.length);
  let acc = 1;
  if (fortran) {
    for (let d = 0; d < rowShape.length; d++) strides[d] = acc, acc *= rowShape[d];
  } else {
    for (let d = rowShape.length - 1; d >= 0; d--) strides[d] = acc, acc *= rowShape[d];
  }
  const summarise = acc > SUMMARY_THRESHOLD;
  const nest = (d: number, index: number): string => {
    if (d === rowShape.length) return printer.print(bytes, offset + index * size);
    const len = rowShape[d];
    const parts: string[] = [];
    if (summarise && len > 2 * EDGE_ITEMS) {
      for (let i = 0; i < EDGE_ITEMS; i++) parts.push(nest(d + 1, index + i * strides[d]));
      parts.push("...");
      for (let i = len - EDGE_ITEMS; i < len; i++) {
        parts.push(nest(d + 1, index + i * strides[d]));
      }
    } else {
      for (let i = 0; i < len; i++) parts.push(nest(d + 1, index + i * strides[d]));
    }
    return `[${parts.join(", ")}]`;
  };
  return nest(0, 0);
}

// -----------------------------------------------------------------------------------------
// Printing elements as NumPy does

interface Printer {
  size: number;
  print(bytes: Uint8Array, offset: number): string;
}

function printerFor(descr: Descr): Printer {
  if (typeof descr !== "string") return recordPrinter(descr);
  const t = parseTypestr(descr);
  const little = t.byteorder !== ">";
  const size = t.itemsize;
  const dv = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const make = (print: (view: DataView, bytes: Uint8Array, o: number) => string): Printer => ({
    size,
    print: (bytes, o) => print(dv(bytes), bytes, o),
  });
  switch (t.kind) {
    case "b":
      return make((_, b, o) => b[o] !== 0 ? "True" : "False");
    case "i":
    case "u":
      return make(intReader(t.kind, size, little));
    case "f":
      if (size === 2 || size === 4 || size === 8) {
        const read = floatReader(size, little);
        return make((v, _, o) => floatText(read(v, o), size));
      }
      break;
    case "c":
      if (size === 8 || size === 16) {
        const read = floatReader(size / 2, little);
        return make((v, _, o) => complexText(read(v, o), read(v, o + size / 2), size / 2));
      }
      break;
    case "S":
      return make((_, b, o) => {
        let end = o + size;
        while (end > o && b[end - 1] === 0) end--;
        return pyBytes(b.subarray(o, end));
      });
    case "V":
      return make((_, b, o) => pyBytes(b.subarray(o, o + size), true));
    case "U":
      return make((v, _, o) => {
        const points: number[] = [];
        for (let i = 0; i < size; i += 4) points.push(v.getUint32(o + i, little));
        while (points.length > 0 && points[points.length - 1] === 0) points.pop();
        return pyStr(points);
      });
    case "M":
    case "m": {
      const unit = t.unit;
      const count = BigInt(t.unitCount ?? 1);
      return make((v, _, o) => {
        const ticks = v.getBigInt64(o, little);
        return t.kind === "M"
          ? `'${datetimeText(ticks, unit, count)}'`
          : timedeltaText(ticks, unit, count);
      });
    }
  }
  return make((_, b, o) => `<${size} bytes ${hex(b.subarray(o, o + size))}>`);
}

function recordPrinter(fields: Exclude<Descr, string>): Printer {
  const parts: Array<{ label: string; offset: number; printer: Printer; shape: number[] }> = [];
  let offset = 0;
  for (const [name, slot, fieldShape] of fields) {
    // A subarray of subarrays prints as one field of all the shapes, outermost first.
    const { base: sub, shapes } = fieldLayout(slot, fieldShape);
    const shape = shapes.flat();
    const printer = printerFor(sub);
    const n = shape.reduce((a, b) => a * b, 1);
    const plain = typeof name === "string" ? name : name[1];
    const padding = plain === "" && typeof sub === "string" && /^[|<>=]?V\d+$/.test(sub);
    if (!padding) {
      const label = /^[A-Za-z_][A-Za-z0-9_]*$/.test(plain) ? plain : JSON.stringify(plain);
      parts.push({ label, offset, printer, shape: [...shape] });
    }
    offset += printer.size * n;
  }
  return {
    size: offset,
    print: (bytes, o) =>
      "{" + parts.map((p) =>
        `${p.label}: ${rowText(p.printer, bytes, o + p.offset, p.shape, false)}`
      ).join(", ") + "}",
  };
}

function intReader(kind: string, size: number, little: boolean) {
  const signed = kind === "i";
  return (v: DataView, _b: Uint8Array, o: number): string => {
    switch (size) {
      case 1:
        return String(signed ? v.getInt8(o) : v.getUint8(o));
      case 2:
        return String(signed ? v.getInt16(o, little) : v.getUint16(o, little));
      case 4:
        return String(signed ? v.getInt32(o, little) : v.getUint32(o, little));
      default:
        return String(signed ? v.getBigInt64(o, little) : v.getBigUint64(o, little));
    }
  };
}

function floatReader(size: number, little: boolean): (v: DataView, o: number) => number {
  if (size === 2) return (v, o) => halfBitsToFloat(v.getUint16(o, little));
  if (size === 4) return (v, o) => v.getFloat32(o, little);
  return (v, o) => v.getFloat64(o, little);
}

const ROUND: Record<number, (x: number) => number> = {
  2: (x) => halfBitsToFloat(floatToHalfBits(x)),
  4: Math.fround,
  8: (x) => x,
};
/** Below this, NumPy prints a scalar positionally (`1000.0`), above in exponent form. */
const POSITIONAL_CUTOFF: Record<number, number> = { 2: 1e3, 4: 1e6, 8: 1e16 };

/** The shortest digits that read back as `x` at `size` bytes: [sign, digits, exponent]. */
function shortestDigits(x: number, size: number): [string, string, number] {
  let text = x.toExponential();
  if (size !== 8) {
    const round = ROUND[size];
    for (let p = 0; p < 17; p++) {
      const candidate = x.toExponential(p);
      if (round(Number(candidate)) === x) {
        text = tieToEven(x, p, candidate, round);
        break;
      }
    }
  }
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text)!;
  return [match[1], (match[2] + (match[3] ?? "")).replace(/0+$/, "") || "0", Number(match[4])];
}

/**
 * `toExponential` rounds a tie away from zero; NumPy's Dragon4 rounds it to even. When `x`
 * lies exactly halfway at `p` digits, the truncated digits win if their last one is even
 * (and they read back as `x`).
 */
function tieToEven(x: number, p: number, candidate: string, round: (x: number) => number): string {
  const exact = /^(-?)(\d)\.(\d+)(e[+-]\d+)$/.exec(x.toExponential(Math.min(100, p + 40)));
  if (exact === null) return candidate;
  const digits = exact[2] + exact[3];
  if (!/^50*$/.test(digits.slice(p + 1))) return candidate;
  const kept = digits.slice(0, p + 1);
  if (Number(kept[p]) % 2 !== 0) return candidate;
  const alt = `${exact[1]}${kept[0]}${p > 0 ? "." + kept.slice(1) : ""}${exact[4]}`;
  return round(Number(alt)) === x ? alt : candidate;
}

/** A float as NumPy's `str()` prints the scalar: `1.0`, `0.1`, `1e+16`, `nan`, `-inf`. */
function floatText(x: number, size: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [sign, digits, exp] = shortestDigits(x, size);
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < POSITIONAL_CUTOFF[size]) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const frac = digits.slice(exp + 1);
    return `${sign}${int}.${frac || "0"}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${mantissa}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
}

/** A complex as NumPy prints it: `(1+2j)`, `(1.5-0j)`, `2j`, `(nan+infj)`. */
function complexText(re: number, im: number, size: number): string {
  const part = (x: number) => floatText(x, size).replace(/\.0$/, "");
  const imText = Number.isNaN(im) ? "nan" : part(im);
  const sign = imText.startsWith("-") ? "" : "+";
  if (re === 0 && !Object.is(re, -0)) return `${imText}j`;
  return `(${part(re)}${sign}${imText}j)`;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Python's `repr(bytes)`; `allHex` escapes every byte, as NumPy prints `np.void`. */
function pyBytes(bytes: Uint8Array, allHex = false): string {
  const mark = !allHex && bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let s = "";
  for (const b of bytes) {
    if (allHex) s += `\\x${b.toString(16).padStart(2, "0").toUpperCase()}`;
    else if (b === 0x5c) s += "\\\\";
    else if (b === mark.charCodeAt(0)) s += `\\${mark}`;
    else if (b === 0x09) s += "\\t";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x0d) s += "\\r";
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `b${mark}${s}${mark}`;
}

/** Python's `repr(str)` for code points (control characters escaped). */
function pyStr(points: number[]): string {
  const mark = points.includes(0x27) && !points.includes(0x22) ? '"' : "'";
  let s = "";
  for (const c of points) {
    if (c === 0x5c) s += "\\\\";
    else if (c === mark.charCodeAt(0)) s += `\\${mark}`;
    else if (c === 0x09) s += "\\t";
    else if (c === 0x0a) s += "\\n";
    else if (c === 0x0d) s += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) s += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) {
      s += `\\U${c.toString(16).padStart(8, "0")}`;
    } else s += String.fromCodePoint(c);
  }
  return `${mark}${s}${mark}`;
}

const NAT = -(2n ** 63n);
const TICKS_PER_DAY: Record<string, bigint> = {
  h: 24n,
  m: 1440n,
  s: 86400n,
  ms: 86400n * 10n ** 3n,
  us: 86400n * 10n ** 6n,
  ns: 86400n * 10n ** 9n,
  ps: 86400n * 10n ** 12n,
  fs: 86400n * 10n ** 15n,
  as: 86400n * 10n ** 18n,
};
const FRACTION_DIGITS: Record<string, number> = { ms: 3, us: 6, ns: 9, ps: 12, fs: 15, as: 18 };
const UNIT_NAMES: Record<string, string> = {
  Y: "years",
  M: "months",
  W: "weeks",
  D: "days",
  h: "hours",
  m: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  ps: "picoseconds",
  fs: "femtoseconds",
  as: "attoseconds",
};

function floorDiv(a: bigint, b: bigint): bigint {
  const d = a / b;
  return d * b > a ? d - 1n : d;
}

function yearText(y: bigint): string {
  return y < 0n ? "-" + (-y).toString().padStart(3, "0") : y.toString().padStart(4, "0");
}

/** Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian, any year). */
function dateText(days: bigint): string {
  const [y, m, d] = civilFromDays(days);
  return `${yearText(y)}-${String(m + 1n).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** A datetime64 value as NumPy prints it: `2024-03-01T09:30:00.125`, `NaT`. */
function datetimeText(ticks: bigint, unit: string | undefined, count: bigint): string {
  if (ticks === NAT) return "NaT";
  if (unit === undefined) return ticks.toString();
  const v = ticks * count;
  switch (unit) {
    case "Y":
      return yearText(1970n + v);
    case "M":
      return `${yearText(1970n + floorDiv(v, 12n))}-${
        String(v - floorDiv(v, 12n) * 12n + 1n).padStart(2, "0")
      }`;
    case "W":
      return dateText(v * 7n);
    case "D":
      return dateText(v);
  }
  const perDay = TICKS_PER_DAY[unit];
  const days = floorDiv(v, perDay);
  let rest = v - days * perDay;
  const two = (n: bigint) => String(n).padStart(2, "0");
  const digits = FRACTION_DIGITS[unit] ?? 0;
  const perSecond = 10n ** BigInt(digits);
  let fraction = "";
  if (digits > 0) {
    fraction = "." + String(rest % perSecond).padStart(digits, "0");
    rest /= perSecond;
  }
  let time: string;
  if (unit === "h") time = two(rest);
  else if (unit === "m") time = `${two(rest / 60n)}:${two(rest % 60n)}`;
  else time = `${two(rest / 3600n)}:${two((rest / 60n) % 60n)}:${two(rest % 60n)}${fraction}`;
  return `${dateText(days)}T${time}`;
}

/** A timedelta64 value as NumPy prints it: `5 seconds`, `NaT`. */
function timedeltaText(ticks: bigint, unit: string | undefined, count: bigint): string {
  if (ticks === NAT) return "NaT";
  if (unit === undefined) return `${ticks} generic time units`;
  return `${ticks * count} ${UNIT_NAMES[unit]}`;
}

// -----------------------------------------------------------------------------------------
// recover, ensure-appendable

function planText(before: number, plan: RecoverResult): string {
  const parts = [`${before} -> ${plan.rows} rows`];
  if (plan.droppedBytes > 0) parts.push(`${plan.droppedBytes} bytes dropped`);
  if (plan.addedBytes > 0) parts.push(`${plan.addedBytes} zero bytes added`);
  return parts.join(", ");
}

async function runRecover(
  [path]: string[],
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
    const f = await inspect(path, io.maxHeaderSize);
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

async function runEnsureAppendable(
  [path]: string[],
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
      signal: io.signal,
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

// -----------------------------------------------------------------------------------------
// concat, append

/** Checks that every input can be joined to `base`; throws a worded FileError otherwise. */
function checkJoinable(action: string, base: Facts, inputs: Facts[]): void {
  for (const f of [base, ...inputs]) {
    if (needsRecovery(f)) {
      throw new FileError(
        `Cannot ${action} ${quote(f.path)}: it needs recovery (${recoveryText(f)}); run ` +
          `npy recover ${quote(f.path)} first`,
      );
    }
    if (f.header.shape.length === 0) {
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
        `Cannot ${action} ${against}: fortran order ${g.fortranOrder ? "True" : "False"} ` +
          `does not match ${h.fortranOrder ? "True" : "False"}`,
      );
    }
    const a = rowShapeOf(g), b = rowShapeOf(h);
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
      throw new NpyShapeError(
        `Cannot ${action} ${against}: row shape ${tupleText(a)} does not match ` +
          `${tupleText(b)} (shapes ${tupleText(g.shape)} and ${tupleText(h.shape)})`,
        { path: f.path, expected: b, actual: a },
      );
    }
  }
}

async function inspectAll(paths: string[], maxHeaderSize: number): Promise<Facts[]> {
  const out: Facts[] = [];
  for (const path of paths) out.push(await inspect(path, maxHeaderSize));
  return out;
}

/**
 * The files behind `paths`: a stack directory stands for its listed shards, in order. `text`
 * counts the inputs as given: `2 files`, or `2 inputs (4 shards of 1 stack, 1 file)`.
 */
async function expandStacks(paths: string[]): Promise<{ files: string[]; text: string }> {
  const out: string[] = [];
  let stacks = 0;
  for (const path of paths) {
    if (!isDirectorySync(path)) {
      out.push(path);
      continue;
    }
    stacks++;
    await using r = await NpyStackReader.open(path);
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

async function exists(path: string): Promise<boolean> {
  try {
    (await NpyFile.open(path, "r")).closeSync();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

async function runConcat(
  [out, ...ins]: string[],
  values: Values,
  io: Io,
  quiet: boolean,
): Promise<number> {
  const given = await expandStacks(ins);
  const inputs = await inspectAll(given.files, io.maxHeaderSize);
  const base = inputs[0];
  checkJoinable("concatenate", base, inputs.slice(1));
  if (values.force !== true && await exists(out)) {
    throw new FileError(`Cannot write ${quote(out)}: the file exists (pass --force to replace it)`);
  }
  const h = base.header;
  const rows = inputs.reduce((n, f) => n + f.rows, 0);
  const shape = [...h.shape];
  shape[growthAxis(h)] = rows;
  const fields = { descr: h.descr, fortranOrder: h.fortranOrder, shape };
  const header = encodeHeader(fields, { path: out });
  const total = inputs.reduce((n, f) => n + f.dataBytes, 0);
  const bar = new ProgressBar(io, "concat");
  try {
    // Into a temp file renamed over OUT, holding OUT's writer lock: a live writer's file is
    // never replaced under it.
    await runSteps(replaceSteps(out, { action: `write ${quote(out)}` }, function* (target) {
      yield { write: target, bytes: header, position: 0 };
      let position = header.length;
      const buffer = new Uint8Array(Math.max(1, Math.min(BLOCK_BYTES, total)));
      for (const f of inputs) {
        const source = NpyFile.openSync(f.path, "r");
        try {
          const start = position;
          yield* copySteps(source, f.header.headerLength, target, start, f.dataBytes, buffer, {
            signal: io.signal,
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
      `wrote ${quote(out)}: ${rows} rows from ${given.text}, shape ${tupleText(shape)}, ` +
        `${formatDescr(h.descr)}, ${bytesText(header.length + total)}\n`,
    );
  }
  return EXIT_OK;
}

async function runAppend(
  [out, ...ins]: string[],
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

async function appendLocked(
  out: string,
  ins: string[],
  io: Io,
  quiet: boolean,
  state: { settled: boolean },
): Promise<number> {
  const target = await inspect(out, io.maxHeaderSize);
  const inputs = await inspectAll(ins, io.maxHeaderSize);
  checkJoinable("append", target, inputs);
  if (!hasGrowthRoom(target.header)) {
    throw new FileError(
      `Cannot append to ${quote(out)}: its header has no room to grow; run ` +
        `npy ensure-appendable ${quote(out)} first`,
    );
  }
  const self = realPathSync(out) ?? resolvePath(out);
  for (const f of inputs) {
    if ((realPathSync(f.path) ?? resolvePath(f.path)) === self) {
      throw new FileError(`Cannot append ${quote(f.path)} to itself`);
    }
  }
  const h = target.header;
  const rowShape = rowShapeOf(h);
  const total = inputs.reduce((n, f) => n + f.dataBytes, 0);
  const bar = new ProgressBar(io, "append");
  let appended = 0;
  const writer = await NpyAppendArray.open(out, {
    mode: "append",
    lock: false, // held
    maxHeaderSize: io.maxHeaderSize,
  });
  state.settled = true; // opened: OUT held no cut append (the writer refuses one)
  try {
    let doneBytes = 0;
    const buffer = new Uint8Array(Math.max(1, Math.min(BLOCK_BYTES, total)));
    for (const f of inputs) {
      const perBlock = f.rowBytes === 0
        ? Math.max(1, f.rows)
        : Math.max(1, Math.floor(buffer.length / f.rowBytes));
      const source = await NpyFile.open(f.path, "r");
      try {
        for (let s = 0; s < f.rows; s += perBlock) {
          io.signal?.throwIfAborted();
          const k = Math.min(perBlock, f.rows - s);
          const bytes = k * f.rowBytes;
          const block = bytes <= buffer.length ? buffer.subarray(0, bytes) : new Uint8Array(bytes);
          const n = await source.read(block, f.header.headerLength + s * f.rowBytes);
          if (n < bytes) {
            throw new FileError(`Cannot append ${quote(f.path)}: the file shrank while read`);
          }
          await writer.append({
            data: new DataView(block.buffer, block.byteOffset, block.byteLength),
            shape: h.fortranOrder ? [...rowShape, k] : [k, ...rowShape],
            descr: f.header.descr,
            fortranOrder: h.fortranOrder,
          });
          appended += k;
          doneBytes += bytes;
          bar.update(doneBytes, total);
        }
      } finally {
        source.closeSync();
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
        `${target.rows + appended} rows, shape ${tupleText(writer.shape ?? [])}\n`,
    );
  }
  return EXIT_OK;
}

// -----------------------------------------------------------------------------------------
// Progress bar

// -----------------------------------------------------------------------------------------
// Run as a program: `node dist/cli.js`, the npm bin symlink, `deno run -A cli.ts`,
// `bun cli.ts`. Imported (tests, `import { main }`), nothing runs.

function isMainModule(): boolean {
  const flag = (import.meta as { main?: boolean }).main;
  if (typeof flag === "boolean") return flag;
  const script = process.argv[1];
  if (script === undefined || !import.meta.url.startsWith("file:")) return false;
  const self = fileURLToPath(import.meta.url);
  return (realPathSync(script) ?? resolvePath(script)) === (realPathSync(self) ?? self);
}

if (isMainModule()) {
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
    controller.abort(new DOMException("Interrupted", "AbortError"));
  };
  process.on("SIGINT", onInterrupt);
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT_OK);
  });
  const code = await main(process.argv.slice(2), { signal: controller.signal });
  process.off("SIGINT", onInterrupt);
  process.exitCode = code;
}
