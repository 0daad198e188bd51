/**
 * The bool, complex, bytes (S/U/V) and datetime plugins: encode rules, errors, zero copy and
 * fast-check round trips. Their NumPy cross-checks are in dtypes_numpy_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BUILTIN_PLUGINS,
  type DatetimeDtype,
  defaultRegistry,
  type Dtype,
  type DtypePlugin,
  DtypeRegistry,
  type EncodeOptions,
  NAT,
  NpyDtypeError,
} from "../mod.ts";
import { assertSame } from "./_dtypes_util.ts";

const HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? "<" : ">";

function encode(dtype: Dtype, values: unknown, options?: EncodeOptions): Uint8Array {
  const out = new Uint8Array(dtype.count(values, options) * dtype.itemsize);
  assert.equal(dtype.encodeInto(values, out, options), out.length);
  return out;
}

function roundTrip(descr: string, values: unknown, options?: EncodeOptions): unknown {
  const dtype = defaultRegistry.resolve(descr);
  return dtype.decode(encode(dtype, values, options));
}

test("bool: booleans and 0/1 in, Uint8Array of 0/1 out; a 0/1 Uint8Array is not copied", () => {
  const b1 = defaultRegistry.resolve("|b1");
  assert.deepEqual(roundTrip("?", [true, false, 0, 1]), Uint8Array.of(1, 0, 0, 1));
  const bits = Uint8Array.of(0, 1, 1);
  assert.equal(b1.view!(bits)?.buffer, bits.buffer);
  assert.equal(b1.view!(Uint8Array.of(2)), undefined);
  assert.throws(() => encode(b1, [2]), NpyDtypeError);
  assert.throws(() => encode(b1, ["yes"]), NpyDtypeError);
  assert.throws(() => encode(b1, Uint8Array.of(0, 2)), NpyDtypeError);
  assert.throws(() => encode(b1, Int8Array.of(1)), /Int8Array to '\|b1'/);
  assert.deepEqual(
    roundTrip("|b1", Float64Array.of(0, -2, NaN, -0), { casting: "unsafe" }),
    Uint8Array.of(0, 1, 1, 0), // NumPy: NaN is non-zero, so True
  );
  const bytes = Uint8Array.of(0, 1, 1);
  assert.equal((b1.decode(bytes) as Uint8Array).buffer, bytes.buffer);
  assert.deepEqual(b1.decode(Uint8Array.of(0, 7)), Uint8Array.of(0, 1)); // NumPy: non-zero is True
  fc.assert(
    fc.property(fc.array(fc.boolean()), (values) => {
      assert.deepEqual([...(roundTrip("|b1", values) as Uint8Array)], values.map(Number));
    }),
    { numRuns: 100 },
  );
});

test("complex: interleaved floats, pairs and objects; casting; zero copy", () => {
  const c16 = defaultRegistry.resolve(`${HOST}c16`);
  const values = Float64Array.of(1, 2, 3, 4);
  assert.equal(c16.view!(values)?.buffer, values.buffer);
  assert.equal(c16.view!(Float64Array.of(1, 2, 3)), undefined);
  assert.throws(() => encode(c16, Float64Array.of(1, 2, 3)), /odd length/);
  assert.throws(() => encode(c16, Int32Array.of(1, 2)), NpyDtypeError);
  assert.throws(
    () => encode(defaultRegistry.resolve("<c8"), Float64Array.of(1, 2), { casting: "safe" }),
    /complex128\) to '<c8' \(complex64\)/,
  );
  assert.deepEqual(roundTrip("<c8", Float64Array.of(1, 2)), Float32Array.of(1, 2));
  assert.deepEqual(
    roundTrip(">c16", Float32Array.of(1, 2), { casting: "safe" }),
    Float64Array.of(1, 2),
  );
  assert.deepEqual(
    roundTrip(">c8", [1, [2, 3], { re: 4, im: 5 }, 6n]),
    Float32Array.of(1, 0, 2, 3, 4, 5, 6, 0),
  );
  assert.throws(() => encode(c16, [[1, "x"]]), NpyDtypeError);
  assert.ok(
    c16.isElement!([1, 2]) && c16.isElement!({ re: 1, im: 0 }) && !c16.isElement!([1, 2, 3]),
  );
  for (const descr of ["<c8", ">c8", "<c16", ">c16"]) {
    const single = descr.endsWith("c8");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(single ? fc.float() : fc.double(), single ? fc.float() : fc.double())),
        (pairs) => {
          const out = roundTrip(descr, pairs) as Float32Array | Float64Array;
          assertSame([...out], pairs.flat(), descr);
        },
      ),
      { numRuns: 100 },
    );
  }
});

test("bytes: S latin1, U UCS-4 both orders, V raw; too long is an error; NULs stripped", () => {
  assert.deepEqual(roundTrip("|S3", ["", "ab", "abc", "\xff\0", "a\0b"]), [
    "",
    "ab",
    "abc",
    "\xff",
    "a\0b",
  ]);
  assert.deepEqual(roundTrip("S3", [Uint8Array.of(97, 0, 98)]), ["a\0b"]);
  assert.throws(() => roundTrip("|S2", ["abc"]), /it has 3 bytes, the dtype holds at most 2/);
  assert.throws(() => roundTrip("|S2", ["€"]), /U\+20AC .* not latin1/);
  assert.throws(() => roundTrip("<U2", ["abc"]), /it has 3 characters/);
  assert.deepEqual(roundTrip("<U2", ["😀😀"]), ["😀😀"]); // 2 code points, 4 UTF-16 units
  assert.throws(() => roundTrip("<U1", [1]), NpyDtypeError);
  const v2 = defaultRegistry.resolve("|V2");
  const raw = Uint8Array.of(1, 2, 3, 4);
  assert.equal(v2.view!(raw)?.buffer, raw.buffer);
  assert.deepEqual(v2.decode(encode(v2, raw)), [Uint8Array.of(1, 2), Uint8Array.of(3, 4)]);
  assert.deepEqual(roundTrip("|V3", [Uint8Array.of(1)]), [Uint8Array.of(1, 0, 0)]);
  assert.throws(
    () => roundTrip("|V1", [Uint8Array.of(1, 2)]),
    /2 bytes, the dtype holds at most 1/,
  );
  assert.throws(() => encode(v2, Uint8Array.of(1, 2, 3)), /not a whole number/);
  // Big-endian UCS-4 bytes.
  assert.deepEqual([...encode(defaultRegistry.resolve(">U1"), ["é"])], [0, 0, 0, 0xe9]);
  assert.deepEqual([...encode(defaultRegistry.resolve("<U1"), ["😀"])], [0x00, 0xf6, 0x01, 0]);
  const noTrailingNul = (s: string) => !s.endsWith("\0");
  for (const descr of ["<U5", ">U5"]) {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme-ascii", maxLength: 5 }).filter(noTrailingNul)),
        (strings) => {
          assert.deepEqual(roundTrip(descr, strings), strings);
        },
      ),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.integer({ min: 1, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff), {
            maxLength: 5,
          }),
        ),
        (cps) => {
          const strings = cps.map((c) => String.fromCodePoint(...c));
          assert.deepEqual(roundTrip(descr, strings), strings);
        },
      ),
      { numRuns: 100 },
    );
  }
  fc.assert(
    fc.property(
      fc.array(
        fc.string({
          unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
          maxLength: 6,
        }).filter(noTrailingNul),
      ),
      (strings) => {
        assert.deepEqual(roundTrip("|S6", strings), strings);
      },
    ),
    { numRuns: 100 },
  );
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 })), (chunks) => {
      assert.deepEqual(roundTrip("|V4", chunks), chunks);
    }),
    { numRuns: 100 },
  );
});

test("datetime: ticks, NaT, Dates for M8 (floored to the unit), toDate, refusals", () => {
  const ns = defaultRegistry.resolve("<M8[ns]") as DatetimeDtype;
  const ticks = BigInt64Array.of(0n, NAT);
  if (HOST === "<") assert.equal(ns.view!(ticks)?.buffer, ticks.buffer);
  assert.deepEqual(roundTrip(">M8[ns]", [1n, 2, null, NaN]), BigInt64Array.of(1n, 2n, NAT, NAT));
  assert.deepEqual(
    roundTrip("<M8[us]", [new Date("2000-01-01T00:00:00.001Z"), new Date(NaN)]),
    BigInt64Array.of(946684800001000n, NAT),
  );
  assert.deepEqual(roundTrip("<M8[h]", [new Date(-1)]), BigInt64Array.of(-1n)); // floored
  assert.deepEqual(
    roundTrip("<M8[Y]", [new Date("1969-06-01Z"), new Date("2024-12-31T23:59Z")]),
    BigInt64Array.of(-1n, 54n),
  );
  assert.deepEqual(roundTrip("<M8[2D]", [new Date("1970-01-04Z")]), BigInt64Array.of(1n));
  assert.throws(() => roundTrip("<M8", [new Date()]), /generic unit has no scale/);
  assert.throws(() => roundTrip("<m8[s]", [new Date()]), /not a duration/);
  assert.throws(() => roundTrip("<M8[ns]", [new Date("+100000-01-01Z")]), /out of the range/);
  assert.throws(() => roundTrip("<M8[ns]", [1.5]), /not an integer/);
  assert.throws(() => roundTrip("<M8[ns]", Float64Array.of(1)), /Float64Array to '<M8\[ns\]'/);
  assert.throws(() => roundTrip("<M8[ns]", ["2020-01-01"]), NpyDtypeError);
  assert.equal(ns.toDate(NAT), null);
  assert.equal(ns.toDate(1_000_000n)?.getTime(), 1);
  assert.equal(
    (defaultRegistry.resolve(">M8[M]") as DatetimeDtype).toDate(649n)?.toISOString(),
    "2024-02-01T00:00:00.000Z",
  );
  assert.throws(
    () => (defaultRegistry.resolve("<m8[s]") as DatetimeDtype).toDate(1n),
    NpyDtypeError,
  );
  for (const descr of ["<M8[ms]", ">M8[s]", "<M8[D]", ">M8[M]", "<M8[7us]"]) {
    const dt = defaultRegistry.resolve(descr) as DatetimeDtype;
    fc.assert(
      fc.property(
        fc.array(
          fc.date({
            min: new Date("1700-01-01Z"),
            max: new Date("2200-01-01Z"),
            noInvalidDate: true,
          }),
        ),
        (dates) => {
          const decoded = dt.decode(encode(dt, dates));
          const expected = dates.map((d) => dt.fromDate(d));
          assert.deepEqual([...decoded], expected);
          // toDate gives the start of the tick, at or before the date, and maps back to it.
          decoded.forEach((t, i) => {
            const back = dt.toDate(t)!;
            assert.ok(back.getTime() <= dates[i]!.getTime());
            // (Sub-millisecond ticks are floored to the millisecond a Date holds.)
            if (!descr.includes("us")) assert.equal(dt.fromDate(back), t);
          });
        },
      ),
      { numRuns: 100 },
    );
  }
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), (values) => {
      assert.deepEqual([...(roundTrip(">m8[as]", values) as BigInt64Array)], values);
    }),
    { numRuns: 100 },
  );
});

test("the object dtype is refused with a clear error; unknown descrs name the plugins", () => {
  assert.throws(
    () => defaultRegistry.resolve("|O"),
    /object dtype .* neither appended to nor memory-mapped/,
  );
  assert.throws(() => defaultRegistry.resolve([["a", "|O"]]), NpyDtypeError);
  assert.throws(() => defaultRegistry.resolve("<c32"), /no registered dtype plugin handles it/);
  // Zero-width flexible types are NumPy's too (record fields of no bytes): they resolve.
  assert.equal(defaultRegistry.resolve("|S0").itemsize, 0);
  assert.deepEqual(BUILTIN_PLUGINS.map((p) => p.name).slice(0, 6), [
    "numeric",
    "bool",
    "complex",
    "bytes",
    "datetime",
    "record",
  ]);
});

test("a registered plugin wins over the built-ins, also inside records", () => {
  const registry = new DtypeRegistry(BUILTIN_PLUGINS).register({
    name: "f4-as-doubled",
    resolve(descr) {
      if (descr !== "<f4") return undefined;
      const base = new DtypeRegistry(BUILTIN_PLUGINS).resolve("<f4");
      return {
        descr: "<f4",
        itemsize: 4,
        count: (v) => base.count((v as number[]).map((x) => x * 2)),
        encodeInto: (v, t, o) => base.encodeInto((v as number[]).map((x) => x * 2), t, o),
        decode: (b) => [...(base.decode(b) as Float32Array)].map((x) => x / 2),
      };
    },
  });
  const rec = registry.resolve([["x", "<f4"], ["n", "<i2"]]);
  const bytes = encode(rec, [{ x: 1.5, n: 1 }]);
  assert.equal(new DataView(bytes.buffer).getFloat32(0, true), 3);
  assert.deepEqual(rec.decode(bytes), [{ x: 1.5, n: 1 }]);
  assert.equal((defaultRegistry.resolve("<f4").decode(bytes.subarray(0, 4)) as Float32Array)[0], 3);
});

test("register() returns a new registry and changes neither the default nor its receiver", () => {
  const plugin = {
    name: "f8-as-u1",
    resolve: (descr: unknown, registry: DtypeRegistry) =>
      descr === "<f8" ? registry.resolve("|u1") : undefined,
  };
  const before = defaultRegistry.plugins;
  const mine = defaultRegistry.register(plugin);
  assert.notEqual(mine, defaultRegistry);
  assert.equal(mine.resolve("<f8").descr, "|u1", "the new registry asks the plugin first");
  assert.equal(defaultRegistry.resolve("<f8").descr, "<f8", "the default is unchanged");
  assert.deepEqual(defaultRegistry.plugins, before);
  assert.equal(mine.plugins[0], plugin);
  assert.deepEqual(mine.plugins.slice(1), before);
  assert.throws(() => (defaultRegistry.plugins as DtypePlugin[]).push(plugin), TypeError);
});
