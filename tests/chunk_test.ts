/**
 * The chunk helpers of lib/_chunk.ts on their own, with no file: how a chunk is taken
 * apart (TypedArrays, ndarray-likes, strided scijs views, raw bytes, nested arrays), the
 * descr inferred for a first chunk, the bytes made for a dtype (casts through the
 * registry), axis reversal, and how errors are worded: by the caller's target, with the
 * dtype code's error as the cause, never the inner message repeated in the outer one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  appendError,
  type AppendTarget,
  chunkBytes,
  flattenNested,
  inferDescr,
  reverseAxes,
  rowShapeError,
  splitChunk,
} from "../lib/_chunk.ts";
import {
  defaultRegistry,
  type DtypePlugin,
  DtypeRegistry,
  encodeNpy,
  NpyDtypeError,
  NpyShapeError,
} from "../mod.ts";

const FILE: AppendTarget = { action: 'append to "a.npy"', noun: "file", path: "a.npy" };

test("splitChunk() takes TypedArrays, ndarray-likes and raw bytes apart; other values are not its", () => {
  const f32 = Float32Array.of(1, 2, 3);
  const typed = splitChunk(f32, FILE);
  assert.deepEqual(
    { ...typed, values: undefined },
    {
      shape: [3],
      values: undefined,
      fortran: false,
      descr: "<f4",
      raw: false,
      own: false,
      flat: true,
    },
  );
  assert.equal(typed?.values, f32, "the values are the chunk itself, not a copy");

  const like = splitChunk({ data: [1, 2, 3, 4], shape: [2, 2], descr: "<i2" }, FILE);
  assert.deepEqual(like?.shape, [2, 2]);
  assert.equal(like?.descr, "<i2");
  assert.equal(like?.own, true, "an ndarray-like's descr is its own: cast by NumPy's rules");
  assert.equal(like?.raw, false);

  const bytes = new Uint8Array(8);
  const raw = splitChunk({ data: bytes, shape: [2], descr: "<f4" }, FILE);
  assert.equal(raw?.raw, true, "a Uint8Array with another descr holds raw bytes");
  assert.equal((raw?.values as Uint8Array).buffer, bytes.buffer);

  const view = splitChunk(new DataView(new ArrayBuffer(4)), FILE);
  assert.equal(view?.raw, true);
  assert.equal(view?.descr, undefined);

  for (const other of [[1, 2], 5, "x", { x: 1 }, null]) {
    assert.equal(splitChunk(other, FILE), undefined, JSON.stringify(other));
  }
});

test("splitChunk() copies a strided scijs view in C order, and refuses one reaching outside", () => {
  // The transpose of [[0, 1, 2], [3, 4, 5]] as a view: shape (3, 2), strides (1, 3).
  const data = Int32Array.of(0, 1, 2, 3, 4, 5);
  const parts = splitChunk({ data, shape: [3, 2], stride: [1, 3], offset: 0 }, FILE);
  assert.deepEqual(parts?.values, Int32Array.of(0, 3, 1, 4, 2, 5));
  assert.equal(parts?.descr, "<i4");
  // Negative strides walk backwards from the offset.
  const reversed = splitChunk({ data, shape: [6], stride: [-1], offset: 5 }, FILE);
  assert.deepEqual(reversed?.values, Int32Array.of(5, 4, 3, 2, 1, 0));
  // A contiguous view is a subarray of the same memory.
  const rows = splitChunk({ data, shape: [2, 2], stride: [2, 1], offset: 2 }, FILE);
  assert.equal((rows?.values as Int32Array).buffer, data.buffer);
  assert.deepEqual(rows?.values, Int32Array.of(2, 3, 4, 5));
  assert.throws(
    () => splitChunk({ data, shape: [4], stride: [2], offset: 0 }, FILE),
    (e) => {
      assert.ok(e instanceof NpyShapeError);
      assert.match(e.message, /^Cannot append to "a\.npy": the ndarray's offset 0 and stride/);
      return true;
    },
  );
});

test("flattenNested() finds the shape of nested arrays, keeps elements whole, names a ragged item", () => {
  assert.deepEqual(flattenNested([[1, 2, 3], [4, 5, 6]], undefined, FILE), {
    shape: [2, 3],
    values: [1, 2, 3, 4, 5, 6],
  });
  assert.deepEqual(flattenNested(7, undefined, FILE), { shape: [], values: [7] });
  // Complex pairs are elements, not an axis.
  const pair = (v: unknown) => Array.isArray(v) && v.length === 2 && typeof v[0] === "number";
  assert.deepEqual(flattenNested([[1, 2], [3, 4]], pair, FILE), {
    shape: [2],
    values: [[1, 2], [3, 4]],
  });
  assert.throws(() => flattenNested([[1, 2], [3]], undefined, FILE), (e) => {
    assert.ok(e instanceof NpyShapeError);
    assert.equal(
      e.message,
      `Cannot append to "a.npy": the nested array is ragged: the item at [1] is an array ` +
        `of 1 where the first items give the shape (2, 2)`,
    );
    assert.deepEqual(e.actual, [2, 2]);
    return true;
  });
});

test("inferDescr() tells a first chunk's dtype from its values, or says what it cannot tell", () => {
  assert.equal(inferDescr([1, 2.5], FILE), "<f8");
  assert.equal(inferDescr([1n], FILE), "<i8");
  assert.equal(inferDescr([[true]], FILE), "|b1");
  assert.equal(inferDescr(["a", "abc"], FILE), "<U3");
  assert.deepEqual(inferDescr([{ x: 1, n: 2n }], FILE), [["x", "<f8"], ["n", "<i8"]]);
  assert.throws(() => inferDescr([], FILE), /an empty first chunk does not tell the dtype/);
  assert.throws(() => inferDescr([Symbol("s")], FILE), (e) => {
    assert.ok(e instanceof NpyDtypeError);
    assert.match(e.message, /^Cannot append to "a\.npy": cannot tell a dtype from a symbol/);
    return true;
  });
});

test("the caller words the errors: an action and a path given as a target", () => {
  const target = { action: 'encode "b.npy"', path: "b.npy" };
  assert.throws(() => flattenNested([[1], 2], undefined, target), (e) => {
    assert.ok(e instanceof NpyShapeError);
    assert.match(e.message, /^Cannot encode "b\.npy": the nested array is ragged/);
    assert.equal(e.path, "b.npy");
    return true;
  });
  assert.throws(() => inferDescr([], { action: "encode the array" }), (e) => {
    assert.ok(e instanceof NpyDtypeError);
    assert.match(e.message, /^Cannot encode the array: /);
    assert.equal(e.path, undefined);
    return true;
  });
});

test("chunkBytes() views, encodes, or casts through the registry under the casting rule", () => {
  const f4 = defaultRegistry.resolve("<f4");
  const values = Float32Array.of(1.5, -2);
  const view = chunkBytes(f4, undefined, values, false, 2, {}, defaultRegistry);
  assert.equal(view.buffer, values.buffer, "the dtype's own layout is a view, not a copy");
  // Elements of the chunk's own descr (<i2), cast to the file's (>f8).
  const i2 = defaultRegistry.resolve("<i2");
  const f8 = defaultRegistry.resolve(">f8");
  const cast = chunkBytes(f8, i2, Int16Array.of(-3), false, 1, {}, defaultRegistry);
  assert.deepEqual(cast, Uint8Array.of(0xc0, 0x08, 0, 0, 0, 0, 0, 0)); // -3.0 big-endian
  assert.throws(
    () => chunkBytes(i2, f8, Float64Array.of(1), false, 1, { casting: "safe" }, defaultRegistry),
    (e) => e instanceof NpyDtypeError && /under casting "safe"/.test(e.message),
  );
  // A registry's plugins make the casts: one without a casting plugin refuses, and says so.
  const noCasts: DtypePlugin = { name: "no casts", resolve: () => undefined };
  const bare = new DtypeRegistry([noCasts]);
  assert.throws(
    () => chunkBytes(f8, i2, Int16Array.of(1), false, 1, {}, bare),
    /Cannot cast '<i2' to '>f8': no registered dtype plugin casts between them \(plugins: no casts\)/,
  );
  // A plugin's own cast is asked before the built-ins'.
  const zeros = new DtypeRegistry(defaultRegistry.plugins).register({
    name: "zeros",
    resolve: () => undefined,
    cast: (_bytes, { to, count }) => new Uint8Array(count * to.itemsize),
  });
  assert.deepEqual(chunkBytes(f8, i2, Int16Array.of(5), false, 1, {}, zeros), new Uint8Array(8));
});

test("reverseAxes() turns C order into Fortran order, bit for bit", () => {
  // [[1, 2, 3], [4, 5, 6]] in C order; its Fortran layout is 1 4 2 5 3 6.
  for (
    const [Type, itemsize] of [[Uint8Array, 1], [Float32Array, 4], [BigInt64Array, 8]] as const
  ) {
    const c = Type === BigInt64Array
      ? new Uint8Array(BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 6n).buffer)
      : new Uint8Array(new (Type as Float32ArrayConstructor)([1, 2, 3, 4, 5, 6]).buffer);
    const f = reverseAxes(c, [2, 3], itemsize);
    const back = Type === BigInt64Array
      ? [...new BigInt64Array(f.buffer)].map(Number)
      : [...new (Type as Float32ArrayConstructor)(f.buffer)];
    assert.deepEqual(back, [1, 4, 2, 5, 3, 6], Type.name);
  }
  // Odd itemsizes move byte runs; one moving axis moves nothing.
  const three = Uint8Array.of(1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4);
  assert.deepEqual(
    reverseAxes(three, [2, 2], 3),
    Uint8Array.of(1, 1, 1, 3, 3, 3, 2, 2, 2, 4, 4, 4),
  );
  assert.equal(reverseAxes(three, [1, 4], 3), three);
});

test("appendError() names the file once: the dtype code's error becomes the cause", () => {
  const i4 = defaultRegistry.resolve("<i4");
  const inner = new NpyDtypeError("Cannot cast 1.5 (element 0) to '<i4'", { descr: "<i4" });
  const outer = appendError(inner, FILE, i4, "same_kind");
  assert.ok(outer instanceof NpyDtypeError);
  assert.equal(
    outer.message,
    `Cannot append to "a.npy": the chunk's values do not fit the file's dtype '<i4' under ` +
      `casting "same_kind"`,
  );
  assert.equal(outer.path, "a.npy");
  assert.equal(outer.cause, inner);
  assert.ok(!outer.message.includes(inner.message), "the inner message is not repeated");

  const shape = new NpyShapeError("Cannot encode record field 'xy': 3 values for 1 records of 2", {
    expected: [1, 2],
    actual: [3],
  });
  const named = appendError(shape, FILE, i4);
  assert.ok(named instanceof NpyShapeError);
  assert.match(named.message, /^Cannot append to "a\.npy": the number of the chunk's values/);
  assert.match(named.message, /dtype '<i4' \(expected \(1, 2\)\)$/);
  assert.deepEqual([named.expected, named.actual, named.cause], [[1, 2], [3], shape]);

  // An error the chunk code worded for this file (it has the path) is left as it is.
  let worded: unknown;
  try {
    flattenNested([[1], 2], undefined, FILE);
  } catch (e) {
    worded = e;
  }
  assert.equal(appendError(worded, FILE, i4), worded);
  assert.equal((worded as Error).message.match(/Cannot append/g)?.length, 1);

  // Errors with a path already, and other errors, are left as they are.
  const located = new NpyDtypeError('Cannot encode "b.npy": no descr', { path: "b.npy" });
  assert.equal(appendError(located, FILE, i4), located);
  const other = new TypeError("not ours");
  assert.equal(appendError(other, FILE, i4), other);
});

test("rowShapeError() says what shape was expected, with a hint for one bare row", () => {
  const e = rowShapeError(FILE, [1, 2, 3], [3], [3], false);
  assert.equal(
    e.message,
    `Cannot append to "a.npy": the chunk's shape (3,) does not fit the file's rows of shape ` +
      `(3,): expected (k, 3); to append one row, wrap it as [[1, 2, 3]]`,
  );
  assert.deepEqual([e.path, e.expected, e.actual], ["a.npy", [0, 3], [3]]);
  const fortran = rowShapeError(FILE, [[1, 2]], [1, 2], [3], true);
  assert.match(fortran.message, /expected \(3, k\)$/);
});

test("encodeNpy() words the chunk code's errors as its own: nothing is appended to anything", () => {
  const cases: [unknown, RegExp][] = [
    [[[1, 2], [3]], /^Cannot encode the array: the nested array is ragged: the item at \[1\]/],
    [[], /^Cannot encode the array: an empty first chunk does not tell the dtype/],
    [{ data: [1, 2], shape: [3] }, /^Cannot encode the array: the chunk's data holds 2 elements/],
  ];
  for (const [chunk, message] of cases) {
    assert.throws(() => encodeNpy(chunk as never), (e) => {
      assert.ok(e instanceof NpyShapeError || e instanceof NpyDtypeError, String(e));
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /append/);
      return true;
    });
  }
});
