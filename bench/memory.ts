/**
 * Memory checks for one runtime, run in a child process of its own by bench/run.mjs:
 *
 * 1. Zero-copy: appending a native TypedArray must not copy it. A large Float32Array
 *    (256 MiB; 32 MiB in quick mode) is appended 8 times (4 async, 4 sync); a copy per
 *    append would raise the peak RSS (`VmHWM`, reset first) and `arrayBuffers` by the chunk
 *    size. The same is measured for a raw `writeSync` loop (the runtime's own behaviour).
 * 2. Flat RSS: append a file of `--size` bytes (default 4 GiB; 256 MiB in quick mode) in
 *    1 MiB chunks with the header rewritten each time, sampling the RSS; the file is in a
 *    temp dir and deleted after.
 * 3. Reading in flat memory: the same file read back through `chunks()`, with fresh
 *    buffers and with `reuse: true`; peak RSS over the start.
 *
 * Usage: deno run -A --v8-flags=--expose-gc bench/memory.ts [--quick] [--size=BYTES]
 *        [--out=FILE]; node --expose-gc …/memory.js; bun bench/memory.ts.
 *
 * @module
 */

import * as fs from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { NpyAppendArray, NpyReader, parseHeader, peekHeaderLength } from "../mod.ts";
import {
  collectGarbage,
  fillPattern,
  makeTempDir,
  progress,
  QUICK,
  runtimeInfo,
  touch,
} from "./_harness.ts";

/** Memory figures, in bytes. */
export interface MemorySample {
  rss: number;
  /** Peak RSS since the last reset (`VmHWM`); `undefined` where /proc is missing. */
  hwm: number | undefined;
  arrayBuffers: number;
  heapUsed: number;
}

/** What the memory check prints (as JSON). */
export interface MemoryOutput {
  runtime: ReturnType<typeof runtimeInfo>;
  zeroCopy: {
    chunkBytes: number;
    appends: number;
    /** Peak-RSS growth and arrayBuffers growth over the appends, per contender. */
    writer: { hwmDelta: number | undefined; arrayBuffersDelta: number };
    writeSync: { hwmDelta: number | undefined; arrayBuffersDelta: number };
    /** Control: the writer given `chunk.slice()` (one deliberate copy per append). */
    copyControl: { hwmDelta: number | undefined; arrayBuffersDelta: number };
    hwmResettable: boolean;
  };
  flat: {
    bytes: number;
    chunkBytes: number;
    seconds: number;
    start: MemorySample;
    /** The largest RSS sampled during the appends (every 16 appends). */
    rssMax: number;
    end: MemorySample;
  };
  /**
   * The same file read back whole through `chunks()` (16 MiB chunks), with fresh buffers and
   * with `reuse: true`: peak RSS (`VmHWM`, reset first) over the RSS at the start.
   */
  reading: {
    bytes: number;
    fresh: { hwmDelta: number | undefined; seconds: number };
    reuse: { hwmDelta: number | undefined; seconds: number };
  };
}

const args = process.argv.slice(2);
const outArg = args.find((a) => a.startsWith("--out="))?.slice(6);
const sizeArg = args.find((a) => a.startsWith("--size="))?.slice(7);
const SIZE = sizeArg !== undefined ? Number(sizeArg) : QUICK ? 256 << 20 : 4 * 2 ** 30;
const ZC_BYTES = QUICK ? 32 << 20 : 256 << 20;
const CHUNK_BYTES = 1 << 20;

function status(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of fs.readFileSync("/proc/self/status", "utf8").split("\n")) {
      const m = /^(Vm\w+):\s+(\d+) kB/.exec(line);
      if (m?.[1] !== undefined) out[m[1]] = Number(m[2]) * 1024;
    }
  } catch {
    // not Linux: rss from the runtime only
  }
  return out;
}

function sample(): MemorySample {
  const s = status();
  const mu = process.memoryUsage();
  return {
    rss: s.VmRSS ?? mu.rss,
    hwm: s.VmHWM,
    arrayBuffers: mu.arrayBuffers ?? 0,
    heapUsed: mu.heapUsed,
  };
}

