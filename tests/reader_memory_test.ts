/**
 * Reading a file much larger than the memory it may take: `chunks({ reuse: true })` reads every
 * chunk into one buffer, so RSS stays flat (at one chunk) however large the file. A sparse
 * file keeps the test fast and its disk use near zero.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { encodeHeader, NpyReader } from "../mod.ts";
import { makeTempDir } from "./_util.ts";

const ROW_BYTES = 64; // 16 × <f4
const ROWS = (1 << 30) / ROW_BYTES; // 1 GiB of data
const CHUNK_ROWS = (16 << 20) / ROW_BYTES; // 16 MiB chunks

/** A 1 GiB .npy file of zeros, sparse on disk, with one marked row per chunk. */
function makeSparseFile(path: string): number {
  const header = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [ROWS, 16] });
  const fd = openSync(path, "w");
  try {
    writeSync(fd, header, 0, header.length, 0);
    ftruncateSync(fd, header.length + ROWS * ROW_BYTES);
    // The last element of each chunk's first row holds the chunk's number.
    for (let k = 0; k < ROWS / CHUNK_ROWS; k++) {
      const mark = new Uint8Array(Float32Array.of(k).buffer);
      writeSync(fd, mark, 0, 4, header.length + k * CHUNK_ROWS * ROW_BYTES + 60);
    }
  } finally {
    closeSync(fd);
  }
  return header.length;
}

const MiB = 1 << 20;

test("chunks({ reuse: true }) reads 1 GiB in flat memory: one buffer for every chunk (two, in turn, for the async form, which reads ahead)", async () => {
  const { dir, cleanup } = makeTempDir("npy-reader-mem-");
  try {
    const path = join(dir, "big.npy");
    makeSparseFile(path);
    for (const kind of ["sync", "async"] as const) {
      using r = NpyReader.openSync(path);
      const start = process.memoryUsage().rss;
      let peak = start;
      let chunks = 0;
      const buffers = new Set<ArrayBufferLike>();
      const check = (data: Float32Array, k: number) => {
        assert.equal(data.length, CHUNK_ROWS * 16);
        assert.equal(data[15], k, `${kind} chunk ${k} mark`);
        assert.equal(data[16 * 1000 + 3], 0);
        buffers.add(data.buffer);
        assert.ok(buffers.size <= (kind === "sync" ? 1 : 2), `${kind} chunk ${k} reuses a buffer`);
        peak = Math.max(peak, process.memoryUsage().rss);
      };
      if (kind === "sync") {
        for (const c of r.chunksSync({ rows: CHUNK_ROWS, reuse: true })) {
          check(c.data as Float32Array, chunks++);
        }
      } else {
        for await (const c of r.chunks({ rows: CHUNK_ROWS, reuse: true })) {
          check(c.data as Float32Array, chunks++);
        }
      }
      assert.equal(chunks, ROWS / CHUNK_ROWS);
      const grew = (peak - start) / MiB;
      console.log(
        `reuse (${kind}): 1 GiB in ${chunks} chunks of 16 MiB, RSS +${grew.toFixed(1)} MiB`,
      );
      assert.ok(grew < 100, `RSS grew ${grew.toFixed(1)} MiB reading 1 GiB with reuse (${kind})`);
    }
    // Without reuse each chunk is a buffer of its own, safe to keep.
    using r = NpyReader.openSync(path);
    const [a, b] = [...r.chunksSync({ rows: 4, end: 8 })];
    assert.notEqual(a!.data, b!.data);
    assert.notEqual((a!.data as Float32Array).buffer, (b!.data as Float32Array).buffer);
  } finally {
    cleanup();
  }
});
