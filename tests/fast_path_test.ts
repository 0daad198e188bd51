/**
 * The writer's fast path (no cast, no copy) for TypedArrays and ndarray-likes of whole rows
 * in the file's layout writes exactly the bytes of the general path: each chunk is appended
 * once as it is and once with its data as a plain array (which always takes the general
 * path), and the two files must be equal byte for byte and equal to NumPy's. Chunks that
 * must not take the fast path (another descr, another order, a wrong shape) still cast,
 * reorder or refuse as before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Descr, NpyAppendArray, type NpyArrayLike, NpyShapeError } from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";

interface Case {
  name: string;
  descr: Descr;
  rowShape: number[];
  fortranOrder?: boolean;
  chunk: NpyArrayLike;
  /** The same elements as plain values (the general path). */
  values: NpyArrayLike;
}

function cases(): Case[] {
  const f4 = Float32Array.from({ length: 3 * 16 }, (_, i) => i / 7);
  const i2 = Int16Array.from({ length: 4 * 6 }, (_, i) => i * 1000 - 9000);
  const record = new Uint8Array(3 * 12);
  const recordView = new DataView(record.buffer);
  const objects = [0, 1, 2].map((i) => ({ t: BigInt(i * 1e9 + 7), x: i / 4 - 1 }));
  objects.forEach((o, i) => {
    recordView.setBigInt64(i * 12, o.t, true);
    recordView.setFloat32(i * 12 + 8, o.x, true);
  });
  const big = new DataView(new ArrayBuffer(2 * 3 * 8));
  for (let i = 0; i < 6; i++) big.setFloat64(i * 8, i * 1.25 - 2, false);
  const bytes = Uint8Array.from({ length: 10 }, (_, i) => i * 25);
  return [
    {
      name: "Float32Array rows of 16",
      descr: "<f4",
      rowShape: [16],
      chunk: { data: f4, shape: [3, 16] },
      values: { data: Array.from(f4), shape: [3, 16] },
    },
    {
      name: "Float32Array with the file's descr given",
      descr: "<f4",
      rowShape: [16],
      chunk: { data: f4, shape: [3, 16], descr: "<f4" },
      values: { data: Array.from(f4), shape: [3, 16] },
    },
    {
      name: "Int16Array rows of (3, 2)",
      descr: "<i2",
      rowShape: [3, 2],
      chunk: { data: i2, shape: [4, 3, 2] },
      values: { data: Array.from(i2), shape: [4, 3, 2] },
    },
    {
      name: "Fortran order, chunk in Fortran order",
      descr: "<i2",
      rowShape: [6],
      fortranOrder: true,
      chunk: { data: i2, shape: [6, 4], fortranOrder: true },
      values: { data: Array.from(i2), shape: [6, 4], fortranOrder: true },
    },
    {
      name: "raw record bytes",
      descr: [["t", "<i8"], ["x", "<f4"]],
      rowShape: [],
      chunk: { data: record, shape: [3], descr: [["t", "<i8"], ["x", "<f4"]] },
      values: { data: objects, shape: [3] },
    },
    {
      name: "raw >f8 bytes in a DataView",
      descr: ">f8",
      rowShape: [3],
      chunk: { data: big, shape: [2, 3], descr: ">f8" },
      values: { data: [-2, -0.75, 0.5, 1.75, 3, 4.25], shape: [2, 3] },
    },
    {
      name: "Uint8Array into u1",
      descr: "|u1",
      rowShape: [5],
      chunk: { data: bytes, shape: [2, 5], descr: "|u1" },
      values: { data: Array.from(bytes), shape: [2, 5] },
    },
  ];
}

test("ndarray-likes in the file's layout: the fast path writes the general path's bytes", () => {
  const { dir, cleanup } = makeTempDir("npy-fast-");
  try {
    for (const c of cases()) {
      const fast = join(dir, "fast.npy");
      const general = join(dir, "general.npy");
      for (const [path, chunk] of [[fast, c.chunk], [general, c.values]] as const) {
        using w = NpyAppendArray.openSync(path, {
          mode: "overwrite",
          descr: c.descr,
          shape: c.rowShape,
          fortranOrder: c.fortranOrder,
        });
        w.appendSync(c.chunk); // the same first chunk in both files
        w.appendSync(chunk); // then the fast path, or the general one
      }
      assert.deepEqual(readFileSync(fast), readFileSync(general), c.name);
      const numpy = runPython<{ equal: boolean }>(
        `
p, fortran = json.load(sys.stdin)
a = np.load(p, mmap_mode="r")
axis = a.ndim - 1 if fortran else 0
n = a.shape[axis] // 2
first, second = np.split(np.asarray(a), [n], axis=axis)
print(json.dumps({"equal": first.tobytes() == second.tobytes()}))
`,
        [fast, c.fortranOrder ?? false],
      );
      assert.equal(numpy.equal, true, `${c.name}: NumPy sees the same rows twice`);
    }
  } finally {
    cleanup();
  }
});

test("ndarray-likes that need a cast, a reordering or a refusal leave the fast path", () => {
  const { dir, cleanup } = makeTempDir("npy-fast-");
  try {
    const path = join(dir, "a.npy");
    using w = NpyAppendArray.openSync(path, { descr: "<f4", shape: [2] });
    w.appendSync({ data: Float32Array.of(1, 2), shape: [1, 2] }); // fast
    w.appendSync({ data: Float64Array.of(3, 4), shape: [1, 2] }); // <f8 values: cast
    w.appendSync({ data: Int16Array.of(5, 6), shape: [1, 2], descr: "<i2" }); // own descr
    w.appendSync({ data: Float32Array.of(7, 9, 8, 10), shape: [2, 2], fortranOrder: true });
    // A scijs-style strided view (the transpose of [[11, 12], [13, 14]]) and an offset one.
    const base = Float32Array.of(11, 13, 12, 14);
    w.appendSync({ data: base, shape: [2, 2], stride: [1, 2], offset: 0 } as NpyArrayLike);
    w.appendSync({ data: base, shape: [1, 2], stride: [2, 1], offset: 2 } as NpyArrayLike);
    const size = readFileSync(path).length;
    assert.throws(
      () => w.appendSync({ data: Float32Array.of(1, 2, 3), shape: [1, 3] }),
      NpyShapeError,
    );
    assert.throws(() => w.appendSync({ data: Float32Array.of(1, 2), shape: [2, 2] }));
    assert.equal(readFileSync(path).length, size, "refused chunks write nothing");
    w.closeSync();
    const values = runPython<number[][]>(
      `print(json.dumps(np.load(json.load(sys.stdin)).tolist()))`,
      path,
    );
    assert.deepEqual(values, [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [
      12,
      14,
    ]]);
  } finally {
    cleanup();
  }
});
