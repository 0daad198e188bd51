/**
 * Concurrency: two processes racing to open one file for writing (exactly one wins, every
 * time, also when both take over a dead writer's lock), 10 000 un-awaited appends on one
 * writer landing in call order, and a reader polling refresh() while a writer in another
 * process appends (it always sees a prefix of the rows, never a header ahead of its data).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { loadNpySync, NpyAppendArray, NpyReader } from "../mod.ts";
import { makeTempDir, present } from "./_util.ts";
import {
  checkPrefixes,
  Child,
  LIMIT,
  LONG,
  type PrefixCheck,
  RUNTIME,
  seeded,
} from "./_fault_util.ts";

const RACES = LONG ? 100 : 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One race on `path`: both children try at the same moment; returns the winner's pid. */
async function race(path: string): Promise<number> {
  const children = [0, 1].map(() => new Child(RUNTIME, { task: "race", path }));
  try {
    for (const c of children) {
      assert.equal(await c.waitFor("ready"), "ready", c.stderr);
    }
    const at = Date.now() + 30;
    for (const c of children) c.send(String(at));
    const results = await Promise.all(children.map((c) => c.waitFor(["won", "lost"])));
    const winners = results.filter((r) => r.startsWith("won"));
    assert.equal(winners.length, 1, `${path}: ${JSON.stringify(results)}`);
    const winner = present(children[results.findIndex((r) => r.startsWith("won"))], "winner");
    const loser = present(children[results.findIndex((r) => !r.startsWith("won"))], "loser");
    assert.equal(results[children.indexOf(loser)], `lost ${winner.process.pid}`);
    winner.send("close");
    assert.equal(await winner.exited, 0);
    assert.equal(await loser.exited, 0);
    return winner.process.pid!;
  } finally {
    for (const c of children) if (c.process.exitCode === null) await c.kill();
  }
}

test(`two processes racing to open one file: exactly one wins, ${RACES} races`, LIMIT, async () => {
  const { dir, cleanup } = makeTempDir("npy-race-");
  try {
    // A pid that is free: a process that has exited.
    const dead = spawnSync(process.execPath, ["--version"]).pid!;
    const kinds = { fresh: 0, staleLock: 0, existing: 0 };
    for (let i = 0; i < RACES; i += 2) {
      await Promise.all(
        [i, i + 1].filter((k) => k < RACES).map(async (k) => {
          const path = join(dir, `race-${k}.npy`);
          const kind = present((["fresh", "staleLock", "existing"] as const)[k % 3], "kind");
          kinds[kind]++;
          if (kind === "staleLock") {
            // Both must take over a dead writer's lock: still only one may win.
            writeFileSync(
              path + ".lock",
              JSON.stringify({ pid: dead, host: hostname(), runtime: "node 0", time: "x" }),
            );
          }
          if (kind === "existing") {
            NpyAppendArray.openSync(path, { descr: "<i8", shape: [1] }).closeSync();
          }
          const pid = await race(path);
          const a = loadNpySync(path);
          assert.deepEqual([...(a.data as BigInt64Array)], [BigInt(pid)]);
          assert.equal(existsSync(path + ".lock"), false);
        }),
      );
    }
    console.log(
      `races (${RUNTIME}): ${RACES} races, exactly one winner each (${kinds.fresh} on a new ` +
        `file, ${kinds.staleLock} taking over a dead writer's lock, ${kinds.existing} on an ` +
        `existing file)`,
    );
  } finally {
    cleanup();
  }
});

test(
  "a takeover file left by a process that died while taking over a lock is cleared",
  LIMIT,
  () => {
    const { dir, cleanup } = makeTempDir("npy-takeover-");
    try {
      const path = join(dir, "t.npy");
      const dead = spawnSync(process.execPath, ["--version"]).pid!;
      writeFileSync(
        path + ".lock",
        JSON.stringify({ pid: dead, host: hostname(), runtime: "node 0", time: "x" }),
      );
      writeFileSync(path + ".lock.takeover", "");
      const started = Date.now();
      const w = NpyAppendArray.openSync(path, { descr: "<i8", shape: [1] });
      w.closeSync();
      assert.ok(Date.now() - started < 5_000);
      assert.equal(existsSync(path + ".lock"), false);
      assert.equal(existsSync(path + ".lock.takeover"), false);
    } finally {
      cleanup();
    }
  },
);

