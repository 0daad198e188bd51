/**
 * Programs that end without `close()`, and writers killed right after `open`, with real child
 * processes in every runtime at hand (deno and bun from node_modules, node on the build in
 * dist/tests): the rows and header land, the lock file goes, the path never holds a 0-byte
 * file. NumPy checks every file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { NpyAppendArray } from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import { Child, childCommand, LIMIT, type Runtime } from "./_fault_util.ts";

const RUNTIMES: Runtime[] = ["deno", "bun", "node"];

/** The runtimes that can run the child here (node needs the tsc build). */
function available(): Runtime[] {
  const out = RUNTIMES.filter((r) => childCommand(r) !== undefined);
  const missing = RUNTIMES.filter((r) => !out.includes(r));
  if (missing.length > 0) console.log(`exit tests: no ${missing.join(", ")} child here, skipped`);
  return out;
}

/** What NumPy sees in each file: its shape and values, or the error. */
function numpyRead(paths: string[]): Array<{ shape: number[]; values: number[] } | string> {
  return runPython(
    `
out = []
for p in json.load(sys.stdin):
    try:
        a = np.load(p, mmap_mode="r")
        out.append({"shape": list(a.shape), "values": [int(v) for v in a.reshape(-1)]})
    except Exception as ex:
        out.append(f"{type(ex).__name__}: {ex}")
print(json.dumps(out))
`,
    paths,
  );
}

const ROWS_0_TO_9 = { shape: [10, 2], values: Array.from({ length: 20 }, (_, i) => i) };

test(
  "a program that ends without close() (falls off the end, exit(0), an uncaught error or rejection) leaves its rows, its header and no lock, in every runtime",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-exit-");
    try {
      const cases: Array<{ path: string; label: string; stderr: string }> = [];
      for (const runtime of available()) {
        for (const how of ["end", "exit", "throw", "reject"] as const) {
          for (const bufferSize of [0, 4096]) {
            const path = join(dir, `${runtime}-${how}-${bufferSize}.npy`);
            const child = new Child(runtime, { task: "exit", path, how, bufferSize });
            const code = await child.exited;
            const label = `${runtime}, ${how}, bufferSize ${bufferSize}`;
            assert.ok(child.lines.includes("appended"), `${label}: ${child.lines} ${child.stderr}`);
            const fatal = how === "throw" || how === "reject";
            assert.equal(code, fatal ? 1 : 0, `${label}: exit code ${child.stderr}`);
            if (fatal) assert.match(child.stderr, /(uncaught|unhandled), on purpose/, label);
            assert.equal(existsSync(path + ".lock"), false, `${label}: the lock file is left`);
            cases.push({ path, label, stderr: child.stderr });
          }
        }
      }
      const read = numpyRead(cases.map((c) => c.path));
      for (const [i, c] of cases.entries()) {
        assert.deepEqual(
          read[i],
          ROWS_0_TO_9,
          `${c.label}: NumPy reads ${JSON.stringify(read[i])}`,
        );
        assert.doesNotMatch(c.stderr, /garbage-collected/, c.label);
      }
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "temp files left");
    } finally {
      cleanup();
    }
  },
);

/**
 * What NumPy sees in each stack: its listed shards (stack.json) joined, as `<i8` rows of 2,
 * and whether they are rows 0, 1, … (row i = (2i, 2i + 1)); or the error.
 */
function numpyStacks(dirs: string[]): Array<{ shards: number[]; rows: number } | string> {
  return runPython(
    `
out = []
for d in json.load(sys.stdin):
    try:
        shards = json.load(open(d + "/stack.json"))["shards"]
        a = np.concatenate([np.load(f"{d}/{i}.npy", mmap_mode="r") for i in range(len(shards))])
        n = a.shape[0]
        ok = a.dtype == np.dtype("<i8") and a.shape == (n, 2) and (a.reshape(-1) == np.arange(2 * n)).all()
        sizes = [np.load(f"{d}/{i}.npy", mmap_mode="r").shape[0] for i in range(len(shards))]
        out.append({"shards": shards, "rows": n} if ok and sizes == shards else f"not the rows listed: {a.dtype} {a.shape} {sizes}")
    except Exception as ex:
        out.append(f"{type(ex).__name__}: {ex}")
print(json.dumps(out))
`,
    dirs,
  );
}

