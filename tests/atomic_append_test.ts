/**
 * All-or-nothing appends: how recovery tells a file this library's writer left (its lock file,
 * left by the killed writer, carries `"commit": "header"`) from one other tools wrote, and
 * that `npy info`, `needsRecovery()`, `recover({ dryRun })`, `recover()` and the writer's
 * `onRecovery` report the same plan. Writers are killed for real (a child process, `SIGKILL`);
 * a cut append is then made by hand, bytes past the header's rows, as a kill between the data
 * write and the header write leaves it (tests/crash_kill_test.ts hits that window by chance).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { main } from "../cli.ts";
import {
  ensureAppendableSync,
  mergeStacks,
  needsRecovery,
  needsRecoverySync,
  NpyAppendArray,
  NpyRecoveryError,
  NpyStackWriter,
  parseHeader,
  recover,
  recoverStack,
  recoverStackSync,
  recoverSync,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import {
  Child,
  childCommand,
  cliCommand,
  LIMIT,
  numpyStackRows,
  pairRows,
  RUNTIME,
} from "./_fault_util.ts";

/** Runs `npy ARGS` through the CLI's main(). */
async function npy(args: string[], signal?: AbortSignal) {
  let out = "", err = "";
  const code = await main(args, {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    isTTY: false,
    ...(signal === undefined ? {} : { signal }),
  });
  return { code, out, err };
}

/** The record of `path`'s lock file (restored records may be padded with spaces). */
function lockRecord(path: string): unknown {
  return JSON.parse(readFileSync(path + ".lock", "utf8"));
}

/** `npy info PATH` through the CLI's main(). */
async function info(path: string): Promise<string> {
  let out = "", err = "";
  const code = await main(["info", path], {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    isTTY: false,
    columns: 80,
  });
  assert.equal(code, 0, err);
  return out;
}

/** Rows `from..to-1` of the test files: `<i8` rows of 2, row i = (2i, 2i+1). */
function rowBytes(from: number, to: number): Uint8Array {
  return new Uint8Array(pairRows(from, to).data.buffer);
}

function numpyRows(paths: string[]): Array<number | string> {
  return runPython(
    `
out = []
for p in json.load(sys.stdin):
    a = np.load(p, mmap_mode="r")
    n = a.shape[0]
    ok = a.dtype == np.dtype("<i8") and a.shape == (n, 2) and (a.reshape(-1) == np.arange(2 * n)).all()
    out.append(n if ok else f"not the first rows: {a.dtype} {a.shape}")
print(json.dumps(out))
`,
    paths,
  );
}

/** Opens `path` in a child writer and kills it (`SIGKILL`): its lock is left behind. */
async function killWriterOn(path: string): Promise<void> {
  const child = new Child(RUNTIME, { task: "open", path, mode: "append" });
  assert.equal(await child.waitFor("open"), "open", child.stderr);
  await child.kill();
  const lock = lockRecord(path) as { pid: number; commit?: string };
  assert.equal(lock.pid, child.process.pid);
  assert.equal(lock.commit, "header", "the writer's lock says its header is the commit");
}

/** What every reporter says about `path`: needsRecovery (both), the dry run, npy info. */
async function reports(path: string) {
  const dry = recoverSync(path, { dryRun: true });
  assert.deepEqual(await recover(path, { dryRun: true }), dry);
  const needs = needsRecoverySync(path);
  assert.equal(await needsRecovery(path), needs);
  const text = await info(path);
  const kept = /recover keeps (\d+) rows/.exec(text)?.[1];
  return { dry, needs, infoRows: kept === undefined ? undefined : Number(kept) };
}

test("a file np.save wrote, plus bytes appended by hand, recovers whole rows: every reporter agrees", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "np.npy");
    runPython(
      `np.save(sys.stdin.read().strip('"'), np.arange(10, dtype="<i8").reshape(5, 2)); print(1)`,
      path,
    );
    appendFileSync(path, rowBytes(5, 8).subarray(0, 2 * 16 + 12)); // 2 rows and 12 bytes
    const copy = join(dir, "np-copy.npy");
    copyFileSync(path, copy);
    const r = await reports(path);
    assert.deepEqual(r, {
      dry: { rows: 7, droppedBytes: 12, addedBytes: 0 },
      needs: true,
      infoRows: 7,
    });
    assert.deepEqual(recoverSync(path), r.dry);
    assert.equal(needsRecoverySync(path), false);
    // The writer's onRecovery follows the same plan.
    const w = NpyAppendArray.openSync(copy, { onRecovery: "truncate" });
    assert.equal(w.rows, 7);
    w.closeSync();
    assert.deepEqual(numpyRows([path, copy]), [7, 7]);
  } finally {
    cleanup();
  }
});