/** Row i of the known content: [i, 2i, 3i, 4i]. */
function row(i: number): BigInt64Array {
  return BigInt64Array.of(BigInt(i), BigInt(2 * i), BigInt(3 * i), BigInt(4 * i));
}

test("10 000 concurrent un-awaited appends on one writer land in call order", LIMIT, async () => {
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = mkdtempSync(join(base, "npy-many-"));
  const checks: PrefixCheck[] = [];
  try {
    const cases = [
      { durability: "append", bufferSize: 0 },
      { durability: "none", bufferSize: 0 },
      { durability: "close", bufferSize: 4096 },
    ] as const;
    for (const { durability, bufferSize } of cases) {
      const path = join(dir, `many-${durability}.npy`);
      const w = await NpyAppendArray.open(path, {
        descr: "<i8",
        shape: [4],
        durability,
        bufferSize,
      });
      const pending: Promise<void>[] = [];
      const rand = seeded(7);
      let rows = 0;
      for (let n = 0; n < 10_000; n++) {
        // TypedArrays (the fast path), nested arrays (the slow path) and some flushes.
        const k = 1 + Math.floor(rand() * 3);
        if (n % 3 === 0) {
          const nested = [];
          for (let r = 0; r < k; r++) nested.push([...row(rows + r)].map(Number));
          pending.push(w.append(nested));
        } else {
          const chunk = new BigInt64Array(4 * k);
          for (let r = 0; r < k; r++) chunk.set(row(rows + r), 4 * r);
          pending.push(w.append(chunk));
        }
        rows += k;
        if (n % 997 === 0) pending.push(w.flush());
      }
      pending.push(w.close());
      await Promise.all(pending);
      const a = loadNpySync(path);
      assert.deepEqual(a.shape, [rows, 4]);
      const data = a.data as BigInt64Array;
      for (let i = 0; i < rows; i++) {
        if (data[4 * i + 3] !== BigInt(4 * i) || data[4 * i] !== BigInt(i)) {
          assert.fail(`${durability}: row ${i} out of order`);
        }
      }
      checks.push({ path, kind: "i8", atLeast: rows });
    }
    const results = checkPrefixes(checks);
    assert.ok(results.every((r) => typeof r === "number"), JSON.stringify(results));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "a reader polling refresh() while a writer in another process appends sees a consistent prefix",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-poll-");
    const seconds = LONG ? 10 : 1.5;
    try {
      const path = join(dir, "live.npy");
      const child = new Child(RUNTIME, {
        task: "append",
        path,
        kind: "i8",
        durability: "none",
        api: "async",
        maxChunk: 32,
        maxRows: 1_000_000,
        pauseEvery: 2,
        seed: 3,
      });
      let polls = 0, last = 0, growths = 0, rowsRead = 0;
      try {
        assert.ok((await child.waitFor("open")).startsWith("open"));
        using r = NpyReader.openSync(path);
        const rand = seeded(11);
        const end = Date.now() + seconds * 1000;
        while (Date.now() < end) {
          const rows = polls % 2 === 0 ? await r.refresh() : r.refreshSync();
          polls++;
          assert.ok(rows >= last, `rows went back from ${last} to ${rows}`);
          if (rows > last) growths++;
          last = rows;
          if (rows === 0) continue;
          // The newest rows and a random older range: all as appended.
          const starts = [Math.max(0, rows - 64), Math.floor(rand() * rows)];
          for (const s of starts) {
            const e = Math.min(rows, s + 64);
            const data = r.readSync(s, e).data as BigInt64Array;
            rowsRead += e - s;
            for (let i = 0; i < data.length; i++) {
              const want = BigInt((s + Math.floor(i / 4)) * ((i % 4) + 1));
              if (data[i] !== want) assert.fail(`row ${s + Math.floor(i / 4)} read wrong`);
            }
          }
          if (polls % 50 === 0) await sleep(1);
        }
      } finally {
        await child.kill();
      }
      assert.ok(growths > 10, `the reader saw the file grow only ${growths} times`);
      console.log(
        `refresh (${RUNTIME}): ${polls} polls, the file grew ${growths} times to ${last} rows, ` +
          `${rowsRead} rows read back as appended`,
      );
    } finally {
      cleanup();
    }
  },
);
