/**
 * Internal to the `npy` command: {@link main}, which parses a command line, runs the command
 * and turns what went wrong into one line and an exit code.
 *
 * @module
 */

import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MAX_HEADER_SIZE } from "../lib/header.ts";
import { envVar } from "../lib/file.ts";
import type { DtypeRegistry } from "../lib/registry.ts";
import { defaultRegistry } from "../dtypes/mod.ts";
import { type Command, commandHelp, COMMANDS, globalHelp, VERSION } from "./commands.ts";
import {
  errorLine,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  type Io,
  isAbort,
  UsageError,
  type Values,
} from "./io.ts";

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
 *
 * @example A registry with a dtype plugin of your own: `npy head` prints what it decodes
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { defaultRegistry, saveNpySync } from "@npy/append-array";
 * import { main } from "@npy/append-array/cli";
 *
 * // Reads '<u2' as tenths: 15 is 1.5.
 * const u2 = defaultRegistry.resolve("<u2");
 * const registry = defaultRegistry.register({
 *   name: "tenths",
 *   resolve: (descr) =>
 *     descr !== "<u2" ? undefined : {
 *       descr: "<u2",
 *       itemsize: 2,
 *       count: (values) => u2.count(values),
 *       encodeInto: (values, target) => u2.encodeInto(values, target),
 *       decode: (bytes) => Float64Array.from(u2.decode(bytes) as Uint16Array, (x) => x / 10),
 *     },
 * });
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const path = join(dir, "tenths.npy");
 * saveNpySync(path, Uint16Array.of(15, 2));
 * let out = "";
 * assert.equal(await main(["head", path], { stdout: (text) => void (out += text), registry }), 0);
 * assert.equal(out, "0  1.5\n1  0.2\n");
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
  /**
   * Where the codec of each file's descr comes from: `npy head` and `npy tail` print what
   * its dtype decodes, so a registry with a plugin of your own prints that plugin's values.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry;
}

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
    for (; i < args.length; i++) {
      const flag = args[i] ?? "";
      if (!flag.startsWith("-")) break;
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
    if (
      command.subcommands !== undefined &&
      (sub === undefined || !command.subcommands.includes(sub))
    ) {
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
  return (names[Math.min(index, names.length - 1)] ?? "").replace("...", "");
}

/** The command's options and those every command takes. */
function optionsOf(command: Command): NonNullable<ParseArgsConfig["options"]> {
  return {
    ...command.options,
    help: { type: "boolean", short: "h" },
    quiet: { type: "boolean", short: "q" },
    "max-header-size": { type: "string" },
  };
}

function parse(command: Command, args: string[]): { values: Values; positionals: string[] } {
  // `-n -3` (head: all but the last 3) would read as an option: keep it the value of -n.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    const next = args[i + 1];
    if ((a === "-n" || a === "--rows") && next !== undefined && /^[-+]\d+$/.test(next)) {
      joined.push(`--rows=${next}`);
      i++;
    } else joined.push(a);
  }
  const options = optionsOf(command);
  try {
    const { values, positionals } = parseArgs({
      args: joined,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (e) {
    const unknown = unknownOption(joined, options);
    if (unknown !== undefined) {
      throw new UsageError(`unknown option '${unknown}' (see npy ${command.name} --help)`);
    }
    // Another mistake (a missing value): the parser's own words, first line.
    const message = e instanceof Error ? e.message : String(e);
    const first = (message.split("\n")[0] ?? "").replace(/\.$/, "");
    throw new UsageError(`${first} (see npy ${command.name} --help)`);
  }
}

/** The first option in `args` that is not one of `options`, as it was spelled. */
function unknownOption(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): string | undefined {
  const { tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === "option" && !Object.hasOwn(options, token.name)) return token.rawName;
  }
  return undefined;
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
    registry: options.registry ?? defaultRegistry,
  };
}

function writeStdout(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once("drain", () => resolve()));
}
