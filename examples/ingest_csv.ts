/**
 * A CSV file too large for memory, streamed line by line into a structured `.npy` file:
 * each batch of parsed lines fills columns (typed arrays, reused), the record dtype's codec
 * packs them into one reused byte buffer, and the bytes are appended as they are — memory
 * holds one batch however long the CSV is. NumPy then opens the result
 * memory-mapped and checks every row against the CSV.
 *
 *   npx deno run -A examples/ingest_csv.ts [out.npy]
 *   npx bun examples/ingest_csv.ts [out.npy]
 *
 * The CSV is generated first, in a temp dir: `NPY_CSV_ROWS` lines (default 200000, about
 * 10 MB; try 50000000 for a 2.5 GB file). Without `out.npy` the result goes to the same temp
 * dir, which is removed at the end.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { defaultRegistry, type Descr, NpyAppendArray } from "../mod.ts";

const rows = Number(process.env.NPY_CSV_ROWS ?? 200_000);
const BATCH = 8192;
const dir = mkdtempSync(join(tmpdir(), "npy-csv-"));
const csvPath = join(dir, "readings.csv");
const path = process.argv[2] ?? join(dir, "readings.npy");

// NumPy's view of a row: np.dtype([("time", "<M8[ms]"), ("sensor", "S8"), ...]).
const DESCR: Descr = [
  ["time", "<M8[ms]"],
  ["sensor", "|S8"],
  ["temperature", "<f4"],
  ["humidity", "<f4"], // NaN where the CSV has no value
  ["ok", "|b1"],
];

// 1. A CSV written as a stream (as some other program would): never held in memory.
async function writeCsv(): Promise<void> {
  const out = createWriteStream(csvPath);
  const write = (text: string) =>
    out.write(text) ? undefined : new Promise<void>((resolve) => out.once("drain", resolve));
  await write("time,sensor,temperature,humidity,ok\n");
  const start = Date.UTC(2024, 0, 1);
  let lines = "";
  for (let i = 0; i < rows; i++) {
    const time = new Date(start + i * 250).toISOString().replace("Z", "");
    const temperature = (20 + 5 * Math.sin(i / 1000) + (i % 7) / 100).toFixed(2);
    const humidity = i % 97 === 0 ? "" : (40 + (i % 300) / 10).toFixed(1);
    lines += `${time},s-${String(i % 64).padStart(3, "0")},${temperature},${humidity},${
      i % 13 === 0 ? "false" : "true"
    }\n`;
    if (lines.length > 1 << 16) {
      await write(lines);
      lines = "";
    }
  }
  await write(lines);
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => e ? reject(e) : resolve())
  );
}

// 2. Line by line into the .npy file, one batch of columns at a time.
async function ingest(): Promise<number> {
  await using writer = await NpyAppendArray.open(path, {
    mode: "overwrite",
    descr: DESCR,
    shape: [], // 1-D: one record per row
  });
  let n = 0;
  const cols = {
    time: new BigInt64Array(BATCH), // M8[ms] ticks: milliseconds since the epoch
    sensor: new Array<string>(BATCH),
    temperature: new Float32Array(BATCH),
    humidity: new Float32Array(BATCH),
    ok: new Uint8Array(BATCH),
  };
  const dtype = defaultRegistry.resolve(DESCR); // the record codec: columns <-> bytes
  const bytes = new Uint8Array(BATCH * dtype.itemsize);
  const flush = async () => {
    if (n === 0) return;
    const data = {
      time: cols.time.subarray(0, n),
      sensor: cols.sensor.slice(0, n),
      temperature: cols.temperature.subarray(0, n),
      humidity: cols.humidity.subarray(0, n),
      ok: cols.ok.subarray(0, n),
    };
    const used = dtype.encodeInto(data, bytes);
    // Raw bytes of DESCR: written without another copy (awaited before the buffer is reused).
    await writer.append({ data: bytes.subarray(0, used), shape: [n], descr: DESCR });
    n = 0;
  };
  const lines = createInterface({ input: createReadStream(csvPath), crlfDelay: Infinity });
  let header = true;
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    if (line === "") continue;
    const fields = line.split(",");
    if (fields.length !== 5) {
      throw new Error(`Cannot ingest ${JSON.stringify(line)}: expected 5 comma-separated fields`);
    }
    const [time = "", sensor = "", temperature = "", humidity = "", ok = ""] = fields; // all 5 are there
    cols.time[n] = BigInt(Date.parse(time + "Z"));
    cols.sensor[n] = sensor;
    cols.temperature[n] = Number(temperature);
    cols.humidity[n] = humidity === "" ? NaN : Number(humidity);
    cols.ok[n] = ok === "true" ? 1 : 0;
    if (++n === BATCH) await flush();
  }
  await flush();
  return writer.rows;
}

await writeCsv();
const written = await ingest();
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(
  `ingested ${written} CSV lines (${mib(statSync(csvPath).size)} MiB) into ${path} ` +
    `(${mib(statSync(path).size)} MiB); rss ${mib(process.memoryUsage().rss)} MiB`,
);

// 3. NumPy reads the CSV on its own and compares every row.
const verdict = execFileSync("python3", [
  "-c",
  `import csv, sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
assert a.dtype.names == ("time", "sensor", "temperature", "humidity", "ok"), a.dtype
with open(sys.argv[2], newline="") as f:
    r = csv.reader(f)
    next(r)
    n = 0
    for block in iter(lambda: [row for _, row in zip(range(65536), r)], []):
        want = np.array([(np.datetime64(t, "ms"), s.encode(), np.float32(x),
                          np.float32(h) if h else np.float32("nan"), o == "true")
                         for t, s, x, h, o in block], dtype=a.dtype)
        got = a[n:n + len(want)]
        for name in a.dtype.names:
            assert np.array_equal(got[name], want[name], equal_nan=name == "humidity"), name
        n += len(want)
assert n == len(a), (n, len(a))
print("NumPy verified", len(a), "rows of", a.dtype, "; first", a[0])`,
  path,
  csvPath,
], { encoding: "utf8", maxBuffer: 1 << 24 });
console.log(verdict.trim());
rmSync(dir, { recursive: true });
