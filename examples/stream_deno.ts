/**
 * Streams a `.npy` file larger than this process may hold in memory, then checks it with
 * NumPy. Run it under a small heap, e.g.:
 *
 * ```sh
 * deno run -A --v8-flags=--max-old-space-size=64 examples/stream_deno.ts
 * NPY_STREAM_MB=8 deno run -A --v8-flags=--max-old-space-size=64 examples/stream_deno.ts
 * ```
 *
 * `NPY_STREAM_MB` sets the size (default 512 MiB); `NPY_STREAM_PATH` the file (default a temp
 * file, removed at the end). The writer reuses one chunk buffer and writes it without a copy,
 * so memory stays flat however large the file grows.
 *
 * @module
 */
import { NpyAppendArray } from "@npy/append-array";

const COLS = 64; // float32 values per row: 256 bytes
const ROWS_PER_CHUNK = 4096; // 1 MiB per append
const mib = Number(Deno.env.get("NPY_STREAM_MB") ?? 512);
const chunks = Math.max(1, Math.round(mib));
const rows = chunks * ROWS_PER_CHUNK;
const ownPath = Deno.env.get("NPY_STREAM_PATH");
const path = ownPath ?? await Deno.makeTempFile({ suffix: ".npy" });

/** Row `r`, column `c` holds `r + c / 64` (exact in float32 up to 2^17 rows). */
function fill(chunk: Float32Array, firstRow: number): void {
  for (let i = 0; i < ROWS_PER_CHUNK; i++) {
    const v = (firstRow + i) % 131072;
    for (let c = 0; c < COLS; c++) chunk[i * COLS + c] = v + c / 64;
  }
}

const chunk = new Float32Array(ROWS_PER_CHUNK * COLS);
let peakRss = 0;
const started = performance.now();
{
  await using w = await NpyAppendArray.open(path, {
    mode: "overwrite",
    descr: "<f4",
    shape: [COLS],
  });
  for (let k = 0; k < chunks; k++) {
    fill(chunk, k * ROWS_PER_CHUNK);
    await w.append(chunk);
    if (k % 16 === 0) peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  }
}
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
const out = await new Deno.Command("python3", { args: ["-c", check, path, String(rows)] })
  .output();
const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
console.log(text.trim());
if (ownPath === undefined) await Deno.remove(path);
if (!out.success) Deno.exit(1);
