/**
 * Sharded stacks against real Dask (Debian's python3-dask and python3-distributed; see
 * tests/_dask_util.ts): producers in Deno and Bun processes write stacks that mergeStacks
 * joins and a dask.distributed LocalCluster with two worker processes computes on; stacks
 * Dask's to_npy_stack wrote read through NpyStackReader; a producer killed with SIGKILL
 * mid-shard leaves a stack from_npy_stack loads. Dask missing is a failure, not a skip.
 * The producer, cluster and kill tests spawn Deno and Bun producers whatever runtime runs
 * this file, so they run once per suite, under Deno (one LocalCluster start); Bun and Node
 * run the reader test, which exercises NpyStackReader in their runtime.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  mergeStacksSync,
  NpyShapeError,
  NpyStackReader,
  NpyStackWriter,
  recoverStackSync,
} from "../mod.ts";
import { makeTempDir, present, ROOT } from "./_util.ts";
import { daskPython, runDask, runDaskScript } from "./_dask_util.ts";

/** Python starts take seconds on a loaded machine (bun's default test timeout is 5 s). */
const SLOW = { timeout: 120_000 };

const runtime = (globalThis as { Deno?: unknown }).Deno
  ? "deno"
  : (globalThis as { Bun?: unknown }).Bun
  ? "bun"
  : "node";
/** The tests that spawn producers and a cluster run under Deno only (see above). */
const ONCE = runtime === "deno";

const PRODUCER = join(ROOT, "tests", "_stack_producer.ts");
const CLUSTER = join(ROOT, "tests", "_dask_cluster.py");

function runtimeCommand(which: "deno" | "bun"): [string, string[]] {
  const bin = join(ROOT, "node_modules", ".bin", which);
  assert.ok(existsSync(bin), `${bin} is missing (npm ci installs it)`);
  return [bin, which === "deno" ? ["run", "-A", PRODUCER] : [PRODUCER]];
}

