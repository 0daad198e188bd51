/**
 * Large async operations leave the event loop free: `append()`, `flush()` and `close()` of
 * the writer and `read()`/`chunks()` of the reader hand transfers above 1 MiB to the thread
 * pool, so a timer set before the call fires before the call settles. Small ones still run
 * at once. The bytes are checked by NumPy, and calls not awaited land in call order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { NpyAppendArray, NpyReader, NpyRecoveryError } from "../mod.ts";
import { statSync, truncateSync } from "node:fs";
import { type FileSystem, NODE_FILE_SYSTEM, setFileSystem } from "../lib/file.ts";
import { makeTempDir, runPython } from "./_util.ts";

const BIG_ROWS = 1 << 20; // rows of 16 float32: 64 MiB

/**
 * How `run()` treats the event loop: whether its promise settled before the microtask queue
 * ran dry (the work was done on the main thread, at once), and how many turns a 1 ms
 * interval timer got while it was pending. A call that does its transfer on the main thread
 * settles at once; one that hands it to the thread pool settles only on a later turn of the
 * event loop. (How long the loop may stall is measured in bench/loop.ts, not here.)
 */
async function loopTurns(run: () => Promise<unknown>): Promise<{ atOnce: boolean; ticks: number }> {
  let settled = false;
  let ticks = 0;
  const interval = setInterval(() => ticks++, 1);
  try {
    const done = run().finally(() => settled = true);
    for (let i = 0; i < 100; i++) await null;
    const atOnce = settled;
    await done;
    return { atOnce, ticks };
  } finally {
    clearInterval(interval);
  }
}

/** Whether `run()` left its transfer to the event loop (see loopTurns). */
async function yieldsToTimers(run: () => Promise<unknown>): Promise<boolean> {
  return !(await loopTurns(run)).atOnce;
}

/** Whether `run()` settled at once, on the main thread (see loopTurns). */
async function runsAtOnce(run: () => Promise<unknown>): Promise<boolean> {
  return (await loopTurns(run)).atOnce;
}

/** Rows of 16 float32 where row i holds i + column / 100. */
function rows(start: number, count: number): Float32Array {
  const data = new Float32Array(count * 16);
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < 16; c++) data[r * 16 + c] = ((start + r) % 4096) + c / 100;
  }
  return data;
}

/** NumPy's check of a file written with rows(…): its shape, and that row i is as made. */
function numpyCheck(path: string): { shape: number[]; ok: boolean } {
  return runPython(
    `
a = np.load(json.load(sys.stdin), mmap_mode="r")
i = np.arange(a.shape[0]) % 4096
want = (i[:, None] + np.arange(16)[None, :] / 100).astype("<f4")
print(json.dumps({"shape": list(a.shape), "ok": bool((a == want).all())}))
`,
    path,
  );
}

test("append(), flush() and close() of large data let timers run before they settle", async () => {
  const { dir, cleanup } = makeTempDir("npy-loop-");
  try {
    const path = join(dir, "a.npy");
    const w = await NpyAppendArray.open(path, { descr: "<f4", shape: [16] });
    const big = rows(0, BIG_ROWS);
    assert.equal(await yieldsToTimers(() => w.append(big)), true, "a 64 MiB append");
    // A small append still runs at once: its promise is settled before any timer.
    assert.equal(await runsAtOnce(() => w.append(rows(BIG_ROWS, 1))), true, "one row");
    assert.equal(await yieldsToTimers(() => w.close()), true, "close() syncs off the loop");
    assert.deepEqual(numpyCheck(path), { shape: [BIG_ROWS + 1, 16], ok: true });

    // A 64 MiB buffer: the appends that fill it, flush() and close() write it off the loop.
    const buffered = join(dir, "b.npy");
    const b = await NpyAppendArray.open(buffered, {
      descr: "<f4",
      shape: [16],
      bufferSize: 64 << 20,
      durability: "none",
    });
    const piece = BIG_ROWS / 2; // 32 MiB
    assert.equal(await runsAtOnce(() => b.append(rows(0, piece))), true, "buffered");
    assert.equal(await yieldsToTimers(() => b.flush()), true, "flush() of 32 MiB");
    await b.append(rows(piece, piece));
    assert.equal(
      await yieldsToTimers(() => b.append(rows(2 * piece, piece))),
      true,
      "the append that fills the buffer writes it",
    );
    await b.append(rows(3 * piece, piece));
    assert.equal(await yieldsToTimers(() => b.close()), true, "close() of 32 MiB buffered");
    assert.deepEqual(numpyCheck(buffered), { shape: [2 * BIG_ROWS, 16], ok: true });
  } finally {
    cleanup();
  }
});

test("large appends not awaited land in call order; appendSync waits its turn", async () => {
  const { dir, cleanup } = makeTempDir("npy-loop-");
  try {
    const path = join(dir, "a.npy");
    const w = await NpyAppendArray.open(path, { descr: "<f4", shape: [16] });
    const quarter = BIG_ROWS / 4;
    const pending = [
      w.append(rows(0, quarter)),
      w.append(rows(quarter, 3)), // small, behind a large one in the queue
      w.append(rows(quarter + 3, quarter)),
      w.append([Array.from(rows(2 * quarter + 3, 1))]),
    ];
    assert.equal(w.rows, 2 * quarter + 4, "rows counts what is queued");
    assert.throws(() => w.appendSync(rows(0, 1)), /async operations on this writer are still/);
    await Promise.all(pending);
    w.appendSync(rows(2 * quarter + 4, 1));
    await w.close();
    assert.deepEqual(numpyCheck(path), { shape: [2 * quarter + 5, 16], ok: true });
  } finally {
    cleanup();
  }
});

