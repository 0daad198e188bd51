/**
 * Kill -9 at random moments: children (the current runtime; deno, bun and node with
 * NPY_LONG_TESTS=1) append rows with known content and acknowledge each append on stdout
 * (with `bufferSize`: each completed `flush()`);
 * the test kills them with SIGKILL after a random delay, in chains on one file, so each
 * child resumes the file the last one left and takes over its lock. After every kill the
 * file, copied aside, must load in NumPy (`mmap_mode="r"`) as an exact prefix of the rows
 * appended holding every acknowledged one, and so must a copy after `recover`; all the
 * copies are checked in one python call per batch.
 *
 * With k-row batches (every append exactly k rows) the appends must be all or nothing: the
 * file as killed, the next child's file after its `onRecovery: "truncate"`, and a copy after
 * `recover` (its lock file copied beside it, as the dead writer left it) all hold a multiple
 * of k rows; `needsRecovery` and `recover({ dryRun })` agree with what `recover` does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { needsRecoverySync, parseHeader, recoverSync } from "../mod.ts";
import { makeTempDir, present } from "./_util.ts";
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
const BATCH_KILLS = LONG ? 200 : 20; // with k-row batches, default options
const BUFFERED_KILLS = LONG ? 100 : 10; // with k-row batches and bufferSize
const CHAIN = 5; // kills per file
const PARALLEL = 4; // chains at once

const SYNCS = ["none", "close", "append"] as const;
const KINDS: RowKind[] = ["i8", "record", "nested"];

/** How the children append. */
interface Variant {
  /** Rows per append; random 1..16 when undefined. */
  batch?: (id: number) => number;
  /** The writer's bufferSize: rows are acknowledged by `flush()`. */
  bufferSize?: number;
}

interface Tally {
  /** Kills after which the file held bytes past its header's rows: an append cut. */
  rolledBack: number;
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
  variant: Variant,
): Promise<void> {
  const path = join(dir, `c${id}.npy`);
  const batch = variant.batch?.(id);
  const sync = SYNCS[id % 3];
  const kind = present(KINDS[Math.floor(id / 3) % 3], "row kind");
  const api = id % 2 === 0 ? "async" : "sync";
  let acked = 0; // rows every child of this chain acknowledged so far
  for (let k = 0; k < CHAIN; k++) {
    const lockBefore = existsSync(path + ".lock");
    const child = new Child(runtime, {
      task: "append",
      path,
      kind,
      durability: sync,
      api,
      maxChunk: 16,
      maxRows: 400_000,
      pauseEvery: sync === "append" ? 0 : 8,
      seed: Math.floor(rand() * 2 ** 31),
      batch,
      bufferSize: variant.bufferSize,
      flushEvery: 1 + Math.floor(rand() * 6),
    });
    const early = rand() < 0.15;
    if (early) {
      await sleep(rand() * 150);
    } else {
      const line = await child.waitFor("open");
      assert.ok(line.startsWith("open"), `child ${k} of chain ${id}: ${line} ${child.stderr}`);
      if (batch !== undefined) {
        // onRecovery: "truncate" rolled the last child's cut append back, whole.
        assert.equal(Number(line.slice(5)) % batch, 0, `chain ${id}: opened with ${line}`);
      }
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
      assert.ok(
        existsSync(path + ".lock"),
        `chain ${id}: no lock left by child ${k} (exit ${child.process.exitCode}, signal ` +
          `${child.process.signalCode}): ${child.lines.slice(-3)} ${child.stderr}`,
      );
      const lock = JSON.parse(readFileSync(path + ".lock", "utf8"));
      assert.equal(lock.pid, child.process.pid);
    }
    if (existsSync(path) && statSync(path).size === 0) tally.emptyFiles++;
    assert.equal(tally.emptyFiles, 0, `chain ${id}: a 0-byte file (NumPy cannot load it)`);
    if (!existsSync(path)) {
      // Killed before the file (with its first header) was made: nothing was acknowledged.
      assert.equal(acked, 0, `chain ${id}: no file, but ${acked} rows were acknowledged`);
      continue;
    }
    const copy = join(dir, `c${id}-k${k}.npy`);
    copyFileSync(path, copy);
    checks.push({ path: copy, kind, atLeast: acked, multipleOf: batch });
    const recovered = join(dir, `c${id}-k${k}-recovered.npy`);
    copyFileSync(path, recovered);
    // The dead writer's lock beside the copy, as it was left: the trace recovery reads.
    // (A child killed before its "open" line was read may have written already.)
    if (existsSync(path + ".lock")) copyFileSync(path + ".lock", recovered + ".lock");
    const headerRows = Number(parseHeader(readFileSync(recovered)).shape[0]);
    const needed = needsRecoverySync(recovered);
    const planned = recoverSync(recovered, { dryRun: true });
    const result = recoverSync(recovered);
    assert.deepEqual(planned, result, "recover({ dryRun }) and recover() agree");
    const changes = result.rows !== headerRows || result.droppedBytes + result.addedBytes > 0;
    assert.equal(needed, changes, "needsRecovery agrees");
    assert.equal(existsSync(recovered + ".lock"), false, "recover released the lock");
    // A kill never leaves a header claiming rows whose bytes were not written: the header
    // is the last commit, and recovery goes back to exactly it.
    assert.equal(result.rows, headerRows, "recover rolled back to the header's rows");
    if (result.droppedBytes > 0) tally.rolledBack++;
    assert.ok(result.rows >= acked, `recover kept ${result.rows} rows, ${acked} acknowledged`);
    checks.push({ path: recovered, kind, atLeast: acked, multipleOf: batch });
  }
}

