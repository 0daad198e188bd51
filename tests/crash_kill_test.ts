/**
 * Kill -9 at random moments: children (the current runtime; deno, bun and node with
 * NPY_LONG_TESTS=1) append rows with known content and acknowledge each append on stdout;
 * the test kills them with SIGKILL after a random delay, in chains on one file, so each
 * child resumes the file the last one left and takes over its lock. After every kill the
 * file, copied aside, must load in NumPy (`mmap_mode="r"`) as an exact prefix of the rows
 * appended holding every acknowledged one, and so must a copy after `recover`; all the
 * copies are checked in one python call per batch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { recoverSync } from "../mod.ts";
import { makeTempDir } from "./_util.ts";
import {
  checkPrefixes,
  Child,
  childCommand,
  LIMIT,
  LONG,
  type PrefixCheck,
  type RowKind,
  RUNTIME,
  type Runtime,
  seeded,
} from "./_fault_util.ts";

const KILLS_PER_RUNTIME = LONG ? 200 : 20;
const CHAIN = 5; // kills per file
const PARALLEL = 4; // chains at once

const SYNCS = ["none", "close", "append"] as const;
const KINDS: RowKind[] = ["i8", "record", "nested"];

interface Tally {
  kills: number;
  duringAppends: number;
  beforeOpen: number;
  emptyFiles: number;
  acked: number;
  takeovers: number;
  checks: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One chain: CHAIN children on one file, each killed at a random moment. */
async function chain(
  runtime: Runtime,
  dir: string,
  id: number,
  rand: () => number,
  tally: Tally,
  checks: PrefixCheck[],
): Promise<void> {
  const path = join(dir, `c${id}.npy`);
  const sync = SYNCS[id % 3];
  const kind = KINDS[Math.floor(id / 3) % 3];
  const api = id % 2 === 0 ? "async" : "sync";
  let acked = 0; // rows every child of this chain acknowledged so far
  for (let k = 0; k < CHAIN; k++) {
    const lockBefore = existsSync(path + ".lock");
    const child = new Child(runtime, {
      task: "append",
      path,
      kind,
      sync,
      api,
      maxChunk: 16,
      maxRows: 400_000,
      pauseEvery: sync === "append" ? 0 : 8,
      seed: Math.floor(rand() * 2 ** 31),
    });
    const early = rand() < 0.15;
    if (early) {
      await sleep(rand() * 150);
    } else {
      const line = await child.waitFor("open");
      assert.ok(line.startsWith("open"), `child ${k} of chain ${id}: ${line} ${child.stderr}`);
      if (lockBefore) tally.takeovers++;
      await sleep(5 + rand() * 250);
    }
    await child.kill();
    const opened = child.lines.some((l) => l.startsWith("open"));
    const error = child.lines.find((l) => l.startsWith("error"));
    assert.equal(error, undefined, `${runtime} child failed: ${error} ${child.stderr}`);
    tally.kills++;
    if (!opened) tally.beforeOpen++;
    if (child.lines.some((l) => l.startsWith("ack"))) tally.duringAppends++;
    acked = Math.max(acked, child.acked);
    const openLine = child.lines.find((l) => l.startsWith("open "));
    tally.acked += openLine === undefined ? 0 : child.acked - Number(openLine.slice(5));
    if (opened) {
      // The killed child's lock is left behind, naming it; the next child takes it over.
      const lock = JSON.parse(readFileSync(path + ".lock", "utf8"));
      assert.equal(lock.pid, child.process.pid);
    }
    if (!existsSync(path) || statSync(path).size === 0) {
      // Killed before the file (or its first header) was written: nothing was acknowledged.
      assert.equal(acked, 0, `chain ${id}: no file, but ${acked} rows were acknowledged`);
      if (existsSync(path)) tally.emptyFiles++;
      continue;
    }
    const copy = join(dir, `c${id}-k${k}.npy`);
    copyFileSync(path, copy);
    checks.push({ path: copy, kind, atLeast: acked });
    const recovered = join(dir, `c${id}-k${k}-recovered.npy`);
    copyFileSync(path, recovered);
    const result = recoverSync(recovered);
    assert.ok(result.rows >= acked, `recover kept ${result.rows} rows, ${acked} acknowledged`);
    checks.push({ path: recovered, kind, atLeast: acked });
  }
}

async function killRun(runtime: Runtime, kills: number, seed: number): Promise<Tally> {
  const tally: Tally = {
    kills: 0,
    duringAppends: 0,
    beforeOpen: 0,
    emptyFiles: 0,
    acked: 0,
    takeovers: 0,
    checks: 0,
  };
  const rand = seeded(seed);
  const chains = Math.ceil(kills / CHAIN);
  // Batches of chains, each checked by NumPy and deleted before the next.
  const perBatch = PARALLEL * 2;
  for (let first = 0; first < chains; first += perBatch) {
    const { dir, cleanup } = makeTempDir(`npy-kill-${runtime}-`);
    try {
      const checks: PrefixCheck[] = [];
      const ids = [];
      for (let id = first; id < Math.min(chains, first + perBatch); id++) ids.push(id);
      for (let i = 0; i < ids.length; i += PARALLEL) {
        await Promise.all(
          ids.slice(i, i + PARALLEL).map((id) => chain(runtime, dir, id, rand, tally, checks)),
        );
      }
      const results = checkPrefixes(checks);
      const bad = results
        .map((r, i) => typeof r === "string" ? `${checks[i].path}: ${r}` : undefined)
        .filter((x) => x !== undefined);
      assert.deepEqual(bad, []);
      tally.checks += checks.length;
    } finally {
      cleanup();
    }
  }
  return tally;
}

function report(runtime: Runtime, t: Tally): string {
  return `kill -9 (${runtime}): ${t.kills} kills survived (${t.duringAppends} while appending, ` +
    `${t.beforeOpen} before the writer opened, ${t.emptyFiles} before the first header), ` +
    `${t.acked} acknowledged rows, ${t.checks} NumPy loads of prefixes, 0 rows lost, ` +
    `${t.takeovers} locks of killed writers taken over`;
}

test(
  `kill -9 at random moments: ${KILLS_PER_RUNTIME} ${RUNTIME} writers killed, no acknowledged row lost`,
  LIMIT,
  async () => {
    const t = await killRun(RUNTIME, KILLS_PER_RUNTIME, 0x5eed);
    assert.equal(t.kills, Math.ceil(KILLS_PER_RUNTIME / CHAIN) * CHAIN);
    assert.ok(t.duringAppends >= t.kills / 2, `only ${t.duringAppends} kills hit appends`);
    assert.ok(t.takeovers > 0);
    console.log(report(RUNTIME, t));
  },
);

test("kill -9 with the other runtimes (NPY_LONG_TESTS=1): deno, bun and node children", {
  skip: !LONG,
  ...LIMIT,
}, async () => {
  for (const runtime of ["deno", "bun", "node"] as const) {
    if (runtime === RUNTIME) continue;
    if (childCommand(runtime) === undefined) {
      console.log(`kill -9 (${runtime}): not available here, skipped`);
      continue;
    }
    const t = await killRun(runtime, KILLS_PER_RUNTIME, 0xbeef);
    console.log(report(runtime, t));
  }
});
