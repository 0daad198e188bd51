/**
 * NpyReader.refresh() sees rows that a writer in another process (a python3 child doing
 * what an appender does: write the rows, then rewrite the header in place) appended since
 * the reader opened the file — also while the writer is still going.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { NpyReader, saveNpySync } from "../mod.ts";
import { makeTempDir } from "./_util.ts";

// Appends rows [start, start + n) of 3 float32s, each row filled with its index, then
// rewrites the header in place at its old length (as an appender does); `mode` "data"
// stops after the rows (a writer between its two steps).
const PY_APPEND = `
import sys, time
import numpy as np
path, start, n, steps, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
for k in range(steps):
    with open(path, "r+b") as f:
        text_len = int.from_bytes(f.read(10)[8:10], "little")
        hl = 10 + text_len
        f.seek(0, 2)
        rows = (f.tell() - hl) // 12
        f.write(np.repeat(np.arange(rows, rows + n, dtype="<f4"), 3).tobytes())
        f.flush()
        if mode == "data":
            continue
        text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 3), }" % (rows + n)
        text = text + " " * (hl - 10 - len(text) - 1) + "\\n"
        f.seek(0)
        f.write(b"\\x93NUMPY\\x01\\x00" + (hl - 10).to_bytes(2, "little") + text.encode("latin1"))
    if steps > 1:
        time.sleep(0.002)
`;

function append(path: string, n: number, mode = "all"): void {
  const r = spawnSync("python3", ["-c", PY_APPEND, path, "0", String(n), "1", mode], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
}

function checkRows(data: Float32Array, start: number): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== start + Math.floor(i / 3)) {
      assert.fail(`row ${start + Math.floor(i / 3)} holds ${data[i]}`);
    }
  }
}

test("refresh() and refreshSync() see rows another process appended", async () => {
  const { dir, cleanup } = makeTempDir("npy-refresh-");
  try {
    const path = join(dir, "live.npy");
    saveNpySync(path, { data: new Float32Array([0, 0, 0, 1, 1, 1]), shape: [2, 3] });
    await using r = await NpyReader.open(path);
    assert.equal(r.rows, 2);
    append(path, 3);
    assert.equal(r.rows, 2, "the header is cached until refresh");
    assert.equal(await r.refresh(), 5);
    assert.deepEqual(r.shape, [5, 3]);
    checkRows((await r.read(0, 5)).data as Float32Array, 0);
    // The writer between its two steps: rows written, header not yet — still 5 rows.
    append(path, 2, "data");
    assert.equal(r.refreshSync(), 5);
    checkRows(r.readSync(3, 5).data as Float32Array, 3);
    // NumPy agrees at this moment (data longer than the shape is accepted).
    const np = spawnSync("python3", [
      "-c",
      "import sys, numpy as np; print(np.load(sys.argv[1], mmap_mode='r').shape)",
      path,
    ], { encoding: "utf8" });
    assert.equal(np.stdout.trim(), "(5, 3)");
  } finally {
    cleanup();
  }
});

test("a reader polling refresh() while another process appends always sees whole rows", async () => {
  const { dir, cleanup } = makeTempDir("npy-refresh-");
  try {
    const path = join(dir, "live.npy");
    saveNpySync(path, { data: new Float32Array(3), shape: [1, 3] });
    await using r = await NpyReader.open(path);
    const child = spawn("python3", ["-c", PY_APPEND, path, "0", "7", "150", "all"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let done = false;
    void exited.then(() => (done = true));
    let polls = 0, last = 1;
    while (!done) {
      const rows = await r.refresh();
      assert.ok(rows >= last, "rows never go back");
      last = rows;
      if (rows > 1) {
        checkRows(
          (await r.read(Math.max(0, rows - 20), rows)).data as Float32Array,
          Math.max(0, rows - 20),
        );
      }
      polls++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(await exited, 0, stderr);
    assert.equal(await r.refresh(), 1 + 7 * 150);
    checkRows((await r.read()).data as Float32Array, 0);
    assert.ok(polls > 3, `${polls} polls`);
  } finally {
    cleanup();
  }
});