test(
  "a file a killed writer left is rolled back to its last commit, the header: never part of an append; every reporter agrees",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const path = join(dir, "w.npy");
      {
        using w = NpyAppendArray.openSync(path);
        w.appendSync([[0n, 1n], [2n, 3n], [4n, 5n], [6n, 7n]]);
      }
      await killWriterOn(path);
      // The killed writer's append: 3 rows written (and one more cut), the header not yet.
      appendFileSync(path, rowBytes(4, 8).subarray(0, 3 * 16 + 5));
      const record = lockRecord(path);

      const r = await reports(path);
      assert.deepEqual(r, {
        dry: { rows: 4, droppedBytes: 3 * 16 + 5, addedBytes: 0 },
        needs: true,
        infoRows: 4,
      });
      // A writer that refuses to recover, and ensureAppendable, take the dead writer's lock
      // over and fail: they put its record back, so the trace survives them.
      assert.throws(() => NpyAppendArray.openSync(path), NpyRecoveryError);
      assert.deepEqual(lockRecord(path), record);
      assert.throws(() => ensureAppendableSync(path), NpyRecoveryError);
      assert.deepEqual(lockRecord(path), record);
      assert.deepEqual((await reports(path)).dry, r.dry);

      // The writer's onRecovery on a copy (the lock beside it), then recover() itself.
      const copy = join(dir, "w-copy.npy");
      copyFileSync(path, copy);
      copyFileSync(path + ".lock", copy + ".lock");
      const w = NpyAppendArray.openSync(copy, { onRecovery: "truncate" });
      assert.equal(w.rows, 4);
      w.appendSync([[8n, 9n], [10n, 11n]]);
      w.closeSync();
      assert.deepEqual(recoverSync(path), r.dry);
      assert.equal(existsSync(path + ".lock"), false, "recover released the lock");
      assert.equal(needsRecoverySync(path), false);
      assert.deepEqual(numpyRows([path, copy]), [4, 6]);
    } finally {
      cleanup();
    }
  },
);

test(
  "a killed writer's file whose header claims more than the file holds (a power loss) keeps the whole rows present",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const path = join(dir, "short.npy");
      {
        using w = NpyAppendArray.openSync(path);
        w.appendSync([[0n, 1n], [2n, 3n], [4n, 5n]]);
      }
      await killWriterOn(path);
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.length - 20)); // the tail never reached the disk
      const r = await reports(path);
      assert.deepEqual(r, {
        dry: { rows: 1, droppedBytes: 12, addedBytes: 0 },
        needs: true,
        infoRows: 1,
      });
      assert.deepEqual(recoverSync(path), r.dry);
      assert.deepEqual(numpyRows([path]), [1]);
    } finally {
      cleanup();
    }
  },
);

test("with bufferSize (and rewriteHeaderOnAppend: false), every write of the buffer rewrites the header: whole appends, committed", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    for (const rewriteHeaderOnAppend of [true, false]) {
      const path = join(dir, `b-${rewriteHeaderOnAppend}.npy`);
      // A buffer of 100 bytes holds 3 appends of 2 rows (32 bytes each): the 4th writes it.
      const w = NpyAppendArray.openSync(path, { bufferSize: 100, rewriteHeaderOnAppend });
      const seen: number[] = [];
      for (let i = 0; i < 8; i++) {
        w.appendSync([[BigInt(4 * i), BigInt(4 * i + 1)], [BigInt(4 * i + 2), BigInt(4 * i + 3)]]);
        const bytes = readFileSync(path);
        const rows = Number(parseHeader(bytes).shape[0]);
        assert.equal(bytes.length, 128 + rows * 16, "the header claims every row written");
        seen.push(rows);
      }
      assert.deepEqual(
        seen,
        [0, 0, 0, 6, 6, 6, 12, 12],
        `rewriteHeaderOnAppend ${rewriteHeaderOnAppend}`,
      );
      assert.deepEqual(numpyRows([path]), [12]);
      w.closeSync();
      assert.deepEqual(numpyRows([path]), [16]);
    }
  } finally {
    cleanup();
  }
});

/** A killed writer's file `w.npy` in `dir` (rows 0..3) with a cut append by hand. */
async function cutByKilledWriter(dir: string): Promise<string> {
  const path = join(dir, "w.npy");
  {
    using w = NpyAppendArray.openSync(path);
    w.appendSync([[0n, 1n], [2n, 3n], [4n, 5n], [6n, 7n]]);
  }
  await killWriterOn(path);
  appendFileSync(path, rowBytes(4, 8).subarray(0, 3 * 16 + 5));
  return path;
}

const ROLLED_BACK = { rows: 4, droppedBytes: 3 * 16 + 5, addedBytes: 0 };