function produce(which: "deno" | "bun", job: Record<string, unknown>): string {
  const [cmd, args] = runtimeCommand(which);
  const r = spawnSync(cmd, [...args, JSON.stringify(job)], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, `${which} producer: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** What the Dask cluster script reports for one stack. */
interface DaskResult {
  shape: number[];
  dtype: string;
  expected_shape: number[];
  numblocks: number[];
  equal: boolean;
  meta_equal: boolean;
  reduction: [number, number] | null;
  task_pids: number[];
}

test("Dask and distributed are importable (python3-dask, python3-distributed)", SLOW, () => {
  const python = daskPython();
  const versions = runDask<string[]>(
    "import distributed\nprint(json.dumps([dask.__version__, distributed.__version__]))",
  );
  assert.equal(versions.length, 2, python);
});

if (!ONCE) {
  test(`the cluster and SIGKILL tests run once per suite, under deno, not ${runtime}`, SLOW, () => {
    assert.ok(existsSync(join(ROOT, "node_modules", ".bin", "deno")), "deno runs them");
  });
}

if (ONCE) {
  test(
    "two producers (Deno and Bun) write stacks, mergeStacks joins them, and a LocalCluster " +
      "with two worker processes computes on from_npy_stack of the result: equal to " +
      "np.concatenate of what they wrote",
    { timeout: 240_000 },
    () => {
      const { dir, cleanup } = makeTempDir("npy-stack-dask-");
      try {
        // What the producers write comes from NumPy: floats (n, 3, 2) and records.
        runDask(
          `
d = json.load(sys.stdin)
rng = np.random.default_rng(7)
rec = np.dtype([("t", "<M8[ms]"), ("id", "<i4"), ("xy", "<f8", (2,)), ("tag", "S4")])
for name, n in [("a_f", 1000), ("b_f", 777)]:
    np.save(d + "/" + name + ".npy", rng.standard_normal((n, 3, 2)).astype("<f4"))
for name, n in [("a_r", 300), ("b_r", 251)]:
    r = np.zeros(n, rec)
    r["t"] = np.datetime64("2024-01-01T00:00", "ms") + rng.integers(0, 10**9, n).astype("m8[ms]")
    r["id"] = rng.integers(-2**31, 2**31 - 1, n)
    r["xy"] = rng.standard_normal((n, 2))
    r["tag"] = [b"t%03d" % (i % 1000) for i in range(n)]
    np.save(d + "/" + name + ".npy", r)
al = np.dtype([("a", "u1"), ("b", "<f8"), ("c", [("x", "u1"), ("y", "<i4")])], align=True)
aligned = np.zeros(90, al)
aligned["a"] = np.arange(90) % 256
aligned["b"] = np.arange(90) / 8
aligned["c"]["y"] = -np.arange(90)
np.save(d + "/aligned.npy", aligned)
print("null")
`,
          dir,
        );
        const jobs: Array<[runtime: "deno" | "bun", name: string, shardRows: number]> = [
          ["deno", "a_f", 128],
          ["bun", "b_f", 100],
          ["bun", "a_r", 64],
          ["deno", "b_r", 50],
          ["bun", "aligned", 40],
        ];
        for (const [runtime, name, shardRows] of jobs) {
          const out = produce(runtime, {
            task: "copy",
            input: join(dir, `${name}.npy`),
            out: join(dir, `stack_${name}`),
            shardRows,
            seed: shardRows,
          });
          const rows = { a_f: 1000, b_f: 777, a_r: 300, b_r: 251, aligned: 90 }[name]!;
          assert.match(out, new RegExp(`done ${rows} ${Math.ceil(rows / shardRows)}\\n`));
        }
        const floats = mergeStacksSync(join(dir, "merged_f"), [
          join(dir, "stack_a_f"),
          join(dir, "stack_b_f"),
        ]);
        assert.equal(floats.rows, 1777);
        assert.equal(floats.shardRows.length, 8 + 8);
        const records = mergeStacksSync(join(dir, "merged_r"), [
          join(dir, "stack_a_r"),
          join(dir, "stack_b_r"),
        ]);
        assert.deepEqual(records.shardRows, [64, 64, 64, 64, 44, 50, 50, 50, 50, 50, 1]);
        // Hard links: the merged shard is the producer's file, no copy.
        assert.equal(
          statSync(join(dir, "merged_f", "9.npy")).ino,
          statSync(join(dir, "stack_b_f", "1.npy")).ino,
        );
        // A Fortran-order stack (stacked along its last axis) goes to the cluster too.
        {
          using w = NpyStackWriter.openSync(join(dir, "fortran"), {
            descr: "<i4",
            shape: [2, 3],
            fortranOrder: true,
            shardRows: 4,
          });
          const data = new Int32Array(2 * 3 * 10).map((_, i) => i);
          w.appendSync({ data, shape: [2, 3, 10], fortranOrder: true });
        }
        runDask(
          `d = json.load(sys.stdin)
np.save(d + "/fortran_expected.npy", np.asfortranarray(np.arange(60, dtype="<i4").reshape((2, 3, 10), order="F")))
print("null")`,
          dir,
        );
        const jobsFile = join(dir, "jobs.json");
        writeFileSync(
          jobsFile,
          JSON.stringify([
            {
              stack: join(dir, "merged_f"),
              expected: [join(dir, "a_f.npy"), join(dir, "b_f.npy")],
            },
            {
              stack: join(dir, "merged_r"),
              expected: [join(dir, "a_r.npy"), join(dir, "b_r.npy")],
            },
            { stack: join(dir, "fortran"), expected: [join(dir, "fortran_expected.npy")], axis: 2 },
            { stack: join(dir, "stack_aligned"), expected: [join(dir, "aligned.npy")] },
          ]),
        );
        const started = performance.now();
        const report = runDaskScript<{
          workers: number;
          worker_pids: number[];
          client_pid: number;
          startup_seconds: number;
          results: Array<DaskResult>;
        }>(CLUSTER, [jobsFile]);
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(
          `LocalCluster run: ${seconds.toFixed(1)} s (startup ${
            report.startup_seconds.toFixed(1)
          } s)\n`,
        );
        assert.equal(report.workers, 2);
        assert.equal(new Set(report.worker_pids).size, 2);
        assert.ok(!report.worker_pids.includes(report.client_pid));
        const [f, r, fo, al] = ["floats", "records", "fortran", "aligned"].map((name, i) =>
          present(report.results[i], `the ${name} result`)
        ) as [DaskResult, DaskResult, DaskResult, DaskResult]; // each one present()-checked
        assert.deepEqual(f.shape, [1777, 3, 2]);
        assert.deepEqual(f.numblocks, [16, 1, 1]);
        assert.equal(f.dtype, "float32");
        assert.ok(f.equal, "merged floats differ from np.concatenate of the inputs");
        assert.ok(f.reduction !== null && Math.abs(f.reduction[0] - f.reduction[1]) < 1e-2);
        assert.deepEqual(r.shape, [551]);
        assert.deepEqual(r.numblocks, [11]);
        assert.ok(r.equal, "merged records differ from np.concatenate of the inputs");
        assert.deepEqual(fo.shape, [2, 3, 10]);
        assert.deepEqual(fo.numblocks, [1, 1, 3]);
        assert.ok(fo.equal, "the Fortran-order stack differs from NumPy's array");
        assert.deepEqual(al.numblocks, [3]);
        assert.ok(al.equal, "the aligned-record stack differs from NumPy's array");
        for (const result of report.results) {
          assert.ok(
            result.meta_equal,
            `Dask's dtype from info is not the shards' (${result.dtype})`,
          );
        }
        for (const result of report.results) {
          assert.ok(result.task_pids.length > 0);
          for (const pid of result.task_pids) {
            assert.ok(report.worker_pids.includes(pid), "a chunk was loaded outside the workers");
          }
        }
      } finally {
        cleanup();
      }
    },
  );
}

test(
  "stacks Dask's to_npy_stack wrote read right through NpyStackReader and merge with ours",
  SLOW,
  () => {
    const { dir, cleanup } = makeTempDir("npy-stack-dask-");
    try {
      const expected = runDask<{ records: Array<[number, number[], string]> }>(
        `
d = json.load(sys.stdin)
x = da.from_array(np.arange(40 * 3, dtype=">i8").reshape(40, 3), chunks=(7, 3))
da.to_npy_stack(d + "/floats", x)
rec = np.zeros(23, [("id", "<u2"), ("v", "<f4", (2,)), ("s", "U3")])
rec["id"] = np.arange(23)
rec["v"] = np.arange(46).reshape(23, 2) / 4
rec["s"] = [str(i) for i in range(23)]
da.to_npy_stack(d + "/records", da.from_array(rec, chunks=5))
da.to_npy_stack(d + "/axis1", da.from_array(np.zeros((4, 6)), chunks=(4, 2)), axis=1)
print(json.dumps({"records": [[int(r["id"]), r["v"].tolist(), str(r["s"])] for r in rec]}))
`,
        dir,
      );
      {
        using r = NpyStackReader.openSync(join(dir, "floats"));
        assert.equal(r.source, "dask");
        assert.equal(r.descr, ">i8");
        assert.deepEqual(r.shape, [40, 3]);
        assert.deepEqual(r.shardRows, [7, 7, 7, 7, 7, 5]);
        for (const [s, e] of [[0, 40], [5, 30], [13, 14], [35, 40], [20, 20]] as const) {
          const part = r.readSync(s, e);
          assert.deepEqual(part.shape, [e - s, 3]);
          const want = Array.from({ length: (e - s) * 3 }, (_, i) => BigInt(s * 3 + i));
          assert.deepEqual([...(part.data as BigInt64Array)], want, `rows [${s}, ${e})`);
        }
        assert.deepEqual([...r.chunksSync()].map((c) => c.shape[0]), [7, 7, 7, 7, 7, 5]);
      }
      {
        using r = NpyStackReader.openSync(join(dir, "records"));
        assert.deepEqual(r.shardRows, [5, 5, 5, 5, 3]);
        const rows = r.readSync(3, 21).data as Array<{ id: number; v: Float32Array; s: string }>;
        assert.deepEqual(
          rows.map((x) => [x.id, [...x.v], x.s]),
          expected.records.slice(3, 21),
        );
      }
      assert.throws(
        () => NpyStackReader.openSync(join(dir, "axis1")),
        (e) => e instanceof NpyShapeError && /along axis 1/.test(e.message),
      );
      // A Dask stack merges with one of ours; Dask reads the result.
      {
        using w = NpyStackWriter.openSync(join(dir, "ours"), { descr: ">i8", shape: [3] });
        w.appendSync([[-1, -2, -3]]);
      }
      mergeStacksSync(join(dir, "both"), [join(dir, "floats"), join(dir, "ours")]);
      const both = runDask<{ shape: number[]; last: number[]; ok: boolean }>(
        `d = json.load(sys.stdin)
x = da.from_npy_stack(d + "/both").compute(scheduler="synchronous")
print(json.dumps({"shape": list(x.shape), "last": x[-1].tolist(),
  "ok": bool((x[:40] == np.arange(120).reshape(40, 3)).all())}))`,
        dir,
      );
      assert.deepEqual(both, { shape: [41, 3], last: [-1, -2, -3], ok: true });
    } finally {
      cleanup();
    }
  },
);

/** Starts a producer that appends forever; resolves once it acknowledged `rows`. */
function startForever(
  which: "deno" | "bun",
  out: string,
  rows: number,
): Promise<{ kill: () => Promise<void>; acked: () => number }> {
  const [cmd, args] = runtimeCommand(which);
  const child = spawn(cmd, [...args, JSON.stringify({ task: "forever", out, shardRows: 50 })], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let acked = 0;
  let text = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      text += d;
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const line of lines) {
        const m = /^ack (\d+)$/.exec(line);
        if (m) acked = Number(m[1]);
        else reject(new Error(`producer said ${line}\n${stderr}`));
      }
      if (acked >= rows) {
        resolve({
          kill: () => {
            child.kill("SIGKILL");
            return exited;
          },
          acked: () => acked,
        });
      }
    });
    child.on("exit", (code) => reject(new Error(`producer exited (${code}) early:\n${stderr}`)));
  });
}

for (const producer of ONCE ? (["deno", "bun"] as const) : []) {
  test(
    `a ${producer} producer killed with SIGKILL mid-shard leaves a stack from_npy_stack loads, ` +
      "holding every closed shard; recoverStack adopts the open one: whole 3-row appends, " +
      "which cross the 50-row shards",
    { timeout: 120_000 },
    async () => {
      const { dir, cleanup } = makeTempDir("npy-stack-kill-");
      try {
        const out = join(dir, "stack");
        const child = await startForever(producer, out, 201);
        await child.kill();
        const acked = child.acked();
        const listed = JSON.parse(readFileSync(join(out, "stack.json"), "utf8")).shards as number[];
        assert.ok(listed.length >= Math.floor(acked / 50), `${listed.length} shards listed`);
        assert.ok(listed.every((n) => n === 50));
        const code = `d = json.load(sys.stdin)
x = da.from_npy_stack(d)
a = x.compute(scheduler="synchronous")
i = np.arange(a.shape[0], dtype="<i8")
print(json.dumps({"shape": list(a.shape), "chunks": list(x.chunks[0]),
  "ok": bool((a == i[:, None] * np.array([1, 2, 3])).all())}))`;
        const loaded = runDask<{ shape: number[]; chunks: number[]; ok: boolean }>(code, out);
        // Dask reads `info`; `stack.json` is replaced just after it, so a kill between the two
        // renames leaves it one listing behind (recovery lists both again, below).
        const daskShards = loaded.chunks.length;
        assert.ok(
          daskShards === listed.length || daskShards === listed.length + 1,
          `info lists ${daskShards} shards, stack.json ${listed.length}`,
        );
        assert.ok(loaded.chunks.every((n) => n === 50));
        assert.deepEqual(loaded.shape, [daskShards * 50, 3]);
        assert.ok(loaded.ok, "a closed shard holds wrong values");
        // The open shard is there, unlisted (and the next one, killed in an append across
        // them); recovery adopts it, an append across shards cut by the kill undone.
        using reader = NpyStackReader.openSync(out);
        assert.equal(reader.unlistedShards[0], listed.length);
        reader.closeSync();
        const result = recoverStackSync(out);
        assert.equal(result.adopted[0], listed.length);
        assert.ok(
          result.rows >= acked,
          `${result.rows} rows after recovery, ${acked} acknowledged`,
        );
        assert.equal(result.rows % 3, 0, `${result.rows} rows: part of an append`);
        const recovered = runDask<{ shape: number[]; chunks: number[]; ok: boolean }>(code, out);
        assert.equal(recovered.shape[0], result.rows);
        assert.ok(recovered.ok, "the adopted shard holds wrong values");
      } finally {
        cleanup();
      }
    },
  );
}
