/**
 * `flushInterval`: buffered rows and the header land within the interval without another
 * append, so a NumPy reader in another process sees them and a kill -9 keeps them; the timer
 * never keeps a process alive. Real child processes in every runtime at hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NpyAppendArray } from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import { Child, childCommand, LIMIT, type Runtime } from "./_fault_util.ts";

const RUNTIMES: Runtime[] = ["deno", "bun", "node"];

function available(): Runtime[] {
  const out = RUNTIMES.filter((r) => childCommand(r) !== undefined);
  const missing = RUNTIMES.filter((r) => !out.includes(r));
  if (missing.length > 0) console.log(`flushInterval tests: no ${missing.join(", ")} child here`);
  return out;
}

/** The rows NumPy sees in `path`: a count, or the error as text. */
function numpyRows(path: string): number | string {
  return runPython(
    `
p = json.load(sys.stdin)
try:
    print(json.dumps(int(np.load(p, mmap_mode="r").shape[0])))
except Exception as ex:
    print(json.dumps(f"{type(ex).__name__}: {ex}"))
`,
    path,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("flushInterval writes buffered rows and the header without another append", async () => {
  const { dir, cleanup } = makeTempDir("npy-interval-");
  try {
    const path = join(dir, "a.npy");
    await using w = await NpyAppendArray.open(path, {
      descr: "<f4",
      shape: [0, 16],
      bufferSize: 1 << 20,
      rewriteHeaderOnAppend: false,
      flushInterval: 20,
    });
    await w.append(new Float32Array(16 * 3));
    assert.equal(numpyRows(path), 0, "buffered: not in the file yet");
    let seen: number | string = 0;
    for (let waited = 0; waited < 5000 && seen !== 3; waited += 50) {
      await sleep(50);
      seen = numpyRows(path);
    }
    assert.equal(seen, 3, "NumPy sees the rows without another append or a flush()");
    // Another append arms the timer again.
    await w.append(new Float32Array(16));
    for (let waited = 0; waited < 5000 && seen !== 4; waited += 50) {
      await sleep(50);
      seen = numpyRows(path);
    }
    assert.equal(seen, 4);
  } finally {
    cleanup();
  }
});

test(
  "flushInterval: a writer killed with -9 after the interval keeps its rows; without it, not",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-interval-");
    try {
      for (const runtime of available()) {
        for (const flushInterval of [25, undefined]) {
          const path = join(dir, `${runtime}-${flushInterval ?? "none"}.npy`);
          const child = new Child(runtime, { task: "interval", path, flushInterval });
          await child.waitFor("appended");
          await sleep(1000); // 40 intervals: far more than the timer needs
          const live = numpyRows(path);
          child.process.kill("SIGKILL");
          await child.exited;
          const label = `${runtime}, flushInterval ${flushInterval}`;
          if (flushInterval !== undefined) {
            assert.equal(live, 10, `${label}: a reader sees every row while the writer lives`);
            assert.equal(numpyRows(path), 10, `${label}: kill -9 keeps the flushed rows`);
          } else {
            // The control: nothing flushes the buffer, so a kill loses what it held.
            assert.notEqual(live, 10, `${label}: rows reached the file without a flush`);
            assert.ok(!existsSync(path) || numpyRows(path) !== 10, label);
          }
        }
      }
    } finally {
      cleanup();
    }
  },
);

test(
  "flushInterval does not keep a process alive: a program ends at once, its rows land",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-interval-");
    try {
      for (const runtime of available()) {
        const path = join(dir, `${runtime}.npy`);
        const started = Date.now();
        // A 10-minute interval: a timer that held the process would hold it for that long.
        const child = new Child(runtime, {
          task: "exit",
          path,
          how: "end",
          bufferSize: 4096,
          flushInterval: 600_000,
        });
        const code = await child.exited;
        assert.equal(code, 0, `${runtime}: ${child.stderr}`);
        assert.ok(Date.now() - started < 60_000, `${runtime} ended on its own`);
        assert.equal(numpyRows(path), 10, `${runtime}: the exit hook wrote every row`);
        assert.equal(existsSync(path + ".lock"), false);
      }
    } finally {
      cleanup();
    }
  },
);

test("flushInterval must be a positive number of milliseconds", () => {
  const { dir, cleanup } = makeTempDir("npy-interval-");
  try {
    for (const bad of [0, -5, "10", Infinity, NaN]) {
      assert.throws(
        () => NpyAppendArray.openSync(join(dir, "x.npy"), { flushInterval: bad as number }),
        /options\.flushInterval is .* \(expected a number of milliseconds, above 0\)/,
      );
    }
    assert.equal(existsSync(join(dir, "x.npy")), false);
  } finally {
    cleanup();
  }
});