test(
  "a command that takes a dead writer's lock over and then refuses or fails puts the record back: npy append, npy recover, npy concat --force interrupted, an overwrite writer closed early",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const path = await cutByKilledWriter(dir);
      const record = lockRecord(path);
      const before = readFileSync(path);
      const a = join(dir, "a.npy");
      saveNpySync(a, { data: BigInt64Array.of(100n, 101n), shape: [1, 2] });
      const interrupted = new AbortController();
      interrupted.abort(new DOMException("Interrupted", "AbortError"));
      const attempts: Array<[string, () => Promise<number>, number]> = [
        ["npy append (OUT needs recovery)", async () => (await npy(["append", path, a])).code, 1],
        [
          "npy recover (a header longer than --max-header-size)",
          async () => (await npy(["recover", "--max-header-size", "10", path])).code,
          1,
        ],
        [
          "npy concat --force, interrupted",
          async () => (await npy(["concat", "--force", path, a, a], interrupted.signal)).code,
          130,
        ],
        [
          'a writer of mode "overwrite" closed before any append',
          () => {
            NpyAppendArray.openSync(path, { mode: "overwrite" }).closeSync();
            return Promise.resolve(0);
          },
          0,
        ],
      ];
      for (const [what, run, code] of attempts) {
        assert.equal(await run(), code, what);
        assert.deepEqual(lockRecord(path), record, `${what}: the dead writer's record is gone`);
        assert.deepEqual(readFileSync(path), before, `${what}: the file changed`);
        assert.deepEqual(
          await reports(path),
          { dry: ROLLED_BACK, needs: true, infoRows: 4 },
          `${what}: the reporters no longer roll back`,
        );
      }
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(".tmp")), []);
      assert.deepEqual(recoverSync(path), ROLLED_BACK);
      assert.equal(existsSync(path + ".lock"), false);
      assert.deepEqual(numpyRows([path]), [4]);
    } finally {
      cleanup();
    }
  },
);

/** Spawns `npy ARGS` as a process of the current runtime. */
function spawnNpy(args: string[]) {
  const [cmd, pre] = cliCommand()!;
  const child = spawn(cmd, [...pre, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => err += d);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { child, exited, stderr: () => err };
}

/** Polls every millisecond until `ready()`; throws after `ms`. */
async function until(ready: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A NumPy file of `rows` rows continuing the test rows from row `from` (`<i8`, rows of 2). */
function bigInput(path: string, from: number, rows: number): void {
  runPython(
    `d = json.load(sys.stdin)
a = np.lib.format.open_memmap(d["path"], mode="w+", dtype="<i8", shape=(d["rows"], 2))
a[:] = np.arange(2 * d["from"], 2 * (d["from"] + d["rows"]), dtype="<i8").reshape(-1, 2)
a.flush()
print(1)`,
    { path, from, rows },
  );
}

test(
  "npy concat --force interrupted by a real SIGINT over a dead writer's file puts its lock record back",
  { ...LIMIT, skip: cliCommand() === undefined ? "no npy build for this runtime" : false },
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const path = await cutByKilledWriter(dir);
      const record = lockRecord(path);
      const before = readFileSync(path);
      const big = join(dir, "big.npy");
      bigInput(big, 4, 8 << 20); // 128 MiB: 16 blocks to copy
      const run = spawnNpy(["concat", "--force", path, big]);
      // Interrupt once the copy has begun (the temp file beside OUT has its header).
      const temp = () =>
        readdirSync(dir).find((n) => n.startsWith(".w.npy.") && n.endsWith(".tmp"));
      await until(
        () => {
          const name = temp();
          return name !== undefined &&
            statSync(join(dir, name), { throwIfNoEntry: false })!.size > 0;
        },
        20_000,
        "the copy to begin",
      );
      run.child.kill("SIGINT");
      const code = await run.exited;
      // (A Deno parent reports the signal it sent, not the code the child exited with.)
      if (code !== null) assert.equal(code, 130, run.stderr());
      assert.match(run.stderr(), /^npy concat: interrupted\n$/);
      assert.deepEqual(lockRecord(path), record);
      assert.deepEqual(readFileSync(path), before);
      assert.equal(temp(), undefined, "the temp file is left");
      assert.deepEqual((await reports(path)).dry, ROLLED_BACK);
    } finally {
      cleanup();
    }
  },
);

