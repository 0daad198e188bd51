/**
 * One writer per file across processes and runtimes: the `<path>.lock` file, a second
 * writer's NpyLockError naming the holder, a lock left by a killed process taken over.
 * Children run the current runtime (deno, bun or node on the build), and for the cross-
 * runtime case another runtime from node_modules/.bin.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { NpyAppendArray, NpyLockError, parseHeader } from "../mod.ts";
import { makeTempDir, ROOT, runPython } from "./_util.ts";
import {
  checkWithNumpy,
  entryModuleUrl,
  localBin,
  runChild,
  RUNTIME,
  startChild,
} from "./_writer_util.ts";

function childCode(moduleUrl: string, path: string, hold: boolean): string {
  return `
import { NpyAppendArray } from ${JSON.stringify(moduleUrl)};
try {
  const w = NpyAppendArray.openSync(${JSON.stringify(path)});
  w.appendSync([[${hold ? "1, 2" : "3, 4"}]]);
  if (${hold}) {
    console.log("ready");
    setInterval(() => {}, 1000);
  } else {
    w.closeSync();
    console.log(JSON.stringify({ ok: true }));
  }
} catch (e) {
  console.log(JSON.stringify({ name: e.name, holder: e.holder, message: e.message }));
}
`;
}

test("a second writer in the same process gets NpyLockError naming the holder", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "a.npy");
    const w = NpyAppendArray.openSync(path);
    const lock = JSON.parse(readFileSync(path + ".lock", "utf8"));
    assert.equal(lock.pid, process.pid);
    assert.equal(lock.host, hostname());
    assert.match(lock.runtime, new RegExp(`^${RUNTIME} `));
    assert.ok(!Number.isNaN(Date.parse(lock.time)));
    assert.throws(() => NpyAppendArray.openSync(path), (e) => {
      assert.ok(e instanceof NpyLockError);
      assert.equal(e.holder?.pid, process.pid);
      assert.equal(e.lockPath, path + ".lock");
      assert.match(e.message, new RegExp(`this process \\(pid ${process.pid}\\) already holds`));
      assert.match(e.message, /a\.npy/);
      return true;
    });
    // lock: false skips the lock (for file systems without exclusive create).
    const unlocked = NpyAppendArray.openSync(path, { lock: false });
    unlocked.closeSync();
    w.closeSync();
    assert.equal(existsSync(path + ".lock"), false);
    NpyAppendArray.openSync(path).closeSync();
  } finally {
    cleanup();
  }
});

test("two processes: the second gets NpyLockError; a killed holder's lock is taken over", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "shared.npy");
    const url = entryModuleUrl("mod");
    // We hold the file: a child process is refused, naming us.
    const w = NpyAppendArray.openSync(path);
    w.appendSync([[0, 0]]);
    const refused = JSON.parse(runChild(dir, "try.mjs", childCode(url, path, false)));
    assert.equal(refused.name, "NpyLockError");
    assert.equal(refused.holder.pid, process.pid);
    w.closeSync();
    // A child holds the file: we are refused, naming it; once it is killed, we take over.
    const child = await startChild(dir, "hold.mjs", childCode(url, path, true));
    try {
      assert.throws(() => NpyAppendArray.openSync(path), (e) => {
        assert.ok(e instanceof NpyLockError);
        assert.equal(e.holder?.pid, child.pid);
        assert.match(e.message, new RegExp(`pid ${child.pid} \\(${RUNTIME} `));
        return true;
      });
    } finally {
      await child.kill();
    }
    assert.equal(existsSync(path + ".lock"), true); // left behind by the killed child
    const after = NpyAppendArray.openSync(path);
    after.appendSync([[5, 6]]);
    after.closeSync();
    assert.equal(existsSync(path + ".lock"), false);
    checkWithNumpy([{ name: "shared", path, expect: "np.array([[0,0],[1,2],[5,6]], '<f8')" }]);
  } finally {
    cleanup();
  }
});

test("a writer in another runtime is refused too", () => {
  const other = RUNTIME === "deno" ? "bun" : "deno";
  const bin = localBin(other);
  if (bin === undefined) return; // that runtime is not installed here
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "x.npy");
    const w = NpyAppendArray.openSync(path);
    w.appendSync([[1, 1]]);
    const script = join(dir, "other.mjs");
    writeFileSync(script, childCode("file://" + join(ROOT, "mod.ts"), path, false));
    const args = other === "deno" ? ["run", "-A", script] : [script];
    const r = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.name, "NpyLockError");
    assert.equal(result.holder.pid, process.pid);
    assert.match(result.holder.runtime, new RegExp(`^${RUNTIME} `));
    w.closeSync();
    // Now the other runtime may write.
    const r2 = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.deepEqual(JSON.parse(r2.stdout), { ok: true });
    assert.deepEqual(parseHeader(readFileSync(path)).shape, [2, 2]);
  } finally {
    cleanup();
  }
});

test("stale locks (dead pid on this host, unreadable) are taken over; other hosts' are not", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "s.npy");
    // A process that has exited: its pid is free.
    const gone = spawnSync(process.execPath, ["--version"]);
    const lock = (pid: number, host: string) =>
      writeFileSync(
        path + ".lock",
        JSON.stringify({ pid, host, runtime: "node 0", time: new Date(0).toISOString() }),
      );
    lock(gone.pid!, hostname());
    NpyAppendArray.openSync(path).closeSync();
    writeFileSync(path + ".lock", "{ half-written");
    NpyAppendArray.openSync(path).closeSync();
    assert.equal(existsSync(path + ".lock"), false);
    lock(gone.pid!, "some-other-host");
    assert.throws(() => NpyAppendArray.openSync(path), (e) => {
      assert.ok(e instanceof NpyLockError);
      assert.equal(e.holder?.host, "some-other-host");
      assert.match(e.message, /remove ".*s\.npy\.lock" if that process is gone/);
      return true;
    });
  } finally {
    cleanup();
  }
});

test("a writer killed mid-stream leaves a file NumPy loads, holding a prefix of the appends", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "killed.npy");
    const code = `
import { NpyAppendArray } from ${JSON.stringify(entryModuleUrl("mod"))};
const w = NpyAppendArray.openSync(${JSON.stringify(path)}, { durability: "none", shape: [4] });
const row = new Float64Array(4);
for (let i = 0; ; i++) {
  row.fill(i);
  w.appendSync(row);
  if (i === 2000) console.log("ready");
}
`;
    const child = await startChild(dir, "killed.mjs", code);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await child.kill();
    const rows = runPython<number>(
      `
a = np.load(json.load(sys.stdin), mmap_mode="r")
assert a.ndim == 2 and a.shape[1] == 4 and a.shape[0] > 2000, a.shape
assert (a == np.arange(a.shape[0])[:, None]).all()
print(a.shape[0])
`,
      path,
    );
    // The writer may have been cut between its data and its header: "truncate" resumes.
    const w = NpyAppendArray.openSync(path, { onRecovery: "truncate" });
    assert.ok(w.rows >= rows);
    w.appendSync(new Float64Array(4).fill(-1));
    w.closeSync();
  } finally {
    cleanup();
  }
});
