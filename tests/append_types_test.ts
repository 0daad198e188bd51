/**
 * The type of `append`'s chunk: the forms the README documents type-check, and what can
 * never be a chunk is a compile error (`deno check` and `tsc` run over this file: an
 * `@ts-expect-error` that expects nothing fails them). The accepted forms also append.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadNpySync, NpyAppendArray, type NpyChunk, type NpyStackWriter } from "../mod.ts";
import { makeTempDir } from "./_util.ts";

/** Never called: each line must fail to type-check, or the file does not compile. */
export function _wrongChunks(w: NpyAppendArray, s: NpyStackWriter): void {
  // @ts-expect-error undefined is not a chunk
  w.appendSync(undefined);
  // @ts-expect-error null is not a chunk
  void w.append(null);
  // @ts-expect-error a symbol is not a chunk
  w.appendSync(Symbol("x"));
  // @ts-expect-error a function is not a chunk
  w.appendSync(() => 1);
  // @ts-expect-error a Map is not a record
  w.appendSync(new Map([["x", 1]]));
  // @ts-expect-error a Set is not an array
  void w.appendFrom([new Set([1, 2])]);
  // @ts-expect-error a promise must be awaited first
  w.appendSync(Promise.resolve([1, 2]));
  // @ts-expect-error the stack writer takes the same chunks
  s.appendSync(undefined);
}

test("append accepts every documented chunk form at compile time and at run time", async () => {
  const { dir, cleanup } = makeTempDir("npy-types-");
  try {
    const path = join(dir, "a.npy");
    {
      await using w = await NpyAppendArray.open(path, { descr: "<f8", shape: [0, 2] });
      const forms: NpyChunk[] = [
        Float64Array.of(1, 2),
        [[3, 4]],
        { data: [5, 6], shape: [1, 2] },
        { data: Float32Array.of(7, 8), shape: [1, 2], descr: "<f4" },
        new DataView(Float64Array.of(9, 10).buffer),
      ];
      for (const chunk of forms.slice(0, -1)) await w.append(chunk);
      w.appendSync({
        data: new Uint8Array(Float64Array.of(9, 10).buffer),
        shape: [1, 2],
        descr: "<f8",
      });
      await w.appendFrom([Float64Array.of(11, 12)]);
    }
    assert.deepEqual(loadNpySync(path).data, Float64Array.from({ length: 12 }, (_, i) => i + 1));
    // A lone record as a plain object, and Dates, type-check as chunks too.
    const rec = join(dir, "r.npy");
    {
      using w = NpyAppendArray.openSync(rec, { descr: [["t", "<M8[ms]"], ["x", "<f4"]] });
      w.appendSync({ t: new Date(5), x: 1.5 });
      w.appendSync([{ t: 6n, x: 2.5 }]);
    }
    assert.deepEqual(loadNpySync(rec).shape, [2]);
    const dates = join(dir, "d.npy");
    {
      using w = NpyAppendArray.openSync(dates, { descr: "<M8[ms]" });
      w.appendSync(new Date(7));
      w.appendSync([new Date(8), new Date(9)]);
    }
    assert.deepEqual([...(loadNpySync(dates).data as BigInt64Array)], [7n, 8n, 9n]);
  } finally {
    cleanup();
  }
});