async function killRun(
  runtime: Runtime,
  kills: number,
  seed: number,
  variant: Variant = {},
): Promise<Tally> {
  const tally: Tally = {
    rolledBack: 0,
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
          ids.slice(i, i + PARALLEL).map((id) =>
            chain(runtime, dir, id, rand, tally, checks, variant)
          ),
        );
      }
      const results = checkPrefixes(checks);
      const bad = results
        .map((r, i) => typeof r === "string" ? `${checks[i]?.path}: ${r}` : undefined)
        .filter((x) => x !== undefined);
      assert.deepEqual(bad, []);
      tally.checks += checks.length;
    } finally {
      cleanup();
    }
  }
  return tally;
}

function report(runtime: Runtime, t: Tally, what = ""): string {
  return `kill -9 (${runtime}${what}): ${t.kills} kills survived (${t.duringAppends} while ` +
    `appending, ${t.beforeOpen} before the writer opened, ${t.emptyFiles} before the first ` +
    `header), ${t.acked} acknowledged rows, ${t.checks} NumPy loads of prefixes, 0 rows lost, ` +
    `${t.takeovers} locks of killed writers taken over, ${t.rolledBack} cut appends rolled ` +
    `back by recover${what ? ", 0 partial batches" : ""}`;
}

/** k for chain `id`: small and large batches (a large one takes longer to write). */
function batchOf(id: number): number {
  return present([3, 100, 1000][id % 3], "batch size");
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

const BATCHES: Variant = { batch: batchOf };
const BUFFERED: Variant = { batch: batchOf, bufferSize: 1 << 16 };

for (
  const [name, variant, kills] of [
    ["k-row batches", BATCHES, BATCH_KILLS],
    ["k-row batches, bufferSize 64 KiB", BUFFERED, BUFFERED_KILLS],
  ] as const
) {
  test(
    `kill -9 during ${name}: ${kills} ${RUNTIME} writers killed, whole batches only, no ` +
      "acknowledged row lost",
    LIMIT,
    async () => {
      const t = await killRun(RUNTIME, kills, 0xba7c, variant);
      assert.equal(t.kills, Math.ceil(kills / CHAIN) * CHAIN);
      assert.ok(t.duringAppends >= t.kills / 2, `only ${t.duringAppends} kills hit appends`);
      console.log(report(RUNTIME, t, `, ${name}`));
    },
  );

  test(`kill -9 during ${name} with the other runtimes (NPY_LONG_TESTS=1)`, {
    skip: !LONG,
    ...LIMIT,
  }, async () => {
    for (const runtime of ["deno", "bun", "node"] as const) {
      if (runtime === RUNTIME) continue;
      if (childCommand(runtime) === undefined) {
        console.log(`kill -9 (${runtime}, ${name}): not available here, skipped`);
        continue;
      }
      const t = await killRun(runtime, kills, 0xba7d, variant);
      console.log(report(runtime, t, `, ${name}`));
    }
  });
}
