/**
 * A child process for the crash and concurrency tests (run by deno or bun on this file, by
 * node on its build in dist/tests). One JSON argument says what to do:
 *
 * - `{ task: "append", path, kind, durability, api, maxChunk, maxRows, seed, pauseEvery?, batch?,
 *   bufferSize?, flushEvery? }`: opens `path` (mode "append", onRecovery "truncate", so a
 *   file left by a killed child is resumed and its lock taken over), prints `open <rows>`,
 *   then appends rows with known content (row i is {@link rowValues}) in chunks of
 *   1..maxChunk rows (exactly `batch` rows when given) and prints `ack <rows>` after each
 *   append returned. With `bufferSize`, rows are acknowledged by `flush()`, called after
 *   every `flushEvery` appends: `ack <rows>` follows each completed flush. Past `maxRows` it
 *   idles until killed.
 * - `{ task: "exit", path, how, bufferSize?, flushInterval? }`: opens `path` (new, `<i8` rows of 2),
 *   appends rows 0..9 as three chunks, prints `appended`, and ends without `close()`:
 *   `how` is "end" (falls off the end), "exit" (`process.exit(0)` or `Deno.exit(0)`),
 *   "throw" (an uncaught error) or "reject" (an unhandled rejection).
 * - `{ task: "interval", path, flushInterval? }`: opens `path` (new, `<i8` rows of 2) with a
 *   1 MiB buffer and `rewriteHeaderOnAppend: false` (and `flushInterval` when given), appends
 *   rows 0..9, prints `appended` and idles until killed: never flushes by itself.
 * - `{ task: "open", path, mode }`: opens `path` with `mode` and no descr, prints `open`,
 *   and idles until killed.
 * - `{ task: "gc", path, bufferSize?, now?, then? }`: opens `path` in a function that
 *   appends rows 0..19 and drops the writer without `close()`, forces garbage collections
 *   (waiting between them, so that finalizers run; with `now`, in one go, so that none can),
 *   prints `collected` (or `not collected`) and at once ends, exits (`then: "exit"`), or
 *   opens the file again, appends rows 20..23, closes and prints `reopened` (`"reopen"`).
 * - `{ task: "stack-exit", path, how, bufferSize? }`: opens a new stack in `path` (`<i8` rows
 *   of 2, shards of 100 rows), appends rows 0..249 (the last 10 without awaiting), prints
 *   `appended` and ends without `close()` as `how` says ("end" or "exit").
 * - `{ task: "stack-append", path, batch, shardRows, maxRows }`: opens the stack in `path`
 *   (resumed, a killed writer's open shard recovered with onRecovery "truncate"), prints
 *   `open <rows>`, appends `batch` rows at a time (row i = (2i, 2i + 1)) and prints
 *   `ack <rows>` after each; past `maxRows` it idles until killed.
 * - `{ task: "stack-cut", path, batch, shardRows, rows, stopAt: { kind, name, nth } }`: appends
 *   `rows` rows to a new stack in `path` in batches of `batch` (row i = (2i, 2i + 1)), prints
 *   `open <rows>`, then appends one batch more and stops in it, at the `nth` file operation of
 *   `kind` on the file `name` (its temp files included; see `FileOp`): prints `stopped` and
 *   sleeps there until killed; with `exit`, exits there instead (`process.exit(0)`).
 * - `{ task: "race", path }`: prints `ready`, reads a time (ms) from stdin, spins until the
 *   clock reads it, tries to open `path` for writing and prints `won <pid>` (then appends
 *   its pid as a row, waits for a line on stdin, and closes) or `lost <holder pid>` on an
 *   NpyLockError.
 *
 * Lines go out with a synchronous write to fd 1, so a line the parent reads was printed
 * after the append it acknowledges had returned. Errors print `error <json>` and exit 1.
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Descr, NpyAppendArray, type NpyChunk, NpyLockError, NpyStackWriter } from "../mod.ts";
import { FaultyFileSystem, type FileOp, pairRows } from "./_fault_util.ts";

/** What the crash children append: the dtype, the row shape and row i's values. */
export type RowKind = "i8" | "record" | "nested";

