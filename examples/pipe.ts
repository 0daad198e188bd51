/**
 * A `ReadableStream` piped into `writer.writable`: an 8-channel ADC delivers chunks of raw
 * `int16` samples, a `TransformStream` converts them to volts (`float32`), and `pipeTo`
 * appends every chunk to a `.npy` file. Backpressure flows back through the pipe: the source
 * is pulled only as fast as the file is written, so memory stays flat. Closing the stream
 * closes the writer; NumPy then checks every value.
 *
 *   npx deno run -A examples/pipe.ts [out.npy]
 *   npx bun examples/pipe.ts [out.npy]
 *
 * `NPY_PIPE_ROWS` sets the number of samples per channel (default 200000); without
 * `out.npy` the file goes to a temp dir that is removed at the end.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { NpyAppendArray } from "../mod.ts";

const CHANNELS = 8;
const ROWS_PER_CHUNK = 4096;
const VOLTS_PER_COUNT = 5 / 2048; // a ±5 V, 12-bit converter
const rows = Number(process.env.NPY_PIPE_ROWS ?? 200_000);
const tempDir = process.argv[2] ? undefined : mkdtempSync(join(tmpdir(), "npy-pipe-"));
const path = process.argv[2] ?? join(tempDir!, "adc.npy");

/** Sample `r` of channel `c`: a deterministic 12-bit count NumPy can recompute. */
function count(r: number, c: number): number {
  return ((r * 31 + c * 7) % 4096) - 2048;
}

// The source: chunks of interleaved int16 samples, produced on demand (pull).
let produced = 0;
const adc = new ReadableStream<Int16Array>({
  pull(controller) {
    if (produced >= rows) return controller.close();
    const n = Math.min(ROWS_PER_CHUNK, rows - produced);
    const chunk = new Int16Array(n * CHANNELS);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < CHANNELS; c++) chunk[i * CHANNELS + c] = count(produced + i, c);
    }
    produced += n;
    controller.enqueue(chunk);
  },
}, { highWaterMark: 2 });

// Counts to volts, as rows of CHANNELS float32 values (an ndarray-like chunk).
const toVolts = new TransformStream<Int16Array, { data: Float32Array; shape: number[] }>({
  transform(samples, controller) {
    const volts = Float32Array.from(samples, (count) => count * VOLTS_PER_COUNT);
    controller.enqueue({ data: volts, shape: [samples.length / CHANNELS, CHANNELS] });
  },
});

const writer = await NpyAppendArray.open(path, { mode: "overwrite" });
await adc.pipeThrough(toVolts).pipeTo(writer.writable); // closes the writer at the end
console.log(`piped ${writer.rows} rows of ${CHANNELS} channels into ${path}`);

const verdict = execFileSync("python3", [
  "-c",
  `import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
rows = int(sys.argv[2])
r = np.arange(rows)[:, None]
c = np.arange(${CHANNELS})[None, :]
want = (((r * 31 + c * 7) % 4096) - 2048) * (5 / 2048)
assert a.dtype == np.float32 and a.shape == (rows, ${CHANNELS}), (a.dtype, a.shape)
assert np.array_equal(a, want.astype(np.float32))
print("NumPy verified", a.shape, a.dtype, "min", a.min(), "max", a.max())`,
  path,
  String(rows),
], { encoding: "utf8" });
console.log(verdict.trim());
if (tempDir) rmSync(tempDir, { recursive: true });
