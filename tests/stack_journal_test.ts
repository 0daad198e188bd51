/**
 * Appends that cross shard boundaries are all or nothing (lib/_stack_journal.ts): the stack
 * writer journals them in `stack.lock`, lists the shards they fill only once they are complete,
 * and recovery undoes a cut one whole. Checked at every file operation of such an append: the
 * stack copied as it stood before each one (with the lock marked as a dead writer's) and
 * recovered by recoverStack, by a writer reopening it, and a fault injected there instead (the
 * writer undoes the append itself); and by writers of each runtime stopped at known points and
 * killed with SIGKILL. NumPy reads every result.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import process from "node:process";
import { main } from "../cli.ts";
import {
  mergeStacks,
  NpyRecoveryError,
  NpyStackReader,
  NpyStackWriter,
  type NpyStackWriterOptions,
  recoverStackSync,
} from "../mod.ts";
import { makeTempDir, present } from "./_util.ts";
import {
  Child,
  childCommand,
  FaultyFileSystem,
  LIMIT,
  numpyStackRows,
  pairRows,
  type Runtime,
} from "./_fault_util.ts";

/** A pid no process has: a child that has exited. */
const DEAD_PID = spawnSync(process.execPath, ["--version"]).pid!;

function lockOf(stack: string): Record<string, unknown> | undefined {
  const path = join(stack, "stack.lock");
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

/** Copies the stack `from` to `to`, its lock made a dead writer's (as a SIGKILL leaves it). */
function deadCopy(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const record = lockOf(to);
  if (record) writeFileSync(join(to, "stack.lock"), JSON.stringify({ ...record, pid: DEAD_PID }));
}

async function npyInfo(dir: string): Promise<string> {
  let out = "";
  const code = await main(["info", dir], { stdout: (t) => void (out += t), stderr: () => {} });
  assert.equal(code, 0);
  return out;
}

const K = 4; // rows per append: shards of 10 rows are not a multiple of it

interface Scenario {
  name: string;
  options: NpyStackWriterOptions;
  /** Rows appended before the cut append, and rows of it. */
  before: number;
  rows: number;
  /** Rows surely in the files before it (with a write buffer, fewer than `before`). */
  flushed: number;
  api: "sync" | "async";
}

const SCENARIOS: Scenario[] = [
  // Shard 2 open with 8 rows; the append fills 2, 3 and 4 and leaves 2 rows in shard 5.
  { name: "open-shard", options: {}, before: 28, rows: 24, flushed: 28, api: "sync" },
  // No shard open: the append creates shard 2, fills it and leaves 2 rows in shard 3.
  {
    name: "new-shard",
    options: { durability: "none" },
    before: 20,
    rows: 12,
    flushed: 20,
    api: "async",
  },
  // Rows 20..27 in a write buffer: the writer commits them before the journal.
  {
    name: "buffered",
    options: { bufferSize: 4096, rewriteHeaderOnAppend: false, durability: "append" },
    before: 28,
    rows: 24,
    flushed: 20,
    api: "async",
  },
];

/**
 * A stack of `s.before` rows in `path`, appended K at a time, then the append across shards,
 * with `inject` called before each of its file operations (the shards' included: the layer is
 * installed before the writer opens any); then the writer appends K rows more (unless the
 * append failed; with `queued` and the async API, behind it without waiting) and closes.
 * @returns Whether the append threw, the rows the writer acknowledged, and its `rows` then.
 */
async function cutAppend(
  path: string,
  s: Scenario,
  inject: FaultyFileSystem["inject"],
  queued = false,
): Promise<{ threw: boolean; acked: number; rows: number }> {
  const layer = new FaultyFileSystem((p) => p.startsWith(path + sep));
  let active = false;
  layer.inject = (op) => active ? inject(op) : undefined;
  layer.install();
  try {
    const w = NpyStackWriter.openSync(path, {
      descr: "<i8",
      shape: [2],
      shardRows: 10,
      ...s.options,
    });
    while (w.rows < s.before) w.appendSync(pairRows(w.rows, w.rows + K));
    const chunk = pairRows(s.before, s.before + s.rows);
    const next = pairRows(s.before + s.rows, s.before + s.rows + K);
    let threw = false, acked = s.before;
    active = true;
    if (s.api === "sync" || !queued) {
      try {
        if (s.api === "sync") w.appendSync(chunk);
        else await w.append(chunk);
      } catch {
        threw = true;
      }
      active = false;
      if (!threw) w.appendSync(next);
      if (!threw) acked += s.rows + K;
    } else {
      // The next K rows appended behind it at once, not awaited.
      const [cut, after] = await Promise.allSettled([w.append(chunk), w.append(next)]);
      active = false;
      threw = cut.status === "rejected";
      // Behind a failed (and undone) append, none is written.
      if (threw) assert.equal(after.status, "rejected");
      else acked += s.rows + (after.status === "fulfilled" ? K : 0);
    }
    w.closeSync();
    return { threw, acked, rows: w.rows };
  } finally {
    layer.uninstall();
  }
}

test(
  "an append across shards stopped before any of its file operations is undone whole, or kept whole once its journal is cleared: recoverStack, onRecovery and NumPy agree",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-journal-");
    try {
      const recovered: string[] = [];
      const expected: number[] = [];
      let cuts = 0, undone = 0, refused = 0;
      for (const s of SCENARIOS) {
        const stack = join(dir, s.name);
        // Before each file operation of the append: a copy of the stack, as a crash there leaves it.
        const snaps: Array<{ path: string; cleared: boolean }> = [];
        let lockWrites = 0;
        const { threw } = await cutAppend(stack, s, (op) => {
          const path = join(dir, `${s.name}-${snaps.length}`);
          deadCopy(stack, path);
          snaps.push({ path, cleared: lockWrites === 2 });
          if (op.kind === "write" && op.path.endsWith("stack.lock")) lockWrites++;
          return undefined;
        });
        assert.equal(threw, false);
        assert.equal(lockWrites, 2, `${s.name}: the journal written and cleared`);
        recovered.push(stack);
        expected.push(s.before + s.rows + K);
        for (const { path, cleared } of snaps) {
          cuts++;
          const record = lockOf(path)!;
          const journaled = record.journal !== undefined;
          // What a reader sees before recovery: never part of the append.
          using r = NpyStackReader.openSync(path);
          const first = Math.floor(s.before / 10); // the shard the append starts in
          assert.ok(cleared || r.shardRows.length <= first, `${path}: ${r.shardRows} listed`);
          r.closeSync();
          const reopened = path + "-reopened";
          cpSync(path, reopened, { recursive: true });
          if (journaled) {
            // The default onRecovery refuses a cut it would undo, as does a merge, each putting
            // the dead writer's record (and its journal) back.
            try {
              NpyStackWriter.openSync(path).closeSync();
            } catch (e) {
              assert.ok(e instanceof NpyRecoveryError, `${path}: ${e}`);
              if (/across shards/.test(e.message)) {
                refused++;
                assert.match(await npyInfo(path), /recoverStack rolls it back: \d+\.npy/);
              }
              assert.deepEqual(lockOf(path), record);
              await assert.rejects(mergeStacks(join(dir, "merged"), [path]), NpyRecoveryError);
              assert.deepEqual(lockOf(path), record);
            }
          }
          const { rows } = recoverStackSync(path);
          assert.equal(lockOf(path), undefined);
          const want = cleared ? s.before + s.rows : journaled ? s.before : undefined;
          if (want !== undefined) assert.equal(rows, want, `${path}: recovered`);
          else {
            assert.ok(rows >= s.flushed && rows <= s.before && rows % K === 0, `${path}: ${rows}`);
          }
          if (journaled && rows === s.before) undone++;
          // A writer reopening the copy recovers it the same way, and appends after it.
          {
            using again = NpyStackWriter.openSync(reopened, { onRecovery: "truncate" });
            assert.equal(again.rows, rows, `${reopened}: reopened`);
            again.appendSync(pairRows(rows, rows + K));
          }
          assert.equal(lockOf(reopened), undefined);
          recovered.push(path, reopened);
          expected.push(rows, rows + K);
        }
      }
      assert.deepEqual(numpyStackRows(recovered), expected);
      assert.ok(refused > 0 && undone > refused, `${undone} undone, ${refused} refused`);
      console.log(`cut appends: ${cuts} stops, ${undone} undone by the journal`);
    } finally {
      cleanup();
    }
  },
);

