/**
 * encodeNpy() and saveNpy() write exactly the bytes `np.save` writes for the same array:
 * TypedArrays, ndarray-likes, nested JS arrays, C and Fortran order, 0-d and empty arrays,
 * byte-swapped descrs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Descr,
  encodeNpy,
  loadNpy,
  type NpyChunk,
  NpyDtypeError,
  NpyShapeError,
  saveNpy,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import { hex } from "./_reader_util.ts";

interface Case {
  chunk: NpyChunk;
  options?: { descr?: Descr; shape?: number[]; fortranOrder?: boolean };
  /** What NumPy saves: flat values in file order, dtype, shape, order. */
  py: { values: number[]; descr: string; shape: number[]; order: "C" | "F" };
}

const seq = (n: number) => Array.from({ length: n }, (_, i) => i * 1.5 - 4);
const ints = (n: number) => Array.from({ length: n }, (_, i) => i * 3 - 5);

const CASES: Case[] = [
  {
    chunk: { data: new Float64Array(seq(12)), shape: [4, 3] },
    py: { values: seq(12), descr: "<f8", shape: [4, 3], order: "C" },
  },
  {
    chunk: { data: new Float32Array(seq(6)), shape: [2, 3], fortranOrder: true },
    py: { values: seq(6), descr: "<f4", shape: [2, 3], order: "F" },
  },
  {
    chunk: new Uint8Array([1, 2, 3, 250, 0]),
    py: { values: [1, 2, 3, 250, 0], descr: "|u1", shape: [5], order: "C" },
  },
  {
    chunk: new Int32Array(ints(4)),
    options: { descr: ">i4", shape: [2, 2] },
    py: { values: ints(4), descr: ">i4", shape: [2, 2], order: "C" },
  },
  {
    chunk: 2.5,
    options: { descr: "<f8" },
    py: { values: [2.5], descr: "<f8", shape: [], order: "C" },
  },
  {
    chunk: { data: new Float32Array(0), shape: [0, 3] },
    py: { values: [], descr: "<f4", shape: [0, 3], order: "C" },
  },
  {
    chunk: [[1, 2], [3, 4], [5, 6]],
    options: { descr: "<i2" },
    py: { values: [1, 2, 3, 4, 5, 6], descr: "<i2", shape: [3, 2], order: "C" },
  },
  {
    chunk: { data: new Int16Array(ints(24)), shape: [2, 3, 4], fortranOrder: true },
    py: { values: ints(24), descr: "<i2", shape: [2, 3, 4], order: "F" },
  },
];

const PY_SAVE = `
import io
out = []
for c in json.load(sys.stdin):
    d = np.array(c["values"]).astype(c["descr"])
    a = d.reshape(c["shape"]) if c["order"] == "C" else d.reshape(c["shape"][::-1]).T
    f = io.BytesIO()
    np.save(f, a)
    out.append(f.getvalue().hex())
print(json.dumps(out))
`;

test("encodeNpy() and saveNpy() write np.save's exact bytes", async () => {
  const expected = runPython<string[]>(PY_SAVE, CASES.map((c) => c.py));
  const { dir, cleanup } = makeTempDir("npy-encode-");
  try {
    for (const [i, c] of CASES.entries()) {
      const label = JSON.stringify(c.py);
      assert.equal(hex(encodeNpy(c.chunk, c.options)), expected[i], label);
      const path = join(dir, `s${i}.npy`);
      if (i % 2) await saveNpy(path, c.chunk, c.options);
      else saveNpySync(path, c.chunk, c.options);
      assert.equal(hex(new Uint8Array(readFileSync(path))), expected[i], label);
      // And it reads back.
      const a = await loadNpy(path);
      assert.deepEqual(a.shape, c.py.shape);
      assert.deepEqual(Array.from(a.data as ArrayLike<number>), c.py.values, label);
      // loadNpy's result can be saved again unchanged.
      assert.equal(hex(encodeNpy(a)), expected[i], label);
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
  } finally {
    cleanup();
  }
});

test("encodeNpy() rejects a shape that does not match and values without a descr", () => {
  assert.throws(
    () => encodeNpy({ data: new Float32Array(5), shape: [2, 3] }),
    (e) => e instanceof NpyShapeError && /holds 6 elements but the data has 5/.test(e.message),
  );
  assert.throws(() => encodeNpy(new Float32Array(4), { shape: [3] }), NpyShapeError);
  assert.throws(() => encodeNpy([{}] as unknown as NpyChunk), NpyDtypeError);
  assert.throws(() => encodeNpy([1.5, 2], { descr: "<i8", shape: [2] }), NpyDtypeError);
});
