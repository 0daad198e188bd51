/**
 * The record plugin: layouts (objects, columns), nested records, subarray fields, padding,
 * titles, big-endian fields, errors, and a fast-check round trip in both layouts. NumPy
 * cross-checks of records are in dtypes_numpy_test.ts (tick, record_mixed, record_subarray).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  defaultRegistry,
  type DescrField,
  type Dtype,
  NAT,
  NpyDtypeError,
  NpyShapeError,
  type RecordDtype,
} from "../mod.ts";
import { assertSame } from "./_dtypes_util.ts";

const DESCR: DescrField[] = [
  ["t", "<M8[ns]"],
  ["", "|V4"],
  [["Price", "price"], ">f8"],
  ["xy", "<f4", [2]],
  ["m", ">i2", [2, 2]],
  ["tag", "|S3"],
  ["inner", [["a", "|u1"], ["b", ">c8"]]],
  ["", "|V1"],
];

function resolve(descr: DescrField[] = DESCR): RecordDtype {
  return defaultRegistry.resolve(descr) as RecordDtype;
}

function encode(dtype: Dtype, values: unknown): Uint8Array {
  const out = new Uint8Array(dtype.count(values) * dtype.itemsize);
  assert.equal(dtype.encodeInto(values, out), out.length);
  return out;
}

test("record layout: offsets, itemsize, canonical descr, fields", () => {
  const rec = resolve([["a", "=i4"], ["", "|V4"], ["b", "<i1", [3]], ["c", "?"]]);
  assert.equal(rec.itemsize, 4 + 4 + 3 + 1);
  assert.deepEqual(rec.descr, [["a", "<i4"], ["", "|V4"], ["b", "|i1", [3]], ["c", "|b1"]]);
  assert.deepEqual(rec.fields.map((f) => [f.name, f.offset, f.shape]), [
    ["a", 0, []],
    ["b", 8, [3]],
    ["c", 11, []],
  ]);
  assert.equal(resolve(DESCR).fields[1]!.title, "Price");
  assert.throws(() => resolve([["a", "<i4"], ["a", "<f4"]]), /already used as a name or title/);
});

test("objects and columns decode the same data; padding is zero on encode and skipped", () => {
  const rec = resolve();
  const rows = [
    {
      t: 5n,
      price: 1.5,
      xy: [1, 2],
      m: [[1, 2], [3, 4]],
      tag: "ab",
      inner: { a: 7, b: [1, -1] },
    },
    {
      t: NAT,
      price: -0,
      xy: Float32Array.of(3, 4),
      m: Int16Array.of(-1, -2, -3, -4),
      tag: "",
      inner: { a: 255, b: { re: 0, im: 2 } },
    },
  ];
  const bytes = encode(rec, rows);
  // Padding bytes (offset 8..12 and the last byte of each record) are zero.
  for (let i = 0; i < 2; i++) {
    const base = i * rec.itemsize;
    assert.deepEqual([...bytes.subarray(base + 8, base + 12)], [0, 0, 0, 0]);
    assert.equal(bytes[base + rec.itemsize - 1], 0);
  }
  const objects = rec.decode(bytes);
  assertSame(objects, [
    {
      t: 5n,
      price: 1.5,
      xy: Float32Array.of(1, 2),
      m: Int16Array.of(1, 2, 3, 4),
      tag: "ab",
      inner: { a: 7, b: Float32Array.of(1, -1) },
    },
    {
      t: NAT,
      price: -0,
      xy: Float32Array.of(3, 4),
      m: Int16Array.of(-1, -2, -3, -4),
      tag: "",
      inner: { a: 255, b: Float32Array.of(0, 2) },
    },
  ]);
  const columns = rec.decode(bytes, { layout: "columns" });
  assertSame(columns, {
    t: BigInt64Array.of(5n, NAT),
    price: Float64Array.of(1.5, -0),
    xy: Float32Array.of(1, 2, 3, 4),
    m: Int16Array.of(1, 2, 3, 4, -1, -2, -3, -4),
    tag: ["ab", ""],
    inner: { a: Uint8Array.of(7, 255), b: Float32Array.of(1, -1, 0, 2) },
  });
  // Columns encode to the same bytes; garbage in padding is ignored on decode.
  assert.deepEqual(encode(rec, columns), bytes);
  const dirty = bytes.slice();
  dirty.fill(0xee, 8, 12);
  assertSame(rec.decode(dirty), objects);
});

test("record encode errors: missing fields, wrong subarray sizes, ragged columns, casting", () => {
  const rec = resolve([["a", "<i4"], ["b", "<f4", [2]]]);
  assert.throws(() => encode(rec, [{ a: 1 }]), /field 'b' is missing/);
  assert.throws(() => encode(rec, [{ a: 1, b: [1, 2, 3] }]), NpyShapeError);
  assert.throws(() => encode(rec, [5]), /expected an object with fields 'a', 'b'/);
  assert.throws(() => encode(rec, { a: [1, 2], b: [1, 2] }), NpyShapeError);
  assert.throws(() => encode(rec, { a: [1] }), /field 'b' is missing/);
  assert.throws(() => encode(rec, [{ a: 1.5, b: [1, 2] }]), NpyDtypeError);
  assert.throws(() => encode(rec, { a: Float64Array.of(1), b: [1, 2] }), /Float64Array/);
  assert.throws(() => encode(rec, "x"), NpyDtypeError);
  assert.equal(rec.count({ a: Int32Array.of(1, 2), b: Float32Array.of(1, 2, 3, 4) }), 2);
  assert.equal(rec.isElement!({ a: 1 }), true);
  assert.equal(rec.isElement!([1]), false);
});

test("fast-check: records round-trip in both layouts", () => {
  const descr: DescrField[] = [
    ["i", ">i8"],
    ["f", "<f8", [3]],
    ["s", ">U2"],
    ["", "|V2"],
    ["b", "|b1"],
  ];
  const rec = resolve(descr);
  const row = fc.record({
    i: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    f: fc.array(fc.double(), { minLength: 3, maxLength: 3 }),
    s: fc.string({ unit: "grapheme-ascii", maxLength: 2 }).filter((s) => !s.endsWith("\0")),
    b: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(row, { maxLength: 20 }), (rows) => {
      const bytes = encode(rec, rows);
      const expected = rows.map((r) => ({ ...r, f: Float64Array.from(r.f) })); // b stays a bool
      assertSame(rec.decode(bytes), expected);
      const cols = rec.decode(bytes, { layout: "columns" });
      assert.deepEqual(encode(rec, cols), bytes);
    }),
    { numRuns: 100 },
  );
});
