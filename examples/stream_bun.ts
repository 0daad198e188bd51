/**
 * Streams a `.npy` file larger than this process may hold in memory, then checks it with
 * NumPy. Run it with Bun's small-memory mode, or under a hard cap:
 *
 * ```sh
 * bun --smol examples/stream_bun.ts
 * (ulimit -v 1000000; NPY_STREAM_MB=2048 bun --smol examples/stream_bun.ts)
 * ```
 *
 * `NPY_STREAM_MB` sets the size (default 512 MiB); `NPY_STREAM_PATH` the file (default a temp
 * file, removed at the end). Appends go through the `writable` stream, with backpressure; the
 * writer writes each chunk without a copy, so memory stays flat however large the file grows.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { NpyAppendArray } from "../mod.ts";

const COLS = 64; // float32 values per row: 256 bytes
const ROWS_PER_CHUNK = 4096; // 1 MiB per append
const mib = Number(process.env.NPY_STREAM_MB ?? 512);
const chunks = Math.max(1, Math.round(mib));
const rows = chunks * ROWS_PER_CHUNK;
const ownPath = process.env.NPY_STREAM_PATH;
const tempDir = ownPath === undefined ? mkdtempSync(join(tmpdir(), "npy-stream-")) : undefined;
const path = ownPath ?? join(tempDir!, "stream.npy");

/** Chunks of rows: row `r`, column `c` holds `r + c / 64` (exact in float32). */
async function* generate(): AsyncGenerator<{ data: Float32Array; shape: number[] }> {
  for (let k = 0; k < chunks; k++) {
    // A fresh buffer per chunk: the stream may hold a few before they are written.
    const data = new Float32Array(ROWS_PER_CHUNK * COLS);
    for (let i = 0; i < ROWS_PER_CHUNK; i++) {
      const v = (k * ROWS_PER_CHUNK + i) % 131072;
      for (let c = 0; c < COLS; c++) data[i * COLS + c] = v + c / 64;
    }
    yield { data, shape: [ROWS_PER_CHUNK, COLS] };
  }
}

let peakRss = 0;
const started = performance.now();
const w = await NpyAppendArray.open(path, { mode: "overwrite", descr: "<f4", shape: [COLS] });
const timer = setInterval(() => peakRss = Math.max(peakRss, process.memoryUsage().rss), 20);
// ReadableStream.from + pipeTo: backpressure keeps at most a few chunks in memory. The
// stream closes the writer when it ends.
await ReadableStream.from(generate()).pipeTo(w.writable);
clearInterval(timer);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const seconds = (performance.now() - started) / 1000;
console.log(
  `wrote ${rows} rows (${mib} MiB) in ${seconds.toFixed(2)} s: ` +
    `${(mib / seconds).toFixed(0)} MiB/s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
);

// NumPy checks the shape and samples rows (memory-mapped: it does not read it all either).
const check = `
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
rows = int(sys.argv[2])
assert a.shape == (rows, 64) and a.dtype == np.float32, (a.shape, a.dtype)
for r in sorted({0, 1, rows // 3, rows // 2, rows - 1}):
    want = np.float32(r % 131072) + np.arange(64, dtype=np.float32) / np.float32(64)
    assert np.array_equal(a[r], want), (r, a[r][:4])
print("numpy ok", a.shape)
`;
const out = spawnSync("python3", ["-c", check, path, String(rows)], { encoding: "utf8" });
console.log((out.stdout + out.stderr).trim());
if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
if (out.status !== 0) process.exit(1);