test(
  "a stack writer the program ends without close() (end, exit(0), with and without a buffer) lists its last shard and removes its lock, in every runtime",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-exit-");
    try {
      const dirs: string[] = [];
      for (const runtime of available()) {
        for (const how of ["end", "exit"] as const) {
          for (const bufferSize of [0, 4096]) {
            const path = join(dir, `${runtime}-${how}-${bufferSize}`);
            const label = `${runtime}, ${how}, bufferSize ${bufferSize}`;
            const child = new Child(runtime, { task: "stack-exit", path, how, bufferSize });
            assert.equal(await child.exited, 0, `${label}: ${child.stderr}`);
            assert.ok(child.lines.includes("appended"), `${label}: ${child.lines} ${child.stderr}`);
            assert.equal(child.stderr, "", label);
            assert.equal(existsSync(join(path, "stack.lock")), false, `${label}: stack.lock left`);
            dirs.push(path);
          }
        }
      }
      const read = numpyStacks(dirs);
      for (const [i, path] of dirs.entries()) {
        assert.deepEqual(read[i], { shards: [100, 100, 50], rows: 250 }, path);
      }
    } finally {
      cleanup();
    }
  },
);

test(
  "a writer garbage-collected without close() gets a one-line warning naming its file; one with buffered rows is kept and flushed at exit",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-gc-");
    try {
      for (const runtime of available()) {
        const plain = join(dir, `${runtime}-plain.npy`);
        const child = new Child(runtime, { task: "gc", path: plain });
        assert.equal(await child.exited, 0, child.stderr);
        assert.ok(child.lines.includes("collected"), `${runtime}: ${child.lines} ${child.stderr}`);
        const warnings = child.stderr.split("\n").filter((l) => l.includes("garbage-collected"));
        assert.equal(warnings.length, 1, `${runtime}: ${child.stderr}`);
        assert.ok(warnings[0]?.includes(JSON.stringify(plain)), warnings[0]);
        assert.equal(
          existsSync(plain + ".lock"),
          false,
          `${runtime}: its lock is released at exit`,
        );

        const buffered = join(dir, `${runtime}-buffered.npy`);
        const again = new Child(runtime, { task: "gc", path: buffered, bufferSize: 1 << 16 });
        assert.equal(await again.exited, 0, again.stderr);
        assert.ok(again.lines.includes("not collected"), `${runtime}: pinned while dirty`);
        assert.doesNotMatch(again.stderr, /garbage-collected/, `${runtime}: pinned while dirty`);
        assert.equal(existsSync(buffered + ".lock"), false);
        const read = numpyRead([plain, buffered]);
        const rows = { shape: [20], values: Array.from({ length: 20 }, (_, i) => i) };
        assert.deepEqual(read, [rows, rows], runtime);
      }
    } finally {
      cleanup();
    }
  },
);

test(
  "a writer collected just before exit, or before the program opens its file again, is seen at once: one warning naming the file, its lock released, the file opens again",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-gc-race-");
    try {
      const cases = [
        { then: "exit", now: true }, // exit before the finalizer could run
        { then: "reopen", now: true }, // open again before the finalizer could run
        { then: "reopen", now: false }, // open again after it ran
      ];
      const paths: string[] = [];
      for (const runtime of available()) {
        for (const { then, now } of cases) {
          const path = join(dir, `${runtime}-${then}-${now}.npy`);
          const label = `${runtime}, ${then}${now ? " at once" : " later"}`;
          const child = new Child(runtime, { task: "gc", path, then, now });
          assert.equal(await child.exited, 0, `${label}: ${child.stderr}`);
          assert.equal(child.lines[0], "collected", `${label}: ${child.lines} ${child.stderr}`);
          if (then === "reopen") assert.equal(child.lines[1], "reopened", label);
          const warnings = child.stderr.split("\n").filter((l) => l.includes("garbage-collected"));
          assert.equal(warnings.length, 1, `${label}: ${child.stderr}`);
          assert.ok(warnings[0]?.includes(JSON.stringify(path)), `${label}: ${warnings[0]}`);
          assert.equal(existsSync(path + ".lock"), false, `${label}: the lock file is left`);
          paths.push(path);
        }
      }
      const rows = (n: number) => ({ shape: [n], values: Array.from({ length: n }, (_, i) => i) });
      assert.deepEqual(
        numpyRead(paths),
        paths.map((p) => rows(p.includes("-exit-") ? 20 : 24)),
      );
    } finally {
      cleanup();
    }
  },
);

