/**
 * Internal to the `npy` command: the command table (names, usage, help texts, options and
 * the function that runs each) and the help it prints.
 *
 * @module
 */

import type { ParseArgsConfig } from "node:util";
import { MAX_HEADER_SIZE } from "../lib/header.ts";
import { runInfo } from "./info.ts";
import type { Io, Values } from "./io.ts";
import { runAppend, runConcat, runStack } from "./join.ts";
import { runHeadTail } from "./print.ts";
import { runEnsureAppendable, runRecover } from "./repair.ts";

/** The command's version, as `npy --version` prints it (package.json's). */
export const VERSION = "0.1.0";

/** A command: its help texts, options, argument counts and what runs it. */
export interface Command {
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

const COMMON_HELP = `  --max-header-size N
                   read headers of up to N characters (default ${MAX_HEADER_SIZE}, NumPy's
                   limit); raise it only for files you trust
  -q, --quiet      no progress bar and no summary line
  -h, --help       show this help`;

/** Every command, in the order `npy --help` lists them. */
export const COMMANDS: readonly Command[] = [
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

/** `npy --help`. */
export function globalHelp(): string {
  const usage = (c: Command) => c.usage.replace(/^npy /, "");
  const width = Math.max(...COMMANDS.map((c) => usage(c).length));
  const lines = COMMANDS.map((c) => `  ${usage(c).padEnd(width)}  ${c.summary}`);
  return `npy ${VERSION}: inspect, print, repair and join NumPy .npy files

Usage: npy <command> [options] FILE...

Commands:
${lines.join("\n")}

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

/** `npy <command> --help`. */
export function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.summary.charAt(0).toUpperCase()}${
    c.summary.slice(1)
  }.\n\n${c.help}\n`;
}
