/**
 * Event-loop checks for one runtime, run in a child process of its own by bench/run.mjs:
 *
 * 1. Large appends leave the loop free: 512 MiB (128 MiB in quick mode) appended in 16 MiB
 *    chunks with `await w.append(chunk)`, while a `setInterval(…, 1)` probe records the
 *    longest gap between its ticks; interleaved, trial by trial (in alternating order, each
 *    file synced untimed before the next contender runs), with a raw `writeSync` loop of the
 *    same bytes (its gap is the whole loop: the control) for the throughput ratio.
 * 2. Visibility with `flushInterval`: a writer with `{ bufferSize: 1 MiB,
 *    rewriteHeaderOnAppend: false, flushInterval: 10 }` appends one row, then waits; a
 *    reader on a descriptor of its own polls the header every millisecond until it claims
 *    the row. The delay from `append()` resolving to the row being visible, over ≥ 20
 *    probes.
 *
 * Usage: deno run -A bench/loop.ts [--quick] [--out=FILE]; bun bench/loop.ts; node …/loop.js.
 *
 * @module
 */

import * as fs from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { NpyAppendArray, NpyReader } from "../mod.ts";
import { fillPattern, makeTempDir, progress, QUICK, runtimeInfo } from "./_harness.ts";

/** What the loop check prints (as JSON). */
export interface LoopOutput {
  runtime: ReturnType<typeof runtimeInfo>;
  large: {
    totalBytes: number;
    chunkBytes: number;
    trials: number;
    /** Per trial: the longest probe gap (ms) and the seconds taken. */
    writer: { gapMs: number; seconds: number }[];
    writeSync: { gapMs: number; seconds: number }[];
    /**
     * The runtime's own off-thread writes of the same bytes, in the writer's 4 MiB calls
     * (`fs.write`; under Deno a Deno handle, as lib/_deno_io.ts): the ceiling of any
     * library that leaves the event loop free.
     */
    asyncWrite: { gapMs: number; seconds: number }[];
  };
  visibility: {
    flushInterval: number;
    /** Per probe: ms from `append()` resolving to a reader seeing the row. */
    delaysMs: number[];
  };
}

const CHUNK = 16 << 20;
const TOTAL = QUICK ? 128 << 20 : 512 << 20;
const TRIALS = QUICK ? 3 : 15;
// This VM's first touches of fresh memory are slow at random (a trial of either contender
// takes 3-5 times as long): a warm-up pair runs first, untimed, and the median over many
// trials of the paired ratio is what counts.
const PROBES = QUICK ? 20 : 50;
const FLUSH_INTERVAL = 10;

/** Runs `work` with a 1 ms interval probe; the longest gap between ticks and the time. */
async function probed(work: () => Promise<void>): Promise<{ gapMs: number; seconds: number }> {
  let last = performance.now();
  let gapMs = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    gapMs = Math.max(gapMs, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 5)); // the probe is ticking
  const started = performance.now();
  last = started;
  await work();
  const seconds = (performance.now() - started) / 1000;
  gapMs = Math.max(gapMs, performance.now() - last);
  clearInterval(probe);
  return { gapMs, seconds };
}

