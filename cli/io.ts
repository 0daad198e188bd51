/**
 * Internal to the `npy` command: what every command is handed (where output goes, the
 * registry, the limits), its two error kinds, exit codes, and the one-line wording of an
 * error.
 *
 * @module
 */

import { NpyDtypeError, NpyFormatError, quote } from "../lib/errors.ts";
import { fileError } from "../lib/file.ts";
import type { DtypeRegistry } from "../lib/registry.ts";
import type { BarOutput } from "./progress.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** What a command runs with: its output, the terminal facts and the reading limits. */
export interface Io extends BarOutput {
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
  /** Where the codec of each file's descr comes from (`MainOptions.registry`). */
  registry: DtypeRegistry;
}

/** The parsed options of a command line (no option is given `multiple`: no arrays). */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A wrong command line: exit code 2. */
export class UsageError extends Error {}

/** A file that cannot be processed: exit code 1, with a message already worded. */
export class FileError extends Error {}

/** The `signal` option of a library call: the command's signal, when it has one. */
export function signalOption(io: Io): { signal?: AbortSignal } {
  return io.signal === undefined ? {} : { signal: io.signal };
}

/** Whether `e` is the interrupt `signal` asked for. */
export function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true &&
    (e === signal.reason || (e instanceof Error && e.name === "AbortError"));
}

/** A raw system error, as `node:fs` throws it: a `code` and the `syscall` that failed. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" &&
    typeof (e as NodeJS.ErrnoException).syscall === "string";
}

/** One line for an error: ours are worded already; system errors get the file's name. */
export function errorLine(e: unknown): string {
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
  const worded = fileError(e, where, path ?? "");
  let message = worded instanceof Error ? worded.message : String(worded);
  // The library puts why a dtype is refused (a "did you mean", the sizes a kind comes in)
  // in the error's cause: a one-line report shows it too.
  for (let c = worded instanceof Error ? worded.cause : undefined; c instanceof Error;) {
    if (c instanceof NpyDtypeError && !message.includes(c.message)) {
      message += `. Cause: ${c.message}`;
    }
    c = c.cause;
  }
  return message.replace(/\s*\n\s*/g, " ");
}

/** The error at the bottom of a chain of causes: the reason without the wrapping. */
export function innermost(e: Error): Error {
  while (e.cause instanceof Error) e = e.cause;
  return e;
}

/** `1 file`, `3 files`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `"b.npy"`, `"b.npy" and "c.npy"`, …; past three, `"b.npy" and 3 other files`. */
export function namesText(paths: readonly string[]): string {
  const names = paths.map(quote);
  const [first = "", ...rest] = names;
  if (names.length > 3) return `${first} and ${plural(rest.length, "other file")}`;
  return rest.length === 0 ? first : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** `True`/`False`, as NumPy prints a bool (and a header's `fortran_order`). */
export function pyBool(b: boolean): string {
  return b ? "True" : "False";
}

/** The `  key             value` lines `npy info` prints under a file's name. */
export function factLines(title: string, lines: ReadonlyArray<readonly [string, string]>): string {
  return title + "\n" + lines.map(([k, v]) => `  ${k.padEnd(15)} ${v}\n`).join("");
}