test(
  "kill -9 right after open (no descr): a new path gets no file, an existing file stays byte-identical, never 0 bytes",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-open-kill-");
    try {
      for (const runtime of available()) {
        const existing = join(dir, `${runtime}-old.npy`);
        {
          using w = NpyAppendArray.openSync(existing);
          w.appendSync([[0n, 1n], [2n, 3n]]);
        }
        const before = readFileSync(existing);
        const fresh = join(dir, `${runtime}-new.npy`);
        const fresh2 = join(dir, `${runtime}-new2.npy`);
        const cases = [
          { path: existing, mode: "overwrite" },
          { path: fresh, mode: "overwrite" },
          { path: fresh2, mode: "append" },
          { path: join(dir, `${runtime}-new3.npy`), mode: "create" },
        ];
        for (const { path, mode } of cases) {
          const child = new Child(runtime, { task: "open", path, mode });
          const line = await child.waitFor("open");
          assert.equal(line, "open", `${runtime} ${mode}: ${child.stderr}`);
          await child.kill();
          const label = `${runtime}, mode ${mode}, ${path === existing ? "existing" : "new"} file`;
          if (path === existing) {
            assert.deepEqual(readFileSync(path), before, `${label}: changed`);
          } else {
            assert.equal(existsSync(path), false, `${label}: a file was made before any header`);
          }
          // The next writer takes the lock over, and the temp file the killed one left.
          const w = NpyAppendArray.openSync(path, { mode: "append" });
          w.appendSync([[4n, 5n]]);
          w.closeSync();
          assert.ok(statSync(path).size > 0);
        }
        const read = numpyRead([existing, fresh, fresh2]);
        assert.deepEqual(read, [
          { shape: [3, 2], values: [0, 1, 2, 3, 4, 5] },
          { shape: [1, 2], values: [4, 5] },
          { shape: [1, 2], values: [4, 5] },
        ]);
      }
      const left = readdirSync(dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock"));
      assert.deepEqual(left, [], "temp or lock files left");
    } finally {
      cleanup();
    }
  },
);

test('mode "overwrite" replaces the old file only once the new one has a header; closing before any append keeps the old file', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "o.npy");
    {
      using w = NpyAppendArray.openSync(path);
      w.appendSync(Float32Array.of(1, 2, 3));
    }
    const before = readFileSync(path);
    const w = NpyAppendArray.openSync(path, { mode: "overwrite" });
    assert.deepEqual(readFileSync(path), before, "replaced at open");
    w.closeSync();
    assert.deepEqual(readFileSync(path), before, "replaced by a writer that appended nothing");
    const v = NpyAppendArray.openSync(path, { mode: "overwrite" });
    v.appendSync([[7, 8]]);
    assert.deepEqual(numpyRead([path]), [{ shape: [1, 2], values: [7, 8] }]);
    v.closeSync();
    // Declared dtype and shape: the new file, with 0 rows, replaces the old one at open.
    const u = NpyAppendArray.openSync(path, { mode: "overwrite", descr: "<i8", shape: [3] });
    assert.deepEqual(numpyRead([path]), [{ shape: [0, 3], values: [] }]);
    u.closeSync();
    assert.deepEqual(readdirSync(dir), ["o.npy"]);
    // Through a symlink: the file it points at is replaced, the link stays a link.
    const link = join(dir, "link.npy");
    symlinkSync(path, link);
    const t = NpyAppendArray.openSync(link, { mode: "overwrite" });
    t.appendSync(Int16Array.of(5, 6, 7));
    t.closeSync();
    assert.equal(lstatSync(link).isSymbolicLink(), true);
    assert.deepEqual(numpyRead([path]), [{ shape: [3], values: [5, 6, 7] }]);
    assert.deepEqual(readdirSync(dir).sort(), ["link.npy", "o.npy"]);
  } finally {
    cleanup();
  }
});

test("a file another process makes at a new writer's path before its first header is left as it is", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "race.npy");
    const w = NpyAppendArray.openSync(path, { mode: "create" });
    writeFileSync(path, "theirs");
    assert.throws(() => w.appendSync(Float64Array.of(1)), (e: Error & { code?: string }) => {
      assert.equal(e.code, "EEXIST");
      assert.match(e.message, /^Cannot create ".*race\.npy": another process made a file there/);
      return true;
    });
    w.closeSync();
    assert.equal(readFileSync(path, "utf8"), "theirs");
    assert.deepEqual(readdirSync(dir), ["race.npy"], "no temp or lock file left");
  } finally {
    cleanup();
  }
});
