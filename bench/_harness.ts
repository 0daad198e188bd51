/**
 * The benchmark harness shared by the suites: runtime detection, buffer warming, and trials
 * that interleave contenders (A B C, then B C A, …) through tinybench, so that drift on a
 * shared 2-core VM hits every contender alike. Runs unchanged under Deno, Bun and Node.
 *
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Bench } from "tinybench";

/** The JavaScript runtime running the benchmark. */
export interface RuntimeInfo {
  /** `"deno"`, `"bun"` or `"node"`. */
  name: "deno" | "bun" | "node";
  /** The runtime's version, e.g. `"2.9.6"`. */
  version: string;
  /** The JS engine and its version, e.g. `"V8 15.0.245.2"` or `"JavaScriptCore"`. */
  engine: string;
}

interface RuntimeGlobals {
  Deno?: { version: { deno: string; v8: string } };
  Bun?: { version: string; revision?: string; gc?: (force: boolean) => void };
  gc?: () => void;
}

const G = globalThis as unknown as RuntimeGlobals;

/** Which runtime this is, with versions. */
export function runtimeInfo(): RuntimeInfo {
  if (G.Deno !== undefined) {
    return { name: "deno", version: G.Deno.version.deno, engine: `V8 ${G.Deno.version.v8}` };
  }
  if (G.Bun !== undefined) {
    return { name: "bun", version: G.Bun.version, engine: "JavaScriptCore" };
  }
  return { name: "node", version: process.versions.node, engine: `V8 ${process.versions.v8}` };
}

/** Runs a full garbage collection when the runtime exposes one (else does nothing). */
export function collectGarbage(): void {
  if (G.Bun?.gc !== undefined) G.Bun.gc(true);
  else if (typeof G.gc === "function") G.gc();
}

/** `BENCH_QUICK=1` or `--quick`: a smoke run that takes well under a minute. */
export const QUICK: boolean = process.env.BENCH_QUICK === "1" ||
  process.argv.includes("--quick");

/** Fills `view` with the byte pattern `i % 251` (also what the NumPy baseline writes). */
export function fillPattern(view: ArrayBufferView): void {
  const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < u8.length; i++) u8[i] = i % 251;
}

/**
 * Writes every page of `view` (keeping its contents), so that its memory is resident and
 * warm: this VM hands idle memory back to the host, and the first write to such memory is
 * about 10x slower.
 */
export function touch(view: ArrayBufferView): void {
  const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let sum = 0;
  for (let i = 0; i < u8.length; i += 4096) {
    const v = u8[i] ?? 0;
    u8[i] = v ^ 0xff;
    sum += u8[i] ?? 0;
    u8[i] = v;
  }
  if (sum < 0) throw new Error("unreachable");
}

/** A fresh temp directory (under `BENCH_DIR` when set) and a function that removes it. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "npy-bench-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One contender of a comparison: timed by calls of {@link Contender.call}. */
export interface Contender {
  /** Unique within its group. */
  readonly name: string;
  /** Operations (appends, reads) one call performs. */
  readonly opsPerCall: number;
  /** Payload bytes one operation moves. */
  readonly bytesPerOp: number;
  /** Whether `call` returns a promise to await (inside the timed window). */
  readonly async: boolean;
  /** Opens files and warms buffers: before each phase, outside the timing. */
  before(): void | Promise<void>;
  /** The timed work. */
  call(): void | Promise<void>;
  /** Checks the phase's output (`ops` operations were done) and cleans up; untimed. */
  after(ops: number): void | Promise<void>;
  /**
   * A contender timed elsewhere (NumPy in a python3 child): runs one trial of `ms`
   * milliseconds and returns operations per second; the other members are then unused.
   */
  external?(ms: number): Promise<number>;
}

/** Timing settings of {@link interleave}. */
export interface TrialOptions {
  /** Trials per contender. */
  trials: number;
  /** Timed milliseconds per contender and trial. */
  time: number;
  /** Warmup milliseconds per contender and trial (its samples are discarded). */
  warmupTime: number;
}

/** The default timing (shorter in quick mode); `BENCH_TRIALS` and `BENCH_TIME` override it. */
export const TRIALS: TrialOptions = {
  ...(QUICK ? { trials: 2, time: 30, warmupTime: 10 } : { trials: 7, time: 150, warmupTime: 30 }),
  ...(process.env.BENCH_TRIALS ? { trials: Number(process.env.BENCH_TRIALS) } : {}),
  ...(process.env.BENCH_TIME ? { time: Number(process.env.BENCH_TIME) } : {}),
};

/**
 * Runs `contenders` for `trials` trials each, interleaved (trial t starts at contender
 * t mod n), each trial a tinybench run with its own warmup. Returns operations per second
 * per trial, by contender name, in trial order (so trial i of two contenders are adjacent
 * in time and can be paired).
 */
export async function interleave(
  contenders: readonly Contender[],
  options: TrialOptions = TRIALS,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const n = contenders.length;
  for (let t = 0; t < options.trials; t++) {
    for (let k = 0; k < n; k++) {
      const c = contenders[(t + k) % n] as Contender; // the index is taken modulo the length
      const rate = c.external ? await c.external(options.time) : await trial(c, options);
      out.get(c.name)!.push(rate);
    }
  }
  return out;
}

async function trial(c: Contender, options: TrialOptions): Promise<number> {
  let calls = 0;
  const bench = new Bench({
    name: c.name,
    time: options.time,
    iterations: 4,
    warmupTime: options.warmupTime,
    warmupIterations: 2,
    timestampProvider: "auto",
    throws: true,
  });
  const fn = c.async
    ? () => {
      calls++;
      return c.call() as Promise<void>;
    }
    : () => {
      calls++;
      c.call();
    };
  bench.add(c.name, fn, {
    async: c.async,
    beforeAll: async () => {
      calls = 0;
      await c.before();
    },
    afterAll: async () => {
      await c.after(calls * c.opsPerCall);
    },
  });
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result === undefined) throw new Error(`Cannot measure "${c.name}": tinybench ran no task`);
  if (result.state !== "completed") {
    const why = result.state === "errored" ? `: ${result.error.message}` : "";
    throw new Error(`Cannot measure "${c.name}": the task ended ${result.state}${why}`, {
      cause: result.state === "errored" ? result.error : undefined,
    });
  }
  return (c.opsPerCall * 1000) / result.period;
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const at = (i: number) => s[i] ?? NaN; // an empty list has no median
  return s.length % 2 ? at(m) : (at(m - 1) + at(m)) / 2;
}

/** Prints a progress line on stderr (stdout stays free for results). */
export function progress(line: string): void {
  process.stderr.write(line + "\n");
}
