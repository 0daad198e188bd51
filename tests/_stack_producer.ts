/**
 * A producer process for the stack tests, run by deno or bun. One JSON argument:
 *
 * - `{ task: "copy", input, out, shardRows, seed }`: reads the `.npy` file `input` (written
 *   by NumPy) and appends its rows to a new stack in `out`, in chunks of 1..2·shardRows
 *   rows (so chunks cross shard boundaries), alternating `append` and `appendSync`; prints
 *   `done <rows> <shards>`.
 * - `{ task: "forever", out, shardRows }`: appends rows `[i, 2i, 3i]` (`<i8`) one chunk of
 *   3 rows at a time; prints `ack <rows>` after each append returned, and idles past 10 000
 *   rows. The parent kills it.
 *
 * Lines go out with a synchronous write to fd 1.
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { NpyReader, NpyStackWriter } from "../mod.ts";

function say(line: string): void {
  writeSync(1, line + "\n");
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

const job = JSON.parse(process.argv.at(-1) ?? "{}");
if (job.task === "copy") {
  using reader = NpyReader.openSync(job.input);
  const rowShape = reader.shape.slice(1);
  const next = random(job.seed);
  const w = await NpyStackWriter.open(job.out, {
    mode: "create",
    descr: reader.descr,
    shape: rowShape,
    shardRows: job.shardRows,
  });
  let sync = false;
  for (let s = 0; s < reader.rows;) {
    const n = Math.min(reader.rows - s, 1 + Math.floor(next() * 2 * job.shardRows));
    const bytes = reader.readBytesSync(s, s + n);
    const chunk = {
      data: new DataView(bytes.buffer),
      shape: [n, ...rowShape],
      descr: reader.descr,
    };
    if (sync) w.appendSync(chunk);
    else await w.append(chunk);
    sync = !sync;
    s += n;
  }
  await w.close();
  say(`done ${w.rows} ${w.shardRows.length}`);
} else if (job.task === "forever") {
  const w = NpyStackWriter.openSync(job.out, {
    mode: "create",
    descr: "<i8",
    shape: [3],
    shardRows: job.shardRows,
  });
  for (let i = 0;; i += 3) {
    if (i >= 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    const chunk = new BigInt64Array(9);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) chunk[r * 3 + c] = BigInt((i + r) * (c + 1));
    }
    await w.append(chunk);
    say(`ack ${i + 3}`);
  }
} else {
  say(`error unknown task ${JSON.stringify(job.task)}`);
  process.exit(1);
}