test(
  "a lock without a journal (older writers), or with a malformed one, reads as before: the rows present are adopted",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-journal-");
    try {
      const stack = join(dir, "s");
      // Copies as the append creates shard 4: shards 2 and 3 full, unlisted.
      let copied = false;
      await cutAppend(stack, present(SCENARIOS[0], "first scenario"), (op) => {
        if (!copied && op.kind === "open" && op.path.endsWith(`${sep}4.npy`)) {
          copied = true;
          for (const name of ["journal", "none", "bad"]) deadCopy(stack, join(dir, name));
        }
        return undefined;
      });
      assert.deepEqual(lockOf(join(dir, "journal"))!.journal, { shard: 2, rows: 8 });
      const { journal: _, ...old } = lockOf(join(dir, "journal"))!;
      writeFileSync(join(dir, "none", "stack.lock"), JSON.stringify(old));
      writeFileSync(join(dir, "bad", "stack.lock"), JSON.stringify({ ...old, journal: "x" }));
      assert.deepEqual(recoverStackSync(join(dir, "journal")).shardRows, [10, 10, 8]);
      for (const name of ["none", "bad"]) {
        assert.deepEqual(recoverStackSync(join(dir, name)).shardRows, [10, 10, 10, 10], name);
      }
      assert.deepEqual(
        numpyStackRows(["journal", "none", "bad"].map((n) => join(dir, n))),
        [28, 40, 40],
      );
    } finally {
      cleanup();
    }
  },
);