function say(line: string): void {
  // Node may make a piped stdout non-blocking: a full pipe (a busy parent) is EAGAIN, not an
  // error of the child; wait and write the rest.
  const bytes = new TextEncoder().encode(line + "\n");
  for (let done = 0; done < bytes.length;) {
    try {
      done += writeSync(1, bytes, done);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A small seeded PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chunkOf(kind: RowKind, start: number, rows: number): unknown {
  if (kind === "i8") {
    const out = new BigInt64Array(rows * 4);
    for (let r = 0; r < rows; r++) {
      const i = BigInt(start + r);
      for (let c = 0; c < 4; c++) out[r * 4 + c] = i * BigInt(c + 1);
    }
    return out;
  }
  if (kind === "record") {
    const out = [];
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      out.push({ i: BigInt(i), x: i * 0.5, s: String(i % 10000) });
    }
    return out;
  }
  const out = [];
  for (let r = 0; r < rows; r++) {
    const i = start + r;
    out.push([i, i + 0.25, -i]);
  }
  return out;
}

async function append(args: Record<string, unknown>): Promise<void> {
  const kind = args.kind as RowKind;
  const declared: { descr?: Descr; shape?: number[] } = kind === "i8"
    ? { descr: "<i8", shape: [4] }
    : kind === "record"
    ? { descr: [["i", "<i8"], ["x", "<f8"], ["s", "|S4"]], shape: [0] }
    : {}; // nested: the first chunk fixes <f8 rows of 3
  const bufferSize = (args.bufferSize as number | undefined) ?? 0;
  const w = NpyAppendArray.openSync(args.path as string, {
    ...declared,
    durability: args.durability as "none" | "close" | "append",
    onRecovery: "truncate",
    bufferSize,
  });
  say(`open ${w.rows}`);
  const rand = random(args.seed as number);
  const maxChunk = args.maxChunk as number, maxRows = args.maxRows as number;
  const pauseEvery = (args.pauseEvery as number | undefined) ?? 0;
  const batch = args.batch as number | undefined;
  const flushEvery = bufferSize > 0 ? (args.flushEvery as number | undefined) ?? 1 : 0;
  for (let n = 0; w.rows < maxRows; n++) {
    const rows = batch ?? 1 + Math.floor(rand() * maxChunk);
    const chunk = chunkOf(kind, w.rows, rows);
    if (args.api === "sync") w.appendSync(chunk as NpyChunk);
    else await w.append(chunk as NpyChunk);
    if (flushEvery === 0) {
      say(`ack ${w.rows}`);
    } else if (n % flushEvery === flushEvery - 1) {
      if (args.api === "sync") w.flushSync();
      else await w.flush();
      say(`ack ${w.rows}`);
    }
    if (pauseEvery > 0 && n % pauseEvery === 0) await sleep(1);
  }
  say("full");
  for (;;) await sleep(1000);
}

const stdinLines: string[] = [];
let stdinWaiter: (() => void) | undefined;
let stdinText = "";
let listening = false;

/** The next line on stdin (one listener for the whole run: no pause and resume). */
async function nextLine(): Promise<string> {
  if (!listening) {
    listening = true;
    process.stdin.on("data", (d: Uint8Array) => {
      stdinText += new TextDecoder().decode(d);
      const parts = stdinText.split("\n");
      stdinText = parts.pop()!;
      stdinLines.push(...parts);
      stdinWaiter?.();
    });
  }
  while (stdinLines.length === 0) {
    await new Promise<void>((resolve) => stdinWaiter = resolve);
  }
  stdinWaiter = undefined;
  return stdinLines.shift()!;
}

async function race(args: Record<string, unknown>): Promise<void> {
  say("ready");
  const at = Number(await nextLine());
  while (Date.now() < at) { /* spin: both children try at the same moment */ }
  let w: NpyAppendArray;
  try {
    w = NpyAppendArray.openSync(args.path as string, { descr: "<i8", shape: [1] });
  } catch (e) {
    if (!(e instanceof NpyLockError)) throw e;
    say(`lost ${e.holder?.pid}`);
    process.exit(0);
  }
  w.appendSync(BigInt64Array.of(BigInt(process.pid)));
  say(`won ${process.pid}`);
  await nextLine(); // hold the file until the parent has seen both answers
  w.closeSync();
  process.exit(0);
}

/** `Deno.exit(0)` or `process.exit(0)`. */
function exitNow(): never {
  const deno = (globalThis as { Deno?: { exit(code: number): never } }).Deno;
  if (deno !== undefined) deno.exit(0);
  process.exit(0);
}

/** Appends rows 0..9 and ends without close(), as `how` says. */
let kept: NpyAppendArray | undefined; // as a script's top-level writer: never collected

async function exitWithout(args: Record<string, unknown>): Promise<void> {
  const w = kept = await NpyAppendArray.open(args.path as string, {
    bufferSize: (args.bufferSize as number | undefined) ?? 0,
    flushInterval: args.flushInterval as number | undefined,
  });
  await w.append([[0n, 1n], [2n, 3n]]);
  w.appendSync(BigInt64Array.of(4n, 5n, 6n, 7n, 8n, 9n));
  await w.append([[10n, 11n], [12n, 13n], [14n, 15n], [16n, 17n], [18n, 19n]]);
  say("appended");
  void kept;
  if (args.how === "exit") exitNow();
  if (args.how === "throw") {
    setTimeout(() => {
      throw new Error("uncaught, on purpose");
    }, 0);
  }
  if (args.how === "reject") void Promise.reject(new Error("unhandled, on purpose"));
}

async function appendAndIdle(args: Record<string, unknown>): Promise<void> {
  const w = kept = await NpyAppendArray.open(args.path as string, {
    bufferSize: 1 << 20,
    rewriteHeaderOnAppend: false,
    flushInterval: args.flushInterval as number | undefined,
  });
  w.appendSync([[0n, 1n], [2n, 3n]]);
  await w.append(BigInt64Array.of(4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n));
  w.appendSync([[14n, 15n], [16n, 17n], [18n, 19n]]);
  say("appended");
  setInterval(() => {}, 1000); // alive until killed
}

/** A full garbage collection: Bun's own, else V8's (exposed at run time). */
function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) return bun.gc(true);
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

async function dropped(args: Record<string, unknown>): Promise<void> {
  const ref = (() => {
    const w = NpyAppendArray.openSync(args.path as string, {
      bufferSize: (args.bufferSize as number | undefined) ?? 0,
    });
    w.appendSync(BigInt64Array.from({ length: 20 }, (_, i) => BigInt(i)));
    return new WeakRef(w);
  })();
  await sleep(20);
  if (args.now) {
    // Collected, and at once (before its finalizer can run) exit or open the file again.
    for (let i = 0; i < 3; i++) collectGarbage();
  } else {
    for (let i = 0; i < 5; i++) {
      collectGarbage();
      await sleep(20);
    }
  }
  say(ref.deref() === undefined ? "collected" : "not collected");
  if (args.then === "exit") exitNow();
  if (args.then !== "reopen") return;
  const again = NpyAppendArray.openSync(args.path as string);
  again.appendSync(BigInt64Array.from({ length: 4 }, (_, i) => BigInt(20 + i)));
  again.closeSync();
  say("reopened");
}

async function openOnly(args: Record<string, unknown>): Promise<void> {
  // Held, so the collector never takes it (and its lock) while the parent waits to kill it.
  kept = NpyAppendArray.openSync(args.path as string, { mode: args.mode as "append" });
  say("open");
  for (;;) await sleep(1000);
}

let keptStack: NpyStackWriter | undefined; // as a script's top-level writer: never collected

/** Appends rows 0..249 to a new stack (shards of 100) and ends without close(). */
async function stackExit(args: Record<string, unknown>): Promise<void> {
  const w = keptStack = await NpyStackWriter.open(args.path as string, {
    descr: "<i8",
    shape: [2],
    shardRows: 100,
    bufferSize: (args.bufferSize as number | undefined) ?? 0,
  });
  w.appendSync(pairRows(0, 150));
  await w.append(pairRows(150, 240));
  void w.append(pairRows(240, 250)); // not awaited
  say("appended");
  void keptStack;
  if (args.how === "exit") exitNow();
}

/** Appends `batch`-row chunks to the stack at `path` (resumed, recovered) until killed. */
async function stackAppend(args: Record<string, unknown>): Promise<void> {
  const w = await NpyStackWriter.open(args.path as string, {
    descr: "<i8",
    shape: [2],
    shardRows: args.shardRows as number,
    onRecovery: "truncate",
  });
  say(`open ${w.rows}`);
  const batch = args.batch as number;
  for (let n = 0; w.rows < (args.maxRows as number); n++) {
    if (n % 2 === 0) w.appendSync(pairRows(w.rows, w.rows + batch));
    else await w.append(pairRows(w.rows, w.rows + batch));
    say(`ack ${w.rows}`);
  }
  say("full");
  for (;;) await sleep(1000);
}

/** Stops a stack writer at a known point of an append, for the parent to kill it there. */
async function stackCut(args: Record<string, unknown>): Promise<void> {
  const batch = args.batch as number;
  const w = NpyStackWriter.openSync(args.path as string, {
    descr: "<i8",
    shape: [2],
    shardRows: args.shardRows as number,
  });
  while (w.rows < (args.rows as number)) w.appendSync(pairRows(w.rows, w.rows + batch));
  say(`open ${w.rows}`);
  const { kind, name, nth } = args.stopAt as { kind: FileOp["kind"]; name: string; nth: number };
  let seen = 0;
  const layer = new FaultyFileSystem(() => true);
  layer.inject = (op) => {
    if (op.kind === kind && op.path.endsWith("/" + name) && ++seen === nth) {
      say("stopped");
      if (args.exit) exitNow();
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
    return undefined;
  };
  layer.install();
  await w.append(pairRows(w.rows, w.rows + batch));
  say("not stopped");
}

const args = JSON.parse(process.argv.at(-1) ?? "{}");
try {
  if (args.task === "append") await append(args);
  else if (args.task === "exit") await exitWithout(args);
  else if (args.task === "open") await openOnly(args);
  else if (args.task === "interval") await appendAndIdle(args);
  else if (args.task === "gc") await dropped(args);
  else if (args.task === "race") await race(args);
  else if (args.task === "stack-exit") await stackExit(args);
  else if (args.task === "stack-append") await stackAppend(args);
  else if (args.task === "stack-cut") await stackCut(args);
  else throw new Error(`unknown task ${args.task}`);
} catch (e) {
  const err = e as Error & { code?: string };
  say(`error ${JSON.stringify({ name: err.name, code: err.code, message: err.message })}`);
  process.exit(1);
}