async function large(dir: string): Promise<LoopOutput["large"]> {
  const chunk = new Float32Array(CHUNK / 4);
  fillPattern(chunk);
  const bytes = new Uint8Array(chunk.buffer);
  const path = join(dir, "large.npy");
  const writer: { gapMs: number; seconds: number }[] = [];
  const writeSync: { gapMs: number; seconds: number }[] = [];
  const append = () =>
    probed(async () => {
      const w = await NpyAppendArray.open(path, {
        mode: "overwrite",
        descr: "<f4",
        shape: [16],
        durability: "none",
      });
      for (let done = 0; done < TOTAL; done += CHUNK) await w.append(chunk);
      await w.close();
    });
  const rawLoop = () =>
    probed(() => {
      const fd = fs.openSync(path, "w");
      fs.writeSync(fd, new Uint8Array(128), 0, 128, 0);
      for (let done = 0; done < TOTAL; done += CHUNK) {
        fs.writeSync(fd, bytes, 0, bytes.length, 128 + done);
      }
      fs.closeSync(fd);
      return Promise.resolve();
    });
  const PIECE = 4 << 20;
  const deno = (globalThis as {
    Deno?: {
      openSync(p: string, o: { write: boolean }): {
        seekSync(at: number, whence: number): number;
        write(b: Uint8Array): Promise<number>;
        close(): void;
      };
    };
  }).Deno;
  const writePiece = (fd: number, piece: Uint8Array, at: number): Promise<number> => {
    if (deno === undefined) {
      return new Promise((resolve, reject) =>
        fs.write(fd, piece, 0, piece.length, at, (e, n) => e ? reject(e) : resolve(n))
      );
    }
    const handle = deno.openSync(`/proc/self/fd/${fd}`, { write: true });
    handle.seekSync(at, 0);
    return handle.write(piece).finally(() => handle.close());
  };
  const asyncLoop = () =>
    probed(async () => {
      const fd = fs.openSync(path, "w");
      fs.writeSync(fd, new Uint8Array(128), 0, 128, 0);
      for (let done = 0; done < TOTAL; done += CHUNK) {
        for (let at = 0; at < CHUNK;) {
          at += await writePiece(
            fd,
            bytes.subarray(at, Math.min(CHUNK, at + PIECE)),
            128 + done + at,
          );
        }
      }
      fs.closeSync(fd);
    });
  // Each contender starts from no file, and its file is synced (untimed) before the next
  // one runs: neither pays for freeing or writing back the other's 512 MiB of pages. The
  // order alternates from trial to trial.
  const run = async (contender: () => Promise<{ gapMs: number; seconds: number }>) => {
    fs.rmSync(path, { force: true });
    const result = await contender();
    if (fs.statSync(path).size !== 128 + TOTAL) throw new Error("Cannot accept: short file");
    return result;
  };
  const contenders = [append, rawLoop, asyncLoop];
  const NAMES = new Map([[append, "append"], [rawLoop, "writeSync"], [asyncLoop, "raw async"]]);
  for (const contender of contenders) await run(contender);
  const asyncWrite: { gapMs: number; seconds: number }[] = [];
  for (let t = 0; t < TRIALS; t++) {
    // Every order of the three comes round (a rotation per trial, reversed every third).
    const order = contenders.map((_, i) => contenders[(i + t) % 3] ?? append);
    if (Math.floor(t / 3) % 2 === 1) order.reverse();
    const results = new Map<typeof append, { gapMs: number; seconds: number }>();
    for (const contender of order) results.set(contender, await run(contender));
    const appended = results.get(append) ?? { gapMs: NaN, seconds: NaN };
    const written = results.get(rawLoop) ?? { gapMs: NaN, seconds: NaN };
    writer.push(appended);
    writeSync.push(written);
    asyncWrite.push(results.get(asyncLoop) ?? { gapMs: NaN, seconds: NaN });
    const raw = results.get(asyncLoop);
    progress(
      `  trial ${t + 1} (${order.map((c) => NAMES.get(c)).join(", ")}): append ` +
        `${appended.gapMs.toFixed(1)} ms gap, ${appended.seconds.toFixed(3)} s; writeSync ` +
        `${written.seconds.toFixed(3)} s; off-thread writes ${raw?.seconds.toFixed(3)} s`,
    );
  }
  fs.rmSync(path);
  return { totalBytes: TOTAL, chunkBytes: CHUNK, trials: TRIALS, writer, writeSync, asyncWrite };
}

async function visibility(dir: string): Promise<LoopOutput["visibility"]> {
  const path = join(dir, "visible.npy");
  const w = await NpyAppendArray.open(path, {
    descr: "<f4",
    shape: [16],
    bufferSize: 1 << 20,
    rewriteHeaderOnAppend: false,
    flushInterval: FLUSH_INTERVAL,
    durability: "none",
  });
  const reader = await NpyReader.open(path);
  const row = new Float32Array(16);
  const delaysMs: number[] = [];
  for (let p = 0; p < PROBES; p++) {
    await w.append(row);
    const appended = performance.now();
    const want = w.rows;
    while ((await reader.refresh()) < want) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (performance.now() - appended > 10_000) throw new Error("Cannot see the row in 10 s");
    }
    delaysMs.push(performance.now() - appended);
    // A random pause, so that appends fall at every phase of the flush timer.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 * FLUSH_INTERVAL));
  }
  await reader.close();
  await w.close();
  return { flushInterval: FLUSH_INTERVAL, delaysMs };
}

async function main(): Promise<void> {
  const info = runtimeInfo();
  progress(`loop checks: ${info.name} ${info.version}${QUICK ? ", quick" : ""}`);
  const { dir, cleanup } = makeTempDir();
  try {
    const out: LoopOutput = {
      runtime: info,
      large: await large(dir),
      visibility: await visibility(dir),
    };
    const max = Math.max(...out.visibility.delaysMs);
    progress(`  visibility: max ${max.toFixed(1)} ms over ${out.visibility.delaysMs.length}`);
    const arg = process.argv.find((a) => a.startsWith("--out="));
    const text = JSON.stringify(out);
    if (arg !== undefined) fs.writeFileSync(arg.slice(6), text);
    else process.stdout.write(text + "\n");
  } finally {
    cleanup();
  }
}

await main();
