/**
 * Record forms NumPy writes that the library used to refuse (issue 11): subarrays of
 * subarrays and of records (the forms of NumPy's own test_descr_to_dtype), records with no
 * fields (`np.dtype([])`, itemsize 0) and fields of no bytes — appended to files NumPy made,
 * read back by the library and by NumPy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  defaultRegistry,
  type Descr,
  loadNpySync,
  normalizeDescr,
  NpyAppendArray,
  NpyReader,
  type RecordDtype,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";

test("a subarray of subarrays is one field of all the shapes, outermost first", () => {
  const rec = defaultRegistry.resolve([
    ["c", { base: "<f8", shape: [5] }, [2]],
    ["r", { base: { base: [["a", "<i2"]], shape: [3] }, shape: [2] }],
    ["z", { base: "<f4", shape: [] }, [2]],
  ]) as RecordDtype;
  // Canonical as NumPy writes it: a 2-tuple subarray becomes a 3-tuple, empty shapes go.
  assert.deepEqual(rec.descr, [
    ["c", { base: "<f8", shape: [5] }, [2]],
    ["r", { base: [["a", "<i2"]], shape: [3] }, [2]],
    ["z", "<f4", [2]],
  ]);
  assert.deepEqual(rec.fields.map((f) => [f.name, f.offset, f.shape]), [
    ["c", 0, [2, 5]],
    ["r", 80, [2, 3]],
    ["z", 92, [2]],
  ]);
  assert.equal(rec.itemsize, 100);
  const bytes = new Uint8Array(rec.itemsize);
  rec.encodeInto([{
    c: [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]],
    r: [[{ a: 1 }, { a: 2 }, { a: 3 }], [{ a: 4 }, { a: 5 }, { a: 6 }]],
    z: [0.5, -0.5],
  }], bytes);
  const [row] = rec.decode(bytes) as { c: Float64Array; r: { a: number }[]; z: Float32Array }[];
  assert.deepEqual([...row!.c], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(row!.r.map((x) => x.a), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...row!.z], [0.5, -0.5]);
  // A wrong count of values for the nested shape is refused, naming the field.
  assert.throws(
    () => rec.encodeInto([{ c: [[1, 2, 3, 4, 5]], r: [], z: [0, 0] }], bytes),
    /field 'c' holds 5 values, its shape \(2, 5\) needs 10/,
  );
});

test("records of no bytes: np.dtype([]) and empty fields decode to as many records as the shape", () => {
  const empty = defaultRegistry.resolve([]);
  assert.equal(empty.itemsize, 0);
  assert.deepEqual(empty.decode(new Uint8Array(0), { count: 3 }), [{}, {}, {}]);
  assert.deepEqual(empty.decode(new Uint8Array(0)), []);
  assert.deepEqual(empty.decode(new Uint8Array(0), { layout: "columns", count: 2 }), {});
  const parts = defaultRegistry.resolve([["e", []], ["a", "<f4", [0]]]);
  assert.deepEqual(parts.decode(new Uint8Array(0), { count: 2 }), [
    { e: {}, a: Float32Array.of() },
    { e: {}, a: Float32Array.of() },
  ]);
});

test("NpyAppendArray appends to NumPy's nested-subarray and no-field files; NumPy reads them", async () => {
  const { dir, cleanup } = makeTempDir("npy-nested-");
  try {
    const paths = {
      subsub: join(dir, "subsub.npy"),
      subrec: join(dir, "subrec.npy"),
      none: join(dir, "none.npy"),
      parts: join(dir, "parts.npy"),
      fresh: join(dir, "fresh.npy"),
    };
    runPython(
      `
p = json.load(sys.stdin)
pair = np.dtype({"names": ["a", "b"], "formats": ["i1", "i1"], "offsets": [0, 4], "itemsize": 8})
np.save(p["subsub"], np.arange(20, dtype="<f8").view(np.dtype([("c", ("<f8", (5,)), (2,))])))
a = np.zeros(1, [("x", np.dtype((pair, (3,))), (4,))])
a["x"]["a"] = np.arange(12).reshape(4, 3)
np.save(p["subrec"], a)
np.save(p["none"], np.zeros(2, np.dtype([])))
np.save(p["parts"], np.array([((), [], 5)], [("e", []), ("a", "<f4", (0,)), ("b", "<i2")]))
print("null")`,
      paths,
    );
    {
      await using w = await NpyAppendArray.open(paths.subsub);
      assert.deepEqual(w.descr, [["c", { base: "<f8", shape: [5] }, [2]]]);
      await w.append([{ c: [[-1, -2, -3, -4, -5], [-6, -7, -8, -9, -10]] }]);
    }
    {
      await using w = await NpyAppendArray.open(paths.subrec);
      await w.append([{ x: Array.from({ length: 4 }, () => Array(3).fill({ a: -1, b: 99 })) }]);
    }
    {
      await using w = await NpyAppendArray.open(paths.none);
      await w.append([{}, {}, {}]);
      assert.equal(w.rows, 5);
    }
    {
      using w = NpyAppendArray.openSync(paths.parts);
      w.appendSync([{ e: {}, a: [], b: -7 }]);
    }
    {
      // A new file from a descr spelled with names and nested subarrays.
      const descr: Descr = [["c", { base: "double", shape: [2] }, [3]], ["n", "int8"]];
      await using w = await NpyAppendArray.open(paths.fresh, { descr });
      assert.deepEqual(w.descr, normalizeDescr(descr));
      await w.append([{ c: [[1, 2], [3, 4], [5, 6]], n: -1 }]);
    }
    const got = runPython<Record<string, unknown>>(
      `
out = {}
for k, p in json.load(sys.stdin).items():
    a = np.load(p, mmap_mode="r")
    out[k] = {
        "descr": str(np.lib.format.dtype_to_descr(a.dtype)),
        "shape": list(a.shape),
        "fields": {n: np.asarray(a[n]).tolist() for n in a.dtype.names if n},
    }
    if k == "subrec":
        out[k]["fields"] = {"x.a": a["x"]["a"].tolist(), "x.b": a["x"]["b"][1:].tolist()}
print(json.dumps(out))`,
      paths,
    );
    const c0 = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]];
    const c1 = [[10, 11, 12, 13, 14], [15, 16, 17, 18, 19]];
    assert.deepEqual(got.subsub, {
      descr: "[('c', ('<f8', (5,)), (2,))]",
      shape: [3],
      fields: { c: [c0, c1, [[-1, -2, -3, -4, -5], [-6, -7, -8, -9, -10]]] },
    });
    assert.deepEqual(got.subrec, {
      descr: "[('x', ([('a', '|i1'), ('', '|V3'), ('b', '|i1'), ('', '|V3')], (3,)), (4,))]",
      shape: [2],
      fields: {
        "x.a": [[[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]], Array(4).fill([-1, -1, -1])],
        "x.b": [Array(4).fill([99, 99, 99])],
      },
    });
    assert.deepEqual(got.none, { descr: "[]", shape: [5], fields: {} });
    assert.deepEqual(got.parts, {
      descr: "[('e', []), ('a', '<f4', (0,)), ('b', '<i2')]",
      shape: [2],
      fields: { e: [[], []], a: [[], []], b: [5, -7] },
    });
    assert.deepEqual(got.fresh, {
      descr: "[('c', ('<f8', (2,)), (3,)), ('n', '|i1')]",
      shape: [1],
      fields: { c: [[[1, 2], [3, 4], [5, 6]]], n: [-1] },
    });
    // And the library reads them back.
    assert.deepEqual(loadNpySync(paths.none).data, [{}, {}, {}, {}, {}]);
    using r = NpyReader.openSync(paths.subsub);
    const last = r.readSync(2, 3).data as { c: Float64Array }[];
    assert.deepEqual([...last[0]!.c], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10]);
  } finally {
    cleanup();
  }
});
