/**
 * The chunk normaliser (lib/_chunk_normalizer.ts) on its own. The element stage
 * (`ChunkEncoder`, what `encodeNpy` uses): a chunk's dtype, count, own shape and order, and
 * its bytes, cast by the registry. The row stage (`ChunkNormalizer`, what the file and the
 * stack writers use): `(chunk, layout) → { dtype, rowShape, rows, bytes }` for first chunks
 * (which fix the dtype and row shape), for chunks checked against a layout, in C and
 * Fortran order, with casts and raw bytes; its refusals name the target (a file or a
 * stack); nothing it is given is changed. Last, a plugin's own casts, used by both writers
 * through their registry. The expected bytes are written out by hand here;
 * tests/fast_path_test.ts compares the writer's files with NumPy's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultRegistry,
  DtypeRegistry,
  loadNpySync,
  NpyAppendArray,
  NpyDtypeError,
  NpyShapeError,
  NpyStackReader,
  NpyStackWriter,
} from "../mod.ts";
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
  assert.throws(
    () => n.normalize({ data: [1, 2], shape: [2] }, target()),
    /: an ndarray-like's JS array data does not tell the dtype; pass options\.descr/,
  );
  assert.deepEqual(chunk, [[1, 2, 3]]);
  assert.equal(JSON.stringify(t.rowShape), frozen);
  // Unsafe casting lets the float through, truncated as NumPy's astype does.
  const cast = normalizer("unsafe").normalize(Float64Array.of(1.5, -2.5), t);
  assert.deepEqual(cast.bytes, bytesOf(Int32Array.of(1, -2)));
});

test("the element stage: the chunk's own shape and order, its dtype, its bytes", () => {
  const encoder = new ChunkEncoder({ action: "encode the array" }, defaultRegistry, "same_kind");
  const fortran = encoder.elements(
    { data: Float64Array.of(1, 2, 3, 4), shape: [2, 2], fortranOrder: true },
    undefined,
  );
  assert.equal(fortran.dtype.descr, "<f8");
  assert.deepEqual([fortran.shape, fortran.count, fortran.fortran, fortran.flat], [
    [2, 2],
    4,
    true,
    false,
  ]);
  // The order is kept: turning it into a file's order is the row stage's job.
  assert.deepEqual(encoder.bytes(fortran), bytesOf(Float64Array.of(1, 2, 3, 4)));
  const flat = encoder.elements(Int16Array.of(5, 6, 7), undefined);
  assert.deepEqual([flat.dtype.descr, flat.shape, flat.flat], ["<i2", [3], true]);
  const lone = encoder.elements(true, undefined);
  assert.deepEqual([lone.dtype.descr, lone.shape, lone.count], ["|b1", [], 1]);
  // A chunk's own descr is cast to the dtype asked for; the same descr needs no cast.
  const f4 = defaultRegistry.resolve("<f4");
  const own = encoder.elements({ data: Int16Array.of(-1, 2), shape: [2], descr: "<i2" }, f4);
  assert.equal(own.source?.descr, "<i2");
  assert.deepEqual(encoder.bytes(own), bytesOf(Float32Array.of(-1, 2)));
  const same = encoder.elements({ data: Float32Array.of(1), shape: [1], descr: "f4" }, f4);
  assert.equal(same.source, undefined);
  // Its own errors name the target, with no path for bytes in memory; the dtype code's
  // errors are left as they are (the caller words them).
  assert.throws(
    () => encoder.elements({ data: new Uint8Array(3), shape: [1], descr: "<f4" }, undefined),
    (e) => {
      assert.ok(e instanceof NpyShapeError);
      assert.equal(
        e.message,
        "Cannot encode the array: 3 raw bytes are not whole elements of '<f4' (4 bytes each)",
      );
      assert.equal(e.path, undefined);
      return true;
    },
  );
  assert.throws(
    () => encoder.elements({ data: [1], shape: [1], descr: "<x9" }, undefined),
    (e) => {
      assert.ok(e instanceof NpyDtypeError);
      assert.match(
        e.message,
        /^Cannot encode the array: the registry has no dtype for the chunk's descr "<x9"$/,
      );
      assert.ok(e.cause instanceof NpyDtypeError);
      return true;
    },
  );
  const i4 = defaultRegistry.resolve("<i4");
  const half = encoder.elements([1.5], i4);
  assert.throws(
    () => encoder.bytes(half),
    (e) => e instanceof NpyDtypeError && e.path === undefined,
  );
});

test("a stack target: the row stage's errors say which stack and what it expected", () => {
  const stack = { action: 'append to the stack "s"', noun: "stack", path: "s" } as const;
  const n = new ChunkNormalizer(stack, defaultRegistry, "same_kind");
  assert.throws(() => n.normalize([[1, 2, 3]], target("<i4", [2])), (e) => {
    assert.ok(e instanceof NpyShapeError);
    assert.equal(e.path, "s");
    assert.match(
      e.message,
      /^Cannot append to the stack "s": the chunk's shape \(1, 3\) does not fit the stack's rows of shape \(2,\)/,
    );
    return true;
  });
  assert.throws(
    () => n.normalize(7, target("<i4", [2])),
    /Cannot append to the stack "s": the chunk is a single value .* the stack's rows/,
  );
  assert.throws(() => n.normalize(Float64Array.of(1.5), target("<i4", [])), (e) => {
    assert.ok(e instanceof NpyDtypeError);
    assert.equal(
      e.message,
      `Cannot append to the stack "s": the chunk's values do not fit the stack's dtype '<i4' under casting "same_kind"`,
    );
    assert.ok(e.cause instanceof NpyDtypeError, "the dtype code's error is the cause");
    assert.ok(!e.message.includes((e.cause as Error).message));
    return true;
  });
});

/** The default registry plus a plugin whose own int16 -> float64 cast multiplies by 10. */
function tenfold(): DtypeRegistry {
  return new DtypeRegistry(defaultRegistry.plugins).register({
    name: "tenfold",
    resolve: () => undefined,
    cast(bytes, { from, to, count }) {
      if (from.descr !== "<i2" || to.descr !== "<f8") return undefined;
      const input = new Int16Array(bytes.slice().buffer, 0, count);
      return bytesOf(Float64Array.from(input, (v) => v * 10));
    },
  });
}

