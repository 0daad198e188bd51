/**
 * NpyAppendArray against live NumPy: the files it writes load with `np.load` (also
 * `mmap_mode="r"`) to the expected values at every step, for every built-in dtype family, in
 * C and Fortran order, and it appends in place to files written by `np.save` and
 * `open_memmap`. Runs unchanged under Deno, Bun and Node (on the tsc build).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ensureAppendableSync,
  NpyAppendArray,
  type NpyChunk,
  NpyHeaderSpaceError,
} from "../mod.ts";
import { encodeHeader } from "../lib/header.ts";
import { writeFileSync } from "node:fs";
import { makeTempDir, runPython } from "./_util.ts";
import { checkWithNumpy, type NumpyCheck } from "./_writer_util.ts";

test("the seed example: [[1,2],[3,4]] then [[1,2],[3,4],[5,6]] twice loads as (8, 2) at every step", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "seed.npy");
    const checks: NumpyCheck[] = [];
    const expected: number[][] = [];
    {
      await using w = await NpyAppendArray.open(path, { descr: "<i8" });
      const chunks = [[[1, 2], [3, 4]], [[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4], [5, 6]]];
      for (const [i, chunk] of chunks.entries()) {
        await w.append(chunk);
        expected.push(...chunk);
        // A snapshot of the file right after the append: NumPy must load it as it is.
        const snap = join(dir, `seed-${i}.npy`);
        copyFileSync(path, snap);
        checks.push({
          name: `after append ${i}`,
          path: snap,
          expect: `np.array(${JSON.stringify(expected)}, dtype="<i8")`,
        });
      }
      assert.deepEqual(w.shape, [8, 2]);
      assert.equal(w.rows, 8);
    }
    checks.push({
      name: "closed",
      path,
      expect: "np.array([[1,2],[3,4],[1,2],[3,4],[5,6],[1,2],[3,4],[5,6]], dtype='<i8')",
    });
    // Plain JS numbers give float64, as JS numbers are.
    const inferred = join(dir, "inferred.npy");
    const w = NpyAppendArray.openSync(inferred);
    w.appendSync([[1, 2], [3, 4]]);
    w.appendSync([[1, 2], [3, 4], [5, 6]]);
    w.closeSync();
    checks.push({
      name: "inferred",
      path: inferred,
      expect: "np.array([[1,2],[3,4],[1,2],[3,4],[5,6]], dtype='<f8')",
    });
    checkWithNumpy(checks);
  } finally {
    cleanup();
  }
});

interface FamilyCase {
  name: string;
  descr?: unknown;
  chunks: unknown[];
  expect: string;
}

const FAMILIES: FamilyCase[] = [
  {
    name: "int8 from Int8Array",
    chunks: [Int8Array.of(-128, 0, 127), Int8Array.of(5)],
    expect: "np.array([-128, 0, 127, 5], dtype='|i1')",
  },
  {
    name: "uint8 declared, from numbers",
    descr: "|u1",
    chunks: [[0, 255], [7]],
    expect: "np.array([0, 255, 7], dtype='|u1')",
  },
  {
    name: "int16 big-endian from Int16Array",
    descr: ">i2",
    chunks: [Int16Array.of(1, -2), Int16Array.of(300)],
    expect: "np.array([1, -2, 300], dtype='>i2')",
  },
  {
    name: "uint16",
    chunks: [Uint16Array.of(1, 65535)],
    expect: "np.array([1, 65535], dtype='<u2')",
  },
  {
    name: "int32 rows",
    descr: "<i4",
    chunks: [[[1, 2, 3]], Int32Array.of(4, 5, 6, 7, 8, 9)],
    expect: "np.array([[1,2,3],[4,5,6],[7,8,9]], dtype='<i4')",
  },
  {
    name: "uint32",
    chunks: [Uint32Array.of(4294967295, 0)],
    expect: "np.array([4294967295, 0], dtype='<u4')",
  },
  {
    name: "int64 from bigints",
    chunks: [[-(2n ** 63n), 2n ** 63n - 1n], BigInt64Array.of(3n)],
    expect: "np.array([-2**63, 2**63-1, 3], dtype='<i8')",
  },
  {
    name: "uint64 from BigUint64Array",
    chunks: [BigUint64Array.of(2n ** 64n - 1n)],
    expect: "np.array([2**64-1], dtype='<u8')",
  },
  {
    name: "float16",
    descr: "<f2",
    chunks: [[0.5, -2, 65504], [Infinity]],
    expect: "np.array([0.5, -2, 65504, np.inf], dtype='<f2')",
  },
  {
    name: "float32 rows from Float32Array and numbers",
    chunks: [{ data: Float32Array.of(1.5, 2.5, 3.5, 4.5), shape: [2, 2] }, [[NaN, -0]]],
    expect: "np.array([[1.5,2.5],[3.5,4.5],[np.nan,-0.0]], dtype='<f4')",
  },
  {
    name: "float64 big-endian",
    descr: ">f8",
    chunks: [Float64Array.of(Math.PI, 1e300)],
    expect: "np.array([np.pi, 1e300], dtype='>f8')",
  },
  {
    name: "bool",
    chunks: [[[true, false], [false, true]]],
    expect: "np.array([[True, False], [False, True]])",
  },
  {
    name: "complex128 pairs",
    descr: "<c16",
    chunks: [[[1, 2], [3, -4]], [{ re: 0.5, im: 0 }]],
    expect: "np.array([1+2j, 3-4j, 0.5+0j], dtype='<c16')",
  },
  {
    name: "complex64 rows",
    descr: "<c8",
    chunks: [[[[1, 1], [2, 2]]]],
    expect: "np.array([[1+1j, 2+2j]], dtype='<c8')",
  },
  {
    name: "bytes S3",
    descr: "|S3",
    chunks: [["ab", "xyz"], ["q"]],
    expect: "np.array([b'ab', b'xyz', b'q'], dtype='|S3')",
  },
  {
    name: "unicode inferred U5",
    chunks: [["héllo", "😀"]],
    expect: "np.array(['héllo', '😀'], dtype='<U5')",
  },
  {
    name: "void V2",
    descr: "|V2",
    chunks: [[Uint8Array.of(1, 2), Uint8Array.of(3, 4)]],
    expect: "np.array([b'\\x01\\x02', b'\\x03\\x04'], dtype='|V2')",
  },
  {
    name: "datetime64[s]",
    descr: "<M8[s]",
    chunks: [[new Date("2024-01-01T00:00:01Z"), null], [0n]],
    expect: "np.array(['2024-01-01T00:00:01', 'NaT', '1970-01-01T00:00:00'], dtype='<M8[s]')",
  },
  {
    name: "timedelta64[ms]",
    descr: "<m8[ms]",
    chunks: [BigInt64Array.of(5n, -7n)],
    expect: "np.array([5, -7], dtype='<m8[ms]')",
  },
  {
    name: "records with a subarray",
    descr: [["id", "<u2"], ["xy", "<f4", [2]]],
    chunks: [[{ id: 1, xy: [0.5, 1] }], [{ id: 2, xy: [2, 3] }, { id: 3, xy: [4, 5] }]],
    expect: "np.array([(1,[0.5,1]),(2,[2,3]),(3,[4,5])], dtype=[('id','<u2'),('xy','<f4',(2,))])",
  },
  {
    name: "records inferred from objects",
    chunks: [[{ t: 1.5, n: 2n, ok: true }]],
    expect: "np.array([(1.5, 2, True)], dtype=[('t','<f8'),('n','<i8'),('ok','?')])",
  },
];

test(`appends of ${FAMILIES.length} dtype cases (every built-in family) load in NumPy`, async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const checks: NumpyCheck[] = [];
    for (const [i, c] of FAMILIES.entries()) {
      const path = join(dir, `family-${i}.npy`);
      const w = await NpyAppendArray.open(path, c.descr ? { descr: c.descr as string } : {});
      for (const chunk of c.chunks) await w.append(chunk as NpyChunk);
      await w.close();
      checks.push({ name: c.name, path, expect: c.expect });
    }
    checkWithNumpy(checks);
  } finally {
    cleanup();
  }
});

test("Fortran order grows the last axis; C-order, F-order, flat and strided chunks", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const checks: NumpyCheck[] = [];
    // (2, 3, k): C-ordered nested chunks are reordered into column-major blocks.
    const f3 = join(dir, "f3.npy");
    let w = NpyAppendArray.openSync(f3, { fortranOrder: true, descr: "<i4" });
    w.appendSync([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]]); // shape (2, 3, 2)
    w.appendSync({ data: Int32Array.of(13, 14, 15, 16, 17, 18), shape: [2, 3, 1] });
    // An F-ordered chunk is written as it is.
    w.appendSync({
      data: Int32Array.of(19, 20, 21, 22, 23, 24),
      shape: [2, 3, 1],
      fortranOrder: true,
    });
    assert.deepEqual(w.shape, [2, 3, 4]);
    w.closeSync();
    checks.push({
      name: "F (2,3,k)",
      path: f3,
      fortran: true,
      expect: "np.concatenate([np.array([[[1,2],[3,4],[5,6]],[[7,8],[9,10],[11,12]]]), " +
        "np.arange(13,19).reshape(2,3,1), np.arange(19,25).reshape(1,3,2).T], axis=2).astype('<i4')",
    });
    // A flat TypedArray is taken in the file's order (column blocks).
    const f2 = join(dir, "f2.npy");
    w = NpyAppendArray.openSync(f2, { fortranOrder: true, shape: [3], descr: "<f8" });
    w.appendSync([[1], [2], [3]]);
    w.appendSync(Float64Array.of(4, 5, 6, 7, 8, 9)); // two columns
    w.closeSync();
    checks.push({
      name: "F flat",
      path: f2,
      fortran: true,
      expect: "np.array([[1,4,7],[2,5,8],[3,6,9]], dtype='<f8')",
    });
    // C file, F-ordered chunk and a strided scijs-style view (a transpose).
    const c2 = join(dir, "c2.npy");
    w = NpyAppendArray.openSync(c2);
    w.appendSync({ data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2], fortranOrder: true });
    const base = Float32Array.of(10, 20, 30, 40, 50, 60); // a (2, 3) array
    w.appendSync({ data: base, shape: [3, 2], stride: [1, 3], offset: 0 }); // its transpose
    w.appendSync({ data: base, shape: [1, 2], stride: [1, -3], offset: 5 }); // [[60, 30]]
    w.closeSync();
    checks.push({
      name: "C from F and strided chunks",
      path: c2,
      expect: "np.array([[1,4],[2,5],[3,6],[10,40],[20,50],[30,60],[60,30]], dtype='<f4')",
    });
    checkWithNumpy(checks);
  } finally {
    cleanup();
  }
});

test("appends in place to files written by np.save and open_memmap (C and F order)", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const saved = join(dir, "saved.npy"), memmap = join(dir, "memmap.npy");
    const fsaved = join(dir, "fsaved.npy");
    runPython(
      `
p = json.load(sys.stdin)
np.save(p[0], np.arange(6, dtype='<f4').reshape(3, 2))
m = np.lib.format.open_memmap(p[1], mode='w+', dtype='>i2', shape=(2, 3))
m[:] = [[1, 2, 3], [4, 5, 6]]
m.flush(); del m
np.save(p[2], np.asfortranarray(np.arange(6, dtype='<i8').reshape(2, 3)))
print("null")
`,
      [saved, memmap, fsaved],
    );
    const sizeBefore = readFileSync(saved).subarray(0, 128);
    let w = NpyAppendArray.openSync(saved);
    assert.equal(w.descr, "<f4");
    assert.deepEqual(w.shape, [3, 2]);
    w.appendSync([[6, 7], [8, 9]]);
    w.closeSync();
    // Same header length: the rewrite was in place.
    assert.equal(readFileSync(saved).subarray(0, 10).join(), sizeBefore.subarray(0, 10).join());
    w = NpyAppendArray.openSync(memmap);
    w.appendSync(Int16Array.of(7, 8, 9));
    w.closeSync();
    w = NpyAppendArray.openSync(fsaved);
    assert.equal(w.fortranOrder, true);
    w.appendSync([[6], [7]]);
    w.closeSync();
    checkWithNumpy([
      { name: "np.save", path: saved, expect: "np.arange(10, dtype='<f4').reshape(5, 2)" },
      {
        name: "open_memmap",
        path: memmap,
        expect: "np.array([[1,2,3],[4,5,6],[7,8,9]], dtype='>i2')",
      },
      {
        name: "np.save F",
        path: fsaved,
        fortran: true,
        expect: "np.array([[0,1,2,6],[3,4,5,7]], dtype='<i8')",
      },
    ]);
  } finally {
    cleanup();
  }
});

test("files declared up front exist with 0 rows and load as empty arrays", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const a = join(dir, "rows.npy"), b = join(dir, "full.npy"), c = join(dir, "fortran.npy");
    const d = join(dir, "records.npy");
    const wa = await NpyAppendArray.open(a, { descr: "<f4", shape: [3] });
    const wb = NpyAppendArray.openSync(b, { descr: "<i2", shape: [0, 2, 2] });
    const wc = NpyAppendArray.openSync(c, { descr: "<u1", shape: [4, 0], fortranOrder: true });
    const wd = NpyAppendArray.openSync(d, { descr: [["a", "<i4"], ["b", "|S2"]], shape: [] });
    assert.deepEqual([wa.shape, wb.shape, wc.shape, wd.shape], [[0, 3], [0, 2, 2], [4, 0], [0]]);
    // Loadable while still open.
    checkWithNumpy([
      { name: "open rows", path: a, expect: "np.zeros((0, 3), '<f4')" },
    ]);
    await wa.close();
    wb.closeSync();
    wc.closeSync();
    wd.closeSync();
    checkWithNumpy([
      { name: "rows", path: a, expect: "np.zeros((0, 3), '<f4')" },
      { name: "full", path: b, expect: "np.zeros((0, 2, 2), '<i2')" },
      { name: "fortran", path: c, expect: "np.zeros((4, 0), '|u1', order='F')" },
      { name: "records", path: d, expect: "np.zeros((0,), [('a', '<i4'), ('b', '|S2')])" },
    ]);
  } finally {
    cleanup();
  }
});

test("open() refuses a header without growth room at once; after ensureAppendable() it appends", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    // 1. The smallest header that holds (3,): no growth room, no alignment padding. It
    //    could take 6 more rows before a digit is added: open() refuses it all the same.
    const tight = join(dir, "tight.npy");
    const fields = { descr: "<f8", fortranOrder: false, shape: [3] };
    let header: Uint8Array | undefined;
    for (let n = 40; header === undefined; n++) {
      try {
        header = encodeHeader(fields, { totalLength: n });
      } catch {
        // too short
      }
    }
    const file = new Uint8Array(header.length + 24);
    file.set(header);
    file.set(new Uint8Array(Float64Array.of(1, 2, 3).buffer), header.length);
    writeFileSync(tight, file);
    // 2. What old NumPy wrote: its own header code without the growth room NumPy >= 1.24
    //    adds, aligned to 16 bytes (9 spaces of padding here), made by NumPy itself.
    const old = join(dir, "old.npy");
    runPython(
      `from numpy.lib import _format_impl as f
f.ARRAY_ALIGN = 16
a = np.arange(198, dtype='<i4').reshape(99, 2)
d = f.header_data_from_array_1_0(a)
text = "{" + "".join("'%s': %s, " % (k, repr(v)) for k, v in sorted(d.items())) + "}"
with open(json.load(sys.stdin), "wb") as fp:
    fp.write(f._wrap_header(text, (1, 0)))
    fp.write(a.tobytes())
print("null")`,
      old,
    );
    for (const [path, name] of [[tight, "tight"], [old, "old"]] as const) {
      const before = readFileSync(path);
      for (
        const open of [
          () => NpyAppendArray.openSync(path),
          () => NpyAppendArray.openSync(path, { lock: false }),
        ]
      ) {
        assert.throws(open, (e) => {
          assert.ok(e instanceof NpyHeaderSpaceError);
          assert.equal(e.path, path);
          assert.ok(e.needed > e.available, `${e.needed} > ${e.available}`);
          assert.match(e.message, new RegExp(`^Cannot open ".*${name}\\.npy" for appending: `));
          assert.match(e.message, /ensureAppendable\(\)/);
          assert.match(e.message, /npy ensure-appendable/);
          return true;
        });
      }
      assert.deepEqual(readFileSync(path), before);
      assert.equal(existsSync(path + ".lock"), false);
    }
    ensureAppendableSync(tight);
    ensureAppendableSync(old);
    const w = NpyAppendArray.openSync(tight);
    w.appendSync([4, 5, 6, 7, 8, 9, 10]); // (10,): a digit more, in place
    w.closeSync();
    const o = NpyAppendArray.openSync(old);
    o.appendSync(Int32Array.of(198, 199));
    o.closeSync();
    checkWithNumpy([
      { name: "tight", path: tight, expect: "np.arange(1, 11, dtype='<f8')" },
      { name: "old", path: old, expect: "np.arange(200, dtype='<i4').reshape(100, 2)" },
    ]);
  } finally {
    cleanup();
  }
});