test("NpyReader read() and chunks() of large ranges let timers run", async () => {
  const { dir, cleanup } = makeTempDir("npy-loop-");
  try {
    const path = join(dir, "a.npy");
    const w = NpyAppendArray.openSync(path, { descr: "<f4", shape: [16] });
    w.appendSync(rows(0, BIG_ROWS));
    w.closeSync();
    await using r = await NpyReader.open(path);
    let part: Float32Array | undefined;
    assert.equal(
      await yieldsToTimers(async () => part = (await r.read(0, BIG_ROWS)).data as Float32Array),
      true,
      "read() of 64 MiB",
    );
    assert.deepEqual(part!.subarray(16 * 1000, 16 * 1001), rows(1000, 1));
    assert.equal(await runsAtOnce(() => r.read(5, 6)), true, "a one-row read runs at once");
    const chunks = r.chunks({ rows: BIG_ROWS / 2 }); // 32 MiB each
    assert.equal(await yieldsToTimers(() => chunks.next()), true, "chunks() of 32 MiB");
    let seen = BIG_ROWS / 2;
    for await (const chunk of chunks) seen += chunk.shape[0] ?? 0;
    assert.equal(seen, BIG_ROWS);
  } finally {
    cleanup();
  }
});

/** The real file system, whose thread-pool calls take 30 ms more (a slow disk). */
const SLOW_DISK: FileSystem = {
  ...NODE_FILE_SYSTEM,
  write: (fd, buffer, offset, length, position, callback) =>
    NODE_FILE_SYSTEM.write(fd, buffer, offset, length, position, (e, n, b) => {
      setTimeout(() => callback(e, n, b), 30);
    }),
  read: (fd, buffer, offset, length, position, callback) =>
    NODE_FILE_SYSTEM.read(fd, buffer, offset, length, position, (e, n, b) => {
      setTimeout(() => callback(e, n, b), 30);
    }),
  fdatasync: (fd, callback) =>
    NODE_FILE_SYSTEM.fdatasync(fd, (e) => setTimeout(() => callback(e), 30)),
};

test("on a slow disk, timers keep running while large appends, syncs and reads wait", async () => {
  const { dir, cleanup } = makeTempDir("npy-loop-");
  const previous = setFileSystem(SLOW_DISK); // files opened from now on use it
  try {
    const path = join(dir, "a.npy");
    const w = await NpyAppendArray.open(path, { descr: "<f4", shape: [16], bufferSize: 4 << 20 });
    const ticksOf = async (run: () => Promise<unknown>) => (await loopTurns(run)).ticks;
    assert.ok(await ticksOf(() => w.append(rows(0, 1 << 16))) >= 5, "append() of 4 MiB");
    assert.ok(await ticksOf(() => w.append(rows(1 << 16, 1 << 15))) === 0, "2 MiB buffered");
    assert.ok(await ticksOf(() => w.flush()) >= 5, "flush() of the buffer");
    assert.ok(await ticksOf(() => w.close()) >= 5, "close(): fdatasync");
    assert.deepEqual(numpyCheck(path), { shape: [(1 << 16) + (1 << 15), 16], ok: true });
    await using r = await NpyReader.open(path);
    assert.ok(await ticksOf(() => r.read(0, 1 << 16)) >= 5, "read() of 4 MiB");
    const chunks = r.chunks({ rows: 1 << 15 });
    assert.ok(await ticksOf(() => chunks.next()) >= 5, "chunks() of 2 MiB");
    await chunks.return(undefined);
  } finally {
    setFileSystem(previous);
    cleanup();
  }
});

test("chunks() reads one chunk ahead, yet delivers every whole chunk before an error", async () => {
  const { dir, cleanup } = makeTempDir("npy-loop-");
  try {
    const path = join(dir, "cut.npy");
    const w = NpyAppendArray.openSync(path, { descr: "<f4", shape: [16] });
    w.appendSync(rows(0, 10));
    w.closeSync();
    truncateSync(path, statSync(path).size - 4 * 64 - 8); // 5 whole rows and part of a 6th
    for (const form of ["async", "sync"] as const) {
      using r = NpyReader.openSync(path, { allowTruncated: true });
      const seen: number[] = [];
      const iterate = async () => {
        if (form === "sync") {
          for (const c of r.chunksSync({ rows: 2 })) seen.push((c.data as Float32Array)[0]!);
        } else {
          for await (const c of r.chunks({ rows: 2 })) seen.push((c.data as Float32Array)[0]!);
        }
      };
      await assert.rejects(iterate(), NpyRecoveryError, form);
      assert.deepEqual(seen, [0, 2], `${form}: the whole chunks before the cut`);
    }
    // A consumer that stops early leaves no read behind that fails unhandled.
    using r = NpyReader.openSync(path, { allowTruncated: true });
    for await (const c of r.chunks({ rows: 1 })) {
      assert.equal(c.shape[0], 1);
      break;
    }
  } finally {
    cleanup();
  }
});