test(
  "an append across shards that fails at any of its file operations (EIO) is undone by the writer: close() lists the rows before it",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-journal-");
    try {
      const stacks: string[] = [];
      const rows: number[] = [];
      let ops = 0, failed = 0;
      for (const s of SCENARIOS.slice(0, 2)) {
        // How many file operations the append (and the one queued behind it) makes.
        let count = 0;
        await cutAppend(join(dir, `${s.name}-count`), s, () => void count++, true);
        for (let at = 0; at < count; at++) {
          const stack = join(dir, `${s.name}-eio-${at}`);
          let n = 0, lockWrites = 0, cleared = false; // the journal cleared before the fault
          const { threw, acked, rows: told } = await cutAppend(stack, s, (op) => {
            if (n++ === at) {
              cleared = lockWrites === 2 && !op.path.endsWith("stack.lock"); // and synced
              return "EIO";
            }
            if (op.kind === "write" && op.path.endsWith("stack.lock")) lockWrites++;
            return undefined;
          }, true);
          if (threw) failed++;
          assert.equal(lockOf(stack), undefined, `${stack}: stack.lock left`);
          using r = NpyStackReader.openSync(stack);
          assert.deepEqual(r.unlistedShards, [], stack);
          // Once the journal is cleared the append is complete: failing to list it is no cut.
          const want = threw ? (cleared ? s.before + s.rows : s.before) : acked;
          if (threw && !cleared) assert.equal(told, s.before, `${stack}: the writer's rows`);
          assert.ok(r.rows === want, `${stack}: fault at operation ${at}: ${r.rows} rows`);
          stacks.push(stack);
          rows.push(r.rows);
        }
        ops += count;
      }
      assert.ok(failed > ops / 2, `${failed} of ${ops} faults failed the append`);
      assert.deepEqual(numpyStackRows(stacks), rows);
      console.log(`append faults: ${ops}, ${failed} failed it`);
    } finally {
      cleanup();
    }
  },
);

/** Where the stopped children stop: the file operation, and what recovery keeps. */
const STOPS: Array<{ at: { kind: string; name: string; nth: number }; keeps: "before" | "all" }> = [
  // Shard 1 filled and closed (unlisted), shard 2 about to be created: between the parts.
  { at: { kind: "open", name: "2.npy", nth: 1 }, keeps: "before" },
  // Every part written: the journal about to be cleared.
  { at: { kind: "write", name: "stack.lock", nth: 2 }, keeps: "before" },
  // The journal cleared, the shards it filled about to be listed.
  { at: { kind: "open", name: "info", nth: 1 }, keeps: "all" },
];

test(
  "stack writers of every runtime stopped at known points of an append across shards: SIGKILLed, recovery undoes it whole until its journal is cleared; exiting there, the writer undoes it itself",
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-journal-");
    try {
      const runtimes = (["deno", "bun", "node"] as Runtime[]).filter((r) => childCommand(r));
      const stacks: string[] = [];
      const rows: number[] = [];
      let kills = 0, exits = 0;
      for (const runtime of runtimes) {
        for (const [i, stop] of STOPS.entries()) {
          for (const exit of [false, true]) {
            const stack = join(dir, `${runtime}-${i}-${exit ? "exit" : "kill"}`);
            const child = new Child(runtime, {
              task: "stack-cut",
              path: stack,
              batch: 7,
              shardRows: 10,
              rows: 14, // shard 1 open with 4 rows: the next 7 fill it and go on in shard 2
              stopAt: stop.at,
              exit,
            });
            assert.equal(await child.waitFor("open"), "open 14", child.stderr);
            assert.equal(await child.waitFor("stopped"), "stopped", `${runtime}: ${child.stderr}`);
            const want = stop.keeps === "all" ? 21 : 14;
            stacks.push(stack);
            rows.push(want);
            if (exit) {
              // The exit hook closes the writer in the middle of its append: undone, or listed.
              assert.equal(await child.exited, 0, `${runtime}: ${child.stderr}`);
              assert.equal(child.stderr, "", runtime);
              assert.equal(lockOf(stack), undefined, `${runtime}, stop ${i}: stack.lock left`);
              using r = NpyStackReader.openSync(stack);
              assert.equal(r.rows, want, `${runtime}, stop ${i}, exit`);
              assert.deepEqual(r.unlistedShards, []);
              exits++;
              continue;
            }
            await child.kill();
            kills++;
            const record = lockOf(stack)!;
            assert.equal(record.pid, child.process.pid);
            const journal = stop.keeps === "all" ? undefined : { shard: 1, rows: 4 };
            assert.deepEqual(record.journal, journal);
            using r = NpyStackReader.openSync(stack);
            assert.deepEqual(r.shardRows, [10], `${runtime}: listed before recovery`);
            r.closeSync();
            if (stop.keeps === "before") {
              assert.match(await npyInfo(stack), /in an append across shards stack\.lock records/);
              assert.throws(() => NpyStackWriter.openSync(stack), NpyRecoveryError);
              assert.deepEqual(lockOf(stack), record);
            }
            assert.equal(recoverStackSync(stack).rows, want, `${runtime}, stop ${i}`);
          }
        }
      }
      assert.deepEqual(numpyStackRows(stacks), rows);
      console.log(`stopped: ${kills} killed, ${exits} exited (${runtimes.join(", ")})`);
    } finally {
      cleanup();
    }
  },
);
