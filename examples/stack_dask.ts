/**
 * Past one machine: two producers each write a sharded stack, `mergeStacks` joins them
 * without copying data, and Dask computes on the result with `da.from_npy_stack`.
 *
 *   npx deno run -A examples/stack_dask.ts [out-dir]
 *   npx bun examples/stack_dask.ts [out-dir]
 *
 * NPY_STACK_ROWS sets the rows per producer (default 100 000). Dask comes from python3 (or
 * /usr/bin/python3, where Debian's python3-dask installs it); without Dask the shards are
 * checked with NumPy alone.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { mergeStacks, NpyStackReader, NpyStackWriter } from "../mod.ts";

const root = process.argv[2] ?? mkdtempSync(join(tmpdir(), "npy-stack-"));
const rows = Number(process.env.NPY_STACK_ROWS ?? 100_000);

// Each producer (one per machine, GPU or process) writes its own stack: rows of 4 float32
// values, a new shard every 16 384 rows (the default is 1 GiB per shard).
async function produce(name: string, first: number): Promise<string> {
  const dir = join(root, name);
  await using stack = await NpyStackWriter.open(dir, {
    mode: "overwrite",
    descr: "<f4",
    shape: [4],
    shardRows: 16_384,
  });
  for (let start = 0; start < rows; start += 5_000) {
    const n = Math.min(5_000, rows - start);
    const chunk = new Float32Array(n * 4);
    for (let i = 0; i < chunk.length; i++) chunk[i] = first + start * 4 + i;
    await stack.append(chunk); // chunks crossing a shard boundary are split
  }
  return dir;
}

const producers = [await produce("producer-0", 0), await produce("producer-1", 1e7)];

// One stack for the analysis: the producers' shards are hard-linked, not copied.
const merged = join(root, "merged");
rmSync(merged, { recursive: true, force: true }); // from an earlier run
const result = await mergeStacks(merged, producers);
console.log(
  `merged ${producers.length} stacks: ${result.rows} rows in ${result.shardRows.length} shards`,
);
{
  using reader = NpyStackReader.openSync(merged);
  const row = reader.readSync(rows - 1, rows + 1); // across the producers' boundary
  console.log(`rows ${rows - 1}..${rows}:`, [...(row.data as Float32Array)]);
}

// The Dask recipe (three lines): any worker that sees the directory computes on it.
const recipe = `
import dask.array as da
x = da.from_npy_stack(${JSON.stringify(merged)})
print("dask sees", x.shape, x.dtype, "in", x.numblocks[0], "chunks; column sums", x.sum(axis=0).compute().tolist())
assert x.shape == (${2 * rows}, 4) and float(x[-1, -1].compute()) == ${1e7 + rows * 4 - 1}
`;
const python = ["python3", "/usr/bin/python3"].find((p) =>
  spawnSync(p, ["-c", "import dask.array"]).status === 0
);
if (python !== undefined) {
  console.log(execFileSync(python, ["-c", recipe], { encoding: "utf8" }).trimEnd());
  console.log(`Dask verified ${2 * rows} rows of float32 from ${result.shardRows.length} shards`);
} else {
  const check = `
import numpy as np, sys
parts = [np.load("${merged}/%d.npy" % i, mmap_mode="r") for i in range(${result.shardRows.length})]
assert sum(len(p) for p in parts) == ${2 * rows} and parts[-1][-1, -1] == ${1e7 + rows * 4 - 1}
`;
  execFileSync("python3", ["-c", check]);
  console.log("NumPy verified the shards (install python3-dask to run the Dask recipe)");
}