test(
  "npy append killed with SIGKILL mid-way: its lock marks a writer, and recovery keeps whole blocks only",
  { ...LIMIT, skip: cliCommand() === undefined ? "no npy build for this runtime" : false },
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const out = join(dir, "t.npy");
      {
        using w = NpyAppendArray.openSync(out);
        w.appendSync([[0n, 1n], [2n, 3n], [4n, 5n], [6n, 7n]]);
      }
      const base = statSync(out).size;
      const big = join(dir, "big.npy");
      const rows = 8 << 20; // 128 MiB, appended in blocks of 8 MiB (524 288 rows)
      bigInput(big, 4, rows);
      const run = spawnNpy(["append", out, big]);
      // Kill it once it is past its first block and into another.
      await until(() => statSync(out).size > base + (9 << 20), 60_000, "the append to begin");
      run.child.kill("SIGKILL");
      await run.exited;
      const record = lockRecord(out) as { pid: number; commit?: string };
      assert.equal(record.pid, run.child.pid);
      assert.equal(record.commit, "header", "npy append's lock does not mark a writer");
      const r = await reports(out);
      assert.equal(r.infoRows, r.needs ? r.dry.rows : undefined);
      const kept = recoverSync(out);
      assert.deepEqual(kept, r.dry);
      const block = (8 << 20) / 16;
      assert.equal((kept.rows - 4) % block, 0, `${kept.rows - 4} rows appended: part of a block`);
      assert.ok(kept.rows > 4 && kept.rows < 4 + rows, `${kept.rows} rows`);
      assert.deepEqual(numpyRows([out]), [kept.rows]);
    } finally {
      cleanup();
    }
  },
);

test(
  "a stack writer killed with an append cut in its open shard is rolled back to that shard's header: a refused open keeps the trace; onRecovery and recoverStack agree",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const stack = join(dir, "S");
      const child = new Child(RUNTIME, {
        task: "stack-append",
        path: stack,
        batch: 104,
        shardRows: 100,
        maxRows: 104,
      });
      assert.equal(await child.waitFor("full"), "full", child.stderr);
      await child.kill();
      const record = JSON.parse(readFileSync(join(stack, "stack.lock"), "utf8"));
      assert.equal(record.pid, child.process.pid);
      assert.equal(record.commit, "header", "the stack's lock does not mark a writer");
      // The killed writer's next append: 3 rows written to shard 1 (and part of one more).
      appendFileSync(join(stack, "1.npy"), rowBytes(104, 108).subarray(0, 3 * 16 + 5));
      const copy = join(dir, "S2");
      cpSync(stack, copy, { recursive: true });
      // A writer that refuses to recover takes the lock over and puts the record back, as
      // does a merge that refuses the stack.
      assert.throws(() => NpyStackWriter.openSync(stack), NpyRecoveryError);
      assert.deepEqual(JSON.parse(readFileSync(join(stack, "stack.lock"), "utf8")), record);
      await assert.rejects(mergeStacks(join(dir, "M"), [stack]), NpyRecoveryError);
      assert.deepEqual(JSON.parse(readFileSync(join(stack, "stack.lock"), "utf8")), record);
      assert.deepEqual(await recoverStack(stack), { rows: 104, shardRows: [100, 4], adopted: [1] });
      assert.equal(existsSync(join(stack, "stack.lock")), false);
      const w = NpyStackWriter.openSync(copy, { onRecovery: "truncate" });
      assert.equal(w.rows, 104);
      w.closeSync();
      assert.deepEqual(numpyStackRows([stack, copy]), [104, 104]);
    } finally {
      cleanup();
    }
  },
);

test(
  "stack writers SIGKILLed while appending k-row batches across shards, each resuming the last: whole batches only, every acknowledged row kept",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const runtimes = (["deno", "bun", "node"] as const).filter((r) => childCommand(r));
      let kills = 0, journaled = 0;
      for (const runtime of runtimes) {
        const stack = join(dir, runtime);
        const batch = 100;
        let acked = 0;
        for (let round = 0; round < 4; round++) {
          const child = new Child(runtime, {
            task: "stack-append",
            path: stack,
            batch,
            shardRows: 70, // not a multiple of the batch: every append crosses a shard boundary
            maxRows: 1_000_000,
          });
          const open = await child.waitFor("open");
          const resumed = Number(open.slice(5));
          assert.ok(resumed >= acked, `${runtime}: resumed ${resumed} of ${acked} acknowledged`);
          assert.equal(resumed % batch, 0, `${runtime}: resumed ${resumed}: part of a batch`);
          await child.waitFor("ack");
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 60));
          await child.kill();
          kills++;
          acked = child.acked;
          // Killed inside an append across shards: the journal it left is what recovery undoes.
          if ("journal" in JSON.parse(readFileSync(join(stack, "stack.lock"), "utf8"))) journaled++;
        }
        const result = recoverStackSync(stack);
        assert.ok(result.rows >= acked, `${runtime}: ${result.rows} rows, ${acked} acknowledged`);
        assert.equal(result.rows % batch, 0, `${runtime}: ${result.rows} rows: part of a batch`);
        assert.deepEqual(numpyStackRows([stack]), [result.rows], runtime);
      }
      console.log(
        `stack kills: ${kills} (${
          runtimes.join(", ")
        }), ${journaled} inside an append across shards`,
      );
    } finally {
      cleanup();
    }
  },
);
