/**
 * Large reads fill buffers that are not zeroed first (lib/file.ts bytesToFill): every byte a
 * caller sees must come from the file, and a read the file cannot fill must throw rather
 * than hand out the unfilled rest.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { truncateSync } from "node:fs";
import { join } from "node:path";
import {
  DtypeRegistry,
  loadNpySync,
  NpyDtypeError,
  NpyReader,
  NpyRecoveryError,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir } from "./_util.ts";

const ROWS = 40_000; // 16 columns of uint32: 2.5 MiB, over the 1 MiB async threshold
const pattern = (i: number) => (Math.imul(i, 2654435761) ^ 0xa5a5a5a5) >>> 0;

function makeFile(dir: string): string {
  const path = join(dir, "big.npy");
  const data = Uint32Array.from({ length: ROWS * 16 }, (_, i) => pattern(i));
  saveNpySync(path, { data, shape: [ROWS, 16] });
  return path;
}

function checkRows(data: Uint32Array, start: number): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== pattern(start * 16 + i)) assert.fail(`element ${start * 16 + i} differs`);
  }
  // The view is the whole buffer: nothing past the rows is reachable through `.buffer`.
  assert.equal(data.buffer.byteLength, data.byteLength);
}

test("large reads (read, readSync, chunks, chunksSync) return exactly the file's bytes", async () => {
  const { dir, cleanup } = makeTempDir("npy-fill-");
  try {
    const path = makeFile(dir);
    await using r = await NpyReader.open(path);
    checkRows((await r.read(5, ROWS - 5)).data as Uint32Array, 5);
    checkRows(r.readSync(0, 20_000).data as Uint32Array, 0);
    let at = 0;
    for await (const c of r.chunks({ rows: 9_000 })) {
      checkRows(c.data as Uint32Array, at);
      at += c.shape[0] ?? 0;
    }
    assert.equal(at, ROWS);
    at = 0;
    for (const c of r.chunksSync({ rows: 17_000 })) {
      checkRows(c.data as Uint32Array, at);
      at += c.shape[0] ?? 0;
    }
    assert.equal(at, ROWS);
  } finally {
    cleanup();
  }
});

test("a large read the file can no longer fill throws NpyRecoveryError, sync and async", async () => {
  const { dir, cleanup } = makeTempDir("npy-fill-");
  try {
    const path = makeFile(dir);
    await using r = await NpyReader.open(path);
    truncateSync(path, 128 + 64 * 30_000 + 10); // shrunk under the open reader
    // The async read is split into parts read at once (lib/file.ts): the count it reports
    // is the bytes up to the end of the file, whichever part met it.
    await assert.rejects(r.read(0, ROWS), (e) => {
      assert.ok(e instanceof NpyRecoveryError);
      assert.equal(e.actualBytes, 64 * 30_000 + 10);
      return true;
    });
    await assert.rejects(r.read(10_000, ROWS), (e) => {
      assert.ok(e instanceof NpyRecoveryError);
      assert.equal(e.actualBytes, 64 * 30_000 + 10);
      return true;
    });
    assert.throws(() => r.readSync(20_000, ROWS), NpyRecoveryError);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const c of r.chunks({ rows: 10_000 })) seen.push(c.shape[0] ?? 0);
    }, NpyRecoveryError);
    assert.deepEqual(seen, [10_000, 10_000, 10_000], "the whole chunks before the cut");
  } finally {
    cleanup();
  }
});

test("a file whose descr no plugin handles: one sentence naming the file and descr, the registry's reason as cause", () => {
  const { dir, cleanup } = makeTempDir("npy-fill-");
  try {
    const path = join(dir, "u2.npy");
    saveNpySync(path, Uint16Array.of(1, 2));
    const registry = new DtypeRegistry([]);
    for (
      const open of [
        () => NpyReader.openSync(path, { registry }),
        () => loadNpySync(path, { registry }),
      ]
    ) {
      assert.throws(open, (e) => {
        assert.ok(e instanceof NpyDtypeError);
        assert.equal(
          e.message,
          `Cannot read ${
            JSON.stringify(path)
          }: the registry has no dtype for the file's descr '<u2'`,
        );
        assert.equal(e.path, path);
        assert.equal(e.descr, "<u2");
        assert.ok(
          e.cause instanceof NpyDtypeError && /no registered dtype plugin/.test(e.cause.message),
        );
        return true;
      });
    }
  } finally {
    cleanup();
  }
});
