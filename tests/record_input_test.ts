/**
 * Records as a user writes them: an error names the field and the record; an object with a
 * field the record lacks is refused (never cut silently); tuples in field order are records,
 * as in NumPy; bool fields read back as true/false (bool subarray fields as flat boolean[]);
 * and one row given bare gets a hint on
 * how to wrap it. NumPy reads every file written here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  loadNpySync,
  NpyAppendArray,
  type NpyChunk,
  NpyDtypeError,
  NpyShapeError,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";

const TICK = [["t", "<M8[ms]"], ["x", "<f4"], ["ok", "|b1"], ["xy", "<i2", [2]]] as const;

test("a value of the wrong type names its field and record; the file is unchanged", () => {
  const { dir, cleanup } = makeTempDir("npy-records-");
  try {
    const path = join(dir, "a.npy");
    using w = NpyAppendArray.openSync(path, { descr: TICK });
    w.appendSync([{ t: 1n, x: 1.5, ok: true, xy: [1, 2] }]);
    const before = readFileSync(path);
    const cases: Array<[NpyChunk, RegExp]> = [
      [
        [{ t: 2n, x: 1, ok: true, xy: [1, 2] }, { t: 3n, x: "a", ok: true, xy: [1, 2] }],
        /record 1: field "x": cannot cast "a" to '<f4'/,
      ],
      [
        [{ t: 2n, x: new Date(0), ok: true, xy: [1, 2] }],
        /record 0: field "x": cannot cast the Date 1970-01-01T00:00:00\.000Z to '<f4'/,
      ],
      [
        [{ t: 2n, x: 1, ok: true, xy: [1, 2] }, { t: 2n, x: 1, ok: true, xy: [1, "b"] }],
        /record 1: field "xy": cannot cast "b" to '<i2'/,
      ],
      [
        [{ t: 2n, x: 1, ok: true, xy: [1, 2], extra: 5 }],
        /record 0: it has a field "extra" that the record .* does not \(its fields: "t", "x", "ok", "xy"\)/,
      ],
    ];
    for (const [chunk, pattern] of cases) {
      assert.throws(() => w.appendSync(chunk), (e: unknown) => {
        assert.ok(e instanceof NpyDtypeError, String(e));
        // The message names the file and its dtype; the cause, the record and the field.
        assert.match(e.message, /^Cannot append to ".*a\.npy": .* dtype \[\('t', '<M8\[ms\]'\)/);
        assert.equal(e.path, path);
        const cause = e.cause as Error;
        assert.ok(cause instanceof NpyDtypeError);
        assert.match(cause.message, pattern);
        assert.doesNotMatch(cause.message, /\(element \d+\)/);
        assert.doesNotMatch(cause.message, /a object/);
        return true;
      });
      assert.deepEqual(readFileSync(path), before);
    }
    assert.equal(w.rows, 1);
  } finally {
    cleanup();
  }
});

test("bool subarray fields read as flat boolean[] in objects, 0/1 columns as a bool array", () => {
  const { dir, cleanup } = makeTempDir("npy-records-");
  try {
    const path = join(dir, "b.npy");
    // NumPy writes it; a stored 7 is True to NumPy, so it must read as true here too.
    const numpy = runPython<unknown>(
      `
d = json.load(sys.stdin)
dt = np.dtype([("c", "?", (2,)), ("m", "?", (2, 3)), ("s", "?"), ("n", [("b", "?", (2,))])])
a = np.zeros(2, dt)
a[0] = ([True, False], [[1, 0, 1], [0, 0, 1]], True, ([False, True],))
a[1] = ([False, True], [[0, 1, 0], [1, 1, 0]], False, ([True, True],))
a.view(np.uint8)[dt.fields["c"][1]] = 7  # row 0, c[0]: a non-0/1 byte, True to NumPy
np.save(d, a)
print(json.dumps([{"c": r["c"].tolist(), "m": r["m"].ravel().tolist(), "s": bool(r["s"]),
                   "n": {"b": r["n"]["b"].tolist()}} for r in np.load(d)]))
`,
      path,
    );
    const objects = loadNpySync(path).data;
    assert.deepEqual(objects, numpy); // booleans, subarrays flat and row-major
    const columns = loadNpySync(path, { layout: "columns" }).data as Record<string, unknown>;
    // Columns are what a top-level bool array reads as: a Uint8Array of 0/1.
    assert.deepEqual(columns.c, Uint8Array.of(1, 0, 0, 1));
    assert.deepEqual(columns.s, Uint8Array.of(1, 0));
    saveNpySync(join(dir, "top.npy"), [true, false]);
    assert.deepEqual(loadNpySync(join(dir, "top.npy")).data, Uint8Array.of(1, 0));
    // The objects read back are records again: written back, NumPy sees the same values.
    const again = join(dir, "again.npy");
    saveNpySync(again, { data: objects, descr: loadNpySync(path).descr, shape: [2] });
    const same = runPython<boolean>(
      `d = json.load(sys.stdin)
print(json.dumps(bool((np.load(d[0]) == np.load(d[1])).all())))`,
      [path, again],
    );
    assert.equal(same, true);
  } finally {
    cleanup();
  }
});

test("tuples in field order are records, as NumPy takes them; bools read as true/false", () => {
  const { dir, cleanup } = makeTempDir("npy-records-");
  try {
    const path = join(dir, "t.npy");
    {
      using w = NpyAppendArray.openSync(path, { descr: TICK });
      w.appendSync([5n, 0.5, true, [1, 2]]); // one row, as a lone tuple
      w.appendSync([[6n, 1.5, false, [3, 4]], { t: 7n, x: 2.5, ok: true, xy: [5, 6] }]);
      w.appendSync([[new Date(8), 3.5, false, Int16Array.of(7, 8)]]);
    }
    const rows = loadNpySync(path).data as Array<{ ok: unknown; xy: Int16Array }>;
    assert.deepEqual(rows.map((r) => r.ok), [true, false, true, false]);
    assert.deepEqual(rows.map((r) => [...r.xy]), [[1, 2], [3, 4], [5, 6], [7, 8]]);
    const numpy = runPython<string>(
      `
d = json.load(sys.stdin)
a = np.load(d, mmap_mode="r")
want = np.array([(5, 0.5, True, (1, 2)), (6, 1.5, False, (3, 4)), (7, 2.5, True, (5, 6)),
                 (8, 3.5, False, (7, 8))],
                dtype=[("t", "<M8[ms]"), ("x", "<f4"), ("ok", "?"), ("xy", "<i2", (2,))])
print(json.dumps("ok" if a.tobytes() == want.tobytes() else repr(a)))
`,
      path,
    );
    assert.equal(numpy, "ok");
    // A tuple of the wrong length is not a record.
    using w = NpyAppendArray.openSync(path);
    assert.throws(() => w.appendSync([[9n, 1, true]]), (e: unknown) => {
      assert.ok(e instanceof NpyShapeError || e instanceof NpyDtypeError, String(e));
      console.log(`a tuple of 3 for 4 fields: ${(e as Error).message}`);
      return true;
    });
    assert.equal(w.rows, 4);
  } finally {
    cleanup();
  }
});

test("one row given as a flat array gets a hint to wrap it; the wrapped form works", () => {
  const { dir, cleanup } = makeTempDir("npy-records-");
  try {
    const path = join(dir, "f.npy");
    using w = NpyAppendArray.openSync(path, { descr: "<f8", shape: [0, 2] });
    assert.throws(() => w.appendSync([1, 2]), (e: unknown) => {
      assert.ok(e instanceof NpyShapeError);
      assert.match(e.message, /expected \(k, 2\); to append one row, wrap it as \[\[1, 2\]\]$/);
      return true;
    });
    w.appendSync([[1, 2]]);
    assert.equal(w.rows, 1);
    // Other mismatches get no such hint.
    assert.throws(() => w.appendSync([[1, 2, 3]]), (e: unknown) => {
      assert.ok(e instanceof NpyShapeError);
      assert.doesNotMatch(e.message, /wrap it/);
      return true;
    });
  } finally {
    cleanup();
  }
});