test("a plugin's own cast is used by the file writer and the stack writer", async () => {
  const dir = mkdtempSync(join(tmpdir(), "npy-cast-plugin-"));
  try {
    const registry = tenfold();
    const chunk = { data: Int16Array.of(1, -2, 3), shape: [3], descr: "<i2" };
    const file = join(dir, "a.npy");
    {
      await using w = await NpyAppendArray.open(file, { descr: "<f8", registry });
      await w.append(chunk);
      w.appendSync({ data: Int16Array.of(4), shape: [1], descr: "<i2" });
    }
    assert.deepEqual(loadNpySync(file).data, Float64Array.of(10, -20, 30, 40));
    const stackDir = join(dir, "s");
    {
      await using s = await NpyStackWriter.open(stackDir, {
        descr: "<f8",
        shape: [],
        registry,
        shardRows: 2,
      });
      await s.append(chunk);
      s.appendSync({ data: Int16Array.of(4), shape: [1], descr: "<i2" });
    }
    using r = NpyStackReader.openSync(stackDir);
    assert.deepEqual(r.readSync(0, 4).data, Float64Array.of(10, -20, 30, 40));
    // Without the plugin, the built-in cast: the values as they are.
    const plain = join(dir, "plain.npy");
    {
      using w = NpyAppendArray.openSync(plain, { descr: "<f8" });
      w.appendSync(chunk);
    }
    assert.deepEqual(loadNpySync(plain).data, Float64Array.of(1, -2, 3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