/** Resets the peak RSS (`VmHWM`) to the current RSS; false when the kernel refuses. */
function resetPeak(): boolean {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function checkRows(path: string, rows: number, rowBytes: number): void {
  const fd = fs.openSync(path, "r");
  try {
    const prefix = new Uint8Array(4096);
    const got = fs.readSync(fd, prefix, 0, prefix.length, 0);
    const length = peekHeaderLength(prefix.subarray(0, got));
    const header = parseHeader(prefix.subarray(0, length));
    const size = fs.fstatSync(fd).size;
    if (header.shape[0] !== rows || size !== length + rows * rowBytes) {
      throw new Error(
        `Cannot accept "${path}": header shape (${header.shape}) and ${size} bytes; ` +
          `expected ${rows} rows`,
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}

const MiB = 2 ** 20;
const mib = (n: number | undefined) => n === undefined ? "n/a" : `${(n / MiB).toFixed(1)} MiB`;
/** A signed change in MiB: `+1.5 MiB`, `-0.3 MiB`, `+0.0 MiB` for less than 0.05 MiB. */
const deltaMib = (n: number | undefined) =>
  n === undefined ? "n/a" : `${n <= -0.05 * 2 ** 20 ? "-" : "+"}${mib(Math.abs(n))}`;

async function zeroCopy(dir: string): Promise<MemoryOutput["zeroCopy"]> {
  const path = join(dir, "zero-copy.npy");
  const chunk = new Float32Array(ZC_BYTES / 4);
  fillPattern(chunk);
  const rows = chunk.length / 16;
  const appends = 8;
  const measure = async (work: () => Promise<void>) => {
    touch(chunk);
    collectGarbage();
    const resettable = resetPeak();
    const before = sample();
    await work();
    const after = sample();
    return {
      resettable,
      hwmDelta: before.hwm === undefined || after.hwm === undefined
        ? undefined
        : after.hwm - before.hwm,
      arrayBuffersDelta: after.arrayBuffers - before.arrayBuffers,
    };
  };
  let w: NpyAppendArray | undefined = NpyAppendArray.openSync(path, {
    mode: "overwrite",
    descr: "<f4",
    shape: [0, 16],
    durability: "none",
  });
  const writer = await measure(async () => {
    for (let i = 0; i < appends / 2; i++) await w!.append(chunk);
    for (let i = 0; i < appends / 2; i++) w!.appendSync(chunk);
  });
  w.closeSync();
  w = undefined;
  checkRows(path, rows * appends, 64);
  fs.rmSync(path);
  const fd = fs.openSync(path, "w");
  const raw = await measure(() => {
    for (let i = 0; i < appends; i++) fs.writeSync(fd, chunk);
    return Promise.resolve();
  });
  const size = fs.fstatSync(fd).size;
  fs.closeSync(fd);
  fs.rmSync(path);
  if (size !== appends * ZC_BYTES) throw new Error("Cannot accept the writeSync loop: short");
  // Control: does the measurement see a copy? Append a fresh copy each time.
  w = NpyAppendArray.openSync(path, {
    mode: "overwrite",
    descr: "<f4",
    shape: [0, 16],
    durability: "none",
  });
  const control = await measure(async () => {
    for (let i = 0; i < appends; i++) await w!.append(chunk.slice());
  });
  w.closeSync();
  w = undefined;
  checkRows(path, rows * appends, 64);
  fs.rmSync(path);
  progress(
    `  zero-copy, ${appends} appends of ${mib(ZC_BYTES)}: writer peak RSS ${
      deltaMib(writer.hwmDelta)
    }, arrayBuffers ${deltaMib(writer.arrayBuffersDelta)}; writeSync loop peak RSS ${
      deltaMib(raw.hwmDelta)
    }, arrayBuffers ${deltaMib(raw.arrayBuffersDelta)}; control (a copy per append) peak RSS ${
      deltaMib(control.hwmDelta)
    }`,
  );
  return {
    chunkBytes: ZC_BYTES,
    appends,
    writer: { hwmDelta: writer.hwmDelta, arrayBuffersDelta: writer.arrayBuffersDelta },
    writeSync: { hwmDelta: raw.hwmDelta, arrayBuffersDelta: raw.arrayBuffersDelta },
    copyControl: { hwmDelta: control.hwmDelta, arrayBuffersDelta: control.arrayBuffersDelta },
    hwmResettable: writer.resettable,
  };
}

async function flat(dir: string): Promise<MemoryOutput["flat"]> {
  const path = join(dir, "big.npy");
  const chunk = new Float32Array(CHUNK_BYTES / 4);
  fillPattern(chunk);
  const rows = chunk.length / 16;
  const appends = Math.ceil(SIZE / CHUNK_BYTES);
  collectGarbage();
  resetPeak();
  const start = sample();
  let rssMax = start.rss;
  const t0 = performance.now();
  {
    await using w = await NpyAppendArray.open(path, {
      mode: "overwrite",
      descr: "<f4",
      shape: [0, 16],
      durability: "none",
    });
    for (let i = 0; i < appends; i++) {
      await w.append(chunk);
      if ((i & 15) === 15) {
        const rss = status().VmRSS ?? process.memoryUsage().rss;
        if (rss > rssMax) rssMax = rss;
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const end = sample();
  checkRows(path, rows * appends, 64);
  progress(
    `  ${mib(appends * CHUNK_BYTES)} in ${appends} appends of 1 MiB (${
      (appends * CHUNK_BYTES / MiB / seconds).toFixed(0)
    } MiB/s): RSS ${mib(start.rss)} at start, max sampled ${mib(rssMax)}, peak (VmHWM) ${
      mib(end.hwm)
    }, ${mib(end.rss)} at end`,
  );
  return { bytes: appends * CHUNK_BYTES, chunkBytes: CHUNK_BYTES, seconds, start, rssMax, end };
}

/** Reads the file at `path` whole through `chunks()`, fresh buffers then reused ones. */
async function reading(path: string): Promise<MemoryOutput["reading"]> {
  const read = async (reuse: boolean) => {
    collectGarbage();
    resetPeak();
    const before = sample();
    const t0 = performance.now();
    let bytes = 0;
    {
      await using r = await NpyReader.open(path);
      for await (const chunk of r.chunks({ reuse })) {
        bytes += (chunk.data as Float32Array).byteLength;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = sample();
    const hwmDelta = before.hwm === undefined || after.hwm === undefined
      ? undefined
      : after.hwm - before.rss;
    progress(
      `  read back ${mib(bytes)} through chunks(${reuse ? "{ reuse: true }" : ""}): peak RSS ${
        deltaMib(hwmDelta)
      } over the start, ${(bytes / MiB / seconds).toFixed(0)} MiB/s`,
    );
    return { bytes, hwmDelta, seconds };
  };
  const fresh = await read(false);
  const reuse = await read(true);
  return {
    bytes: fresh.bytes,
    fresh: { hwmDelta: fresh.hwmDelta, seconds: fresh.seconds },
    reuse: { hwmDelta: reuse.hwmDelta, seconds: reuse.seconds },
  };
}

async function main(): Promise<void> {
  const info = runtimeInfo();
  progress(`memory: ${info.name} ${info.version}${QUICK ? ", quick" : ""}`);
  const { dir, cleanup } = makeTempDir();
  let out: MemoryOutput;
  try {
    const zc = await zeroCopy(dir);
    collectGarbage();
    const appended = await flat(dir);
    const read = await reading(join(dir, "big.npy"));
    fs.rmSync(join(dir, "big.npy"));
    out = { runtime: info, zeroCopy: zc, flat: appended, reading: read };
  } finally {
    cleanup();
  }
  const text = JSON.stringify(out);
  if (outArg !== undefined) fs.writeFileSync(outArg, text);
  else process.stdout.write(text + "\n");
}

await main();
