/**
 * The writer's chunk normaliser (lib/_chunk_normalizer.ts) on its own: `(chunk, target) →
 * { dtype, rowShape, rows, bytes }` for first chunks (which fix the dtype and row shape),
 * for chunks checked against a target, in C and Fortran order, with casts and raw bytes;
 * its refusals name the target; nothing it is given is changed. The expected bytes are
 * written out by hand here; tests/fast_path_test.ts compares the writer's files with
 * NumPy's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultRegistry, NpyDtypeError, NpyShapeError } from "../mod.ts";
import { ChunkEncoder, ChunkNormalizer, type RowLayout } from "../lib/_chunk_normalizer.ts";

const FILE = { action: 'append to "t.npy"', noun: "file", path: "t.npy" } as const;

function normalizer(casting: "same_kind" | "unsafe" = "same_kind"): ChunkNormalizer {
  return new ChunkNormalizer(FILE, defaultRegistry, casting);
}

function target(descr?: string, rowShape?: number[], fortran = false): RowLayout {
  return {
    dtype: descr === undefined ? undefined : defaultRegistry.resolve(descr),
    rowShape,
    fortran,
  };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

test("a first chunk fixes the dtype and the row shape", () => {
  const n = normalizer();
  const nested = n.normalize([[1, 2], [3, 4], [5, 6]], target());
  assert.equal(nested.dtype.descr, "<f8");
  assert.deepEqual(nested.rowShape, [2]);
  assert.equal(nested.rows, 3);
  assert.deepEqual(nested.bytes, bytesOf(Float64Array.of(1, 2, 3, 4, 5, 6)));
  // A TypedArray is flat: rows of single values. A lone value is one row.
  const flat = n.normalize(Int16Array.of(7, 8, 9), target());
  assert.equal(flat.dtype.descr, "<i2");
  assert.deepEqual([flat.rowShape, flat.rows], [[], 3]);
  const lone = n.normalize(42n, target());
  assert.deepEqual([lone.dtype.descr, lone.rowShape, lone.rows], ["<i8", [], 1]);
  // In Fortran order the growth axis is the last: shape (2, 3) is 3 rows of (2,).
  const fortran = n.normalize(
    { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] },
    target("<i4", undefined, true),
  );
  assert.deepEqual([fortran.rowShape, fortran.rows], [[2], 3]);
  // The chunk was in C order; the bytes are in the file's (column-major) order.
  assert.deepEqual(fortran.bytes, bytesOf(Int32Array.of(1, 4, 2, 5, 3, 6)));
});

test("chunks checked against a target: casts, flat rows, raw bytes of another byte order", () => {
  const n = normalizer();
  const rows = n.normalize(Int32Array.of(1, 2, 3, 4, 5, 6), target("<f8", [3]));
  assert.deepEqual([rows.dtype.descr, rows.rowShape, rows.rows], ["<f8", [3], 2]);
  assert.deepEqual(rows.bytes, bytesOf(Float64Array.of(1, 2, 3, 4, 5, 6)));
  const big = new DataView(new ArrayBuffer(4));
  big.setInt16(0, 258, false);
  big.setInt16(2, -2, false);
  const raw = n.normalize(
    { data: new Uint8Array(big.buffer), shape: [2], descr: ">i2" },
    target("<i2", []),
  );
  assert.equal(raw.rows, 2);
  assert.deepEqual(raw.bytes, bytesOf(Int16Array.of(258, -2)));
  // The same raw descr again (a stream of chunks) gives the same result.
  const again = n.normalize(
    { data: new Uint8Array(big.buffer), shape: [2], descr: ">i2" },
    target("<i2", []),
  );
  assert.deepEqual(again.bytes, raw.bytes);
  // Rows of no elements: the count comes from the shape.
  const empty = n.normalize({ data: [], shape: [4, 0] }, target("<f4", [0]));
  assert.deepEqual([empty.rows, empty.bytes.length], [4, 0]);
});

test("refusals name the target and change nothing", () => {
  const n = normalizer();
  const t = target("<i4", [2]);
  const frozen = JSON.stringify(t.rowShape);
  const chunk = [[1, 2, 3]];
  assert.throws(() => n.normalize(chunk, t), (e) => {
    assert.ok(e instanceof NpyShapeError);
    assert.equal(e.path, "t.npy");
    assert.match(e.message, /^Cannot append to "t\.npy": the chunk's shape \(1, 3\) does not fit/);
    return true;
  });
  assert.throws(() => n.normalize(Int32Array.of(1, 2, 3), t), /flat chunk of 3 elements/);
  assert.throws(() => n.normalize(7, t), /the chunk is a single value/);
  assert.throws(() => n.normalize(Float64Array.of(1.5, 2), t), (e) => {
    assert.ok(e instanceof NpyDtypeError);
    assert.match(e.message, /^Cannot append to "t\.npy": .*'<i4' under casting "same_kind"/);
    return true;
  });
  const raw = { data: new DataView(new ArrayBuffer(4)), shape: [4] };
  assert.throws(() => n.normalize(raw, target()), /raw bytes do not tell the dtype/);
  assert.deepEqual(chunk, [[1, 2, 3]]);
  assert.equal(JSON.stringify(t.rowShape), frozen);
  // Unsafe casting lets the float through, truncated as NumPy's astype does.
  const cast = normalizer("unsafe").normalize(Float64Array.of(1.5, -2.5), t);
  assert.deepEqual(cast.bytes, bytesOf(Int32Array.of(1, -2)));
});
