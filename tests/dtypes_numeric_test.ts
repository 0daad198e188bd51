/**
 * The numeric dtype plugin: canonical descrs and the casting table (case by case, and the
 * whole matrix against NumPy's can_cast in one python call), weak scalars (NEP 50), zero-copy
 * encode/decode, unaligned buffers, half floats (exhaustive), fast-check round trips.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Casting,
  defaultRegistry,
  type Dtype,
  NpyDtypeError,
  type NumericDtype,
} from "../mod.ts";
import { floatToHalfBits, halfBitsToFloat, halfToFloat32Bits } from "../dtypes/_half.ts";
import { runPython } from "./_util.ts";
import { assertSame } from "./_dtypes_util.ts";

const HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? "<" : ">";
const OTHER = HOST === "<" ? ">" : "<";
const TYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"];
const CASTINGS: Casting[] = ["no", "equiv", "safe", "same_kind", "unsafe"];
const HAS_F16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array === "function";

function resolve(descr: string): NumericDtype {
  return defaultRegistry.resolve(descr) as NumericDtype;
}

function encode(dtype: Dtype, values: unknown, casting?: Casting): Uint8Array {
  const out = new Uint8Array(dtype.count(values, { casting }) * dtype.itemsize);
  dtype.encodeInto(values, out, { casting });
  return out;
}

/** A TypedArray of numeric type `t` (host order) holding `values`. */
function typed(t: string, values: number[]): ArrayBufferView {
  const G = globalThis as unknown as Record<string, new (a: unknown[]) => ArrayBufferView>;
  const name = {
    i1: "Int8Array",
    i2: "Int16Array",
    i4: "Int32Array",
    i8: "BigInt64Array",
    u1: "Uint8Array",
    u2: "Uint16Array",
    u4: "Uint32Array",
    u8: "BigUint64Array",
    f2: "Float16Array",
    f4: "Float32Array",
    f8: "Float64Array",
  }[t]!;
  return new G[name]!(t.endsWith("8") && t[0] !== "f" ? values.map(BigInt) : values);
}

test("descrs are canonical as NumPy spells dtype.str (checked against NumPy)", () => {
  const inputs = [
    "<i1",
    ">u1",
    "|i1",
    "i1",
    "=f4",
    "f8",
    "|f4",
    ">f2",
    "=i8",
    "?",
    "<b1",
    "b1",
    "=U3",
    "|U3",
    ">U3",
    ">S3",
    "S3",
    "<V4",
    "=M8[ns]",
    ">M8",
    "<M8[1ns]",
    "M8[10us]",
    "=m8",
    "=c8",
    ">c16",
  ];
  const numpy = runPython<string[]>(
    "print(json.dumps([np.dtype(d).str for d in json.load(sys.stdin)]))",
    inputs,
  );
  const ours = inputs.map((d) => defaultRegistry.resolve(d).descr);
  assert.deepEqual(ours, numpy);
  assert.equal(resolve("<i1").descr, "|i1");
  assert.equal(resolve("=f4").descr, `${HOST}f4`);
  assert.equal(defaultRegistry.resolve("?").descr, "|b1");
});

test("casting table, case by case (TypedArrays are strong)", () => {
  const refused = (descr: string, v: unknown, casting?: Casting) =>
    assert.throws(() => encode(resolve(descr), v, casting), NpyDtypeError, `${descr} ${casting}`);
  const ok = (descr: string, v: unknown, casting?: Casting) =>
    assert.doesNotThrow(() => encode(resolve(descr), v, casting), `${descr} ${casting}`);
  refused("<i2", Float64Array.of(1)); // same_kind by default: float -> int refused
  refused("<i2", Float64Array.of(1), "same_kind");
  ok("<i2", Float64Array.of(1), "unsafe");
  ok("<f8", Int16Array.of(1), "safe");
  ok("<f4", Float64Array.of(1), "same_kind");
  refused("<f4", Float64Array.of(1), "safe");
  refused("<f4", Int32Array.of(1), "safe"); // int32 needs float64
  ok("<f8", Int32Array.of(1), "safe");
  ok("<i8", BigUint64Array.of(1n), "unsafe");
  refused("<i8", BigUint64Array.of(1n), "safe"); // uint64 -> int64 is not safe…
  ok("<i8", BigUint64Array.of(1n), "same_kind"); // …but goes up a kind
  ok("<i4", Uint16Array.of(1), "safe");
  refused("|u1", Int8Array.of(1), "same_kind"); // signed -> unsigned goes down a kind
  ok("|i1", Uint8Array.of(1), "same_kind"); // unsigned -> signed goes up
  refused("<u8", BigInt64Array.of(1n));
  ok("<f8", BigInt64Array.of(2n ** 62n), "safe");
  ok("<f2", Float32Array.of(1)); // same_kind downcast
  refused("<f2", Float32Array.of(1), "safe");
  // "no": same type and byte order; "equiv": byte order may differ.
  ok(`${HOST}f8`, Float64Array.of(1), "no");
  refused(`${OTHER}f8`, Float64Array.of(1), "no");
  ok(`${OTHER}f8`, Float64Array.of(1), "equiv");
  refused(`${HOST}f8`, Float32Array.of(1), "equiv");
  ok("|u1", Uint8Array.of(1), "no");
  ok("|i1", Int8Array.of(1), "no"); // 1-byte types have no byte order
  // The error says what was cast to what.
  assert.throws(
    () => encode(resolve("<i2"), Float64Array.of(1)),
    (e: unknown) =>
      e instanceof NpyDtypeError && /Float64Array \(float64\) to '<i2' \(int16\)/.test(e.message) &&
      /"same_kind"/.test(e.message) && e.descr === "<i2",
  );
});

test("weak JS numbers and bigints must fit (NEP 50)", () => {
  const refused = (descr: string, v: unknown[], re?: RegExp) =>
    assert.throws(
      () => encode(resolve(descr), v),
      (e: unknown) => e instanceof NpyDtypeError && (!re || re.test(e.message)),
      `${descr} ${String(v)}`,
    );
  refused("<i4", [1.5], /1\.5 \(element 0\) to '<i4' \(int32\): not an integer/);
  refused("|u1", [1, 300], /300 \(element 1\) to '\|u1' \(uint8\): out of range 0\.\.255/);
  refused("|u1", [-1]);
  refused("<i4", [NaN], /NaN is not an integer/);
  refused("<i8", [Infinity]);
  refused("<i8", [2n ** 63n]);
  refused("<u8", [-1n]);
  refused("<i2", ["1"], /not a number or bigint/);
  refused("<f8", [null]);
  assert.deepEqual(resolve("<f2").decode(encode(resolve("<f2"), [300]))[0], 300);
  assert.deepEqual([...resolve(">f4").decode(encode(resolve(">f4"), [1e300, 2n ** 70n]))], [
    Infinity,
    2 ** 70,
  ]);
  assert.deepEqual([...resolve("<u8").decode(encode(resolve("<u8"), [2 ** 53, 2n ** 64n - 1n]))], [
    2n ** 53n,
    2n ** 64n - 1n,
  ]);
  assert.deepEqual([...resolve("<i2").decode(encode(resolve("<i2"), [true, false, -0]))], [
    1,
    0,
    0,
  ]);
  // "unsafe" truncates and wraps, as a C cast does.
  const i1 = resolve("|i1");
  assert.deepEqual([...i1.decode(encode(i1, [1.9, 300, -129], "unsafe"))], [1, 44, 127]);
  assert.deepEqual([
    ...resolve("<i8").decode(encode(resolve("<i8"), [2n ** 64n + 5n, -1.5], "unsafe")),
  ], [
    5n,
    -1n,
  ]);
});

test("the casting matrix matches NumPy's can_cast for every TypedArray and numeric descr", () => {
  const sources = TYPES.filter((t) => t !== "f2" || HAS_F16);
  const targets = TYPES.flatMap((t) => (t.endsWith("1") ? [`|${t}`] : [`<${t}`, `>${t}`]));
  const cases: [string, string, Casting][] = [];
  for (const s of sources) for (const t of targets) for (const c of CASTINGS) cases.push([s, t, c]);
  const numpy = runPython<boolean[]>(
    `print(json.dumps([bool(np.can_cast(np.dtype("=" + s), np.dtype(t), c)) for s, t, c in json.load(sys.stdin)]))`,
    cases,
  );
  const mismatches: string[] = [];
  cases.forEach(([s, t, c], i) => {
    let ours = true;
    try {
      resolve(t).count(typed(s, [1]), { casting: c });
    } catch (e) {
      assert.ok(e instanceof NpyDtypeError);
      ours = false;
    }
    if (ours !== numpy[i]) mismatches.push(`${s} -> ${t} (${c}): ours ${ours}, NumPy ${numpy[i]}`);
  });
  assert.deepEqual(mismatches, []);
  assert.ok(cases.length >= 10 * 19 * 5);
});

test("view() of a matching host-order TypedArray is its own memory (no copy)", () => {
  const big = new Float64Array(16);
  const values = big.subarray(3, 9);
  values.set([1, 2, 3, 4, 5, 6]);
  const f8 = resolve(`${HOST}f8`);
  const view = f8.view(values)!;
  assert.ok(view instanceof Uint8Array);
  assert.equal(view.buffer, big.buffer);
  assert.equal(view.byteOffset, 24);
  assert.equal(view.byteLength, 48);
  assert.equal(f8.view(values, { casting: "no" })?.buffer, big.buffer);
  assert.equal(resolve(`${OTHER}f8`).view(values), undefined);
  assert.equal(resolve(`${HOST}f4`).view(values), undefined);
  assert.equal(resolve(`${HOST}f8`).view([1, 2]), undefined);
  for (const t of ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4"]) {
    const arr = typed(t, [1, 2, 3]);
    const v = resolve(t.endsWith("1") ? `|${t}` : `${HOST}${t}`).view(arr)!;
    assert.equal(v.buffer, arr.buffer, t);
  }
  assert.equal(resolve("|u1").view(Uint8ClampedArray.of(1))?.length, 1);
});

test("decode of host-order aligned bytes is a view; otherwise a correct copy", () => {
  const f4 = resolve(`${HOST}f4`);
  const buffer = new Uint8Array(64);
  f4.encodeInto([1, 2, 3], buffer.subarray(8, 20));
  const view = f4.decode(buffer.subarray(8, 20));
  assert.equal(view.buffer, buffer.buffer);
  assert.equal(view.byteOffset, 8);
  assert.deepEqual([...view], [1, 2, 3]);
  // Unaligned: a copy with the same values.
  const odd = new Uint8Array(13).subarray(1);
  odd.set(buffer.subarray(8, 20));
  const copy = f4.decode(odd);
  assert.notEqual(copy.buffer, odd.buffer);
  assert.deepEqual([...copy], [1, 2, 3]);
  // Other byte order: swapped into a fresh buffer, the input untouched.
  const be = resolve(`${OTHER}i4`);
  const bytes = encode(be, [1, -2]);
  const before = [...bytes];
  assert.deepEqual([...be.decode(bytes)], [1, -2]);
  assert.deepEqual([...bytes], before);
  assert.throws(() => f4.decode(new Uint8Array(5)), NpyDtypeError);
});

test("encodeInto writes into unaligned targets and reports bytes written", () => {
  for (const descr of ["<f4", ">f4", "<i8", ">u2", "<f2", ">f8"]) {
    const dtype = resolve(descr);
    const target = new Uint8Array(3 * dtype.itemsize + 1).subarray(1);
    const input = descr.includes("i8") ? [1n, -2n, 3n] : [1, 2, 3];
    assert.equal(dtype.encodeInto(input, target), 3 * dtype.itemsize);
    assertSame([...dtype.decode(target)], input, descr);
    const strong = descr.includes("i8") ? BigInt64Array.of(1n, -2n, 3n) : Float64Array.of(1, 2, 3);
    dtype.encodeInto(strong, target, { casting: "unsafe" });
    assertSame([...dtype.decode(target)], input, descr);
  }
  assert.throws(() => resolve("<f4").encodeInto([1, 2], new Uint8Array(7)), RangeError);
});

test("half floats: every bit pattern round-trips; ties round to even; matches Float16Array", () => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let h = 0; h < 0x10000; h++) {
    const x = halfBitsToFloat(h);
    u32[0] = halfToFloat32Bits(h);
    if (Number.isNaN(x)) {
      assert.ok(Number.isNaN(f32[0]!));
      continue;
    }
    assert.ok(Object.is(f32[0], x), `halfToFloat32Bits(${h})`);
    assert.equal(floatToHalfBits(x), h, `bits ${h.toString(16)}`);
    // The midpoint to the next half rounds to the even one of the two.
    if ((h & 0x7fff) < 0x7bff) {
      const next = halfBitsToFloat(h + 1);
      const mid = (x + next) / 2;
      assert.equal(floatToHalfBits(mid), h % 2 === 0 ? h : h + 1, `tie after ${h.toString(16)}`);
    }
  }
  assert.equal(floatToHalfBits(65520), 0x7c00);
  assert.equal(floatToHalfBits(65519.99), 0x7bff);
  assert.equal(floatToHalfBits(2 ** -25), 0); // tie between 0 and the smallest subnormal
  assert.equal(floatToHalfBits(2 ** -25 + 2 ** -60), 1);
  const F16 = (globalThis as { Float16Array?: new (n: number) => { [i: number]: number } })
    .Float16Array;
  if (F16) {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const a = new F16(1);
        a[0] = x;
        const ours = halfBitsToFloat(floatToHalfBits(x));
        return Object.is(a[0], ours) || (Number.isNaN(a[0]) && Number.isNaN(ours));
      }),
      { numRuns: 2000 },
    );
  }
});

/** Values of type `t` as weak JS values and as the decoded result. */
function arbValues(t: string): fc.Arbitrary<unknown[]> {
  const bits = Number(t.slice(1)) * 8;
  if (t[0] === "f") {
    if (t === "f8") return fc.array(fc.double(), { maxLength: 40 });
    return fc.array(fc.float().map((x) => x), { maxLength: 40 });
  }
  if (bits === 64) {
    const min = t[0] === "i" ? -(2n ** 63n) : 0n;
    const max = t[0] === "i" ? 2n ** 63n - 1n : 2n ** 64n - 1n;
    return fc.array(fc.bigInt({ min, max }), { maxLength: 40 });
  }
  const min = t[0] === "i" ? -(2 ** (bits - 1)) : 0;
  const max = t[0] === "i" ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return fc.array(fc.integer({ min, max }), { maxLength: 40 });
}

test("fast-check: weak arrays and TypedArrays round-trip through every numeric descr", () => {
  for (const t of TYPES) {
    for (const order of t.endsWith("1") ? ["|"] : ["<", ">"]) {
      const dtype = resolve(order + t);
      fc.assert(
        fc.property(arbValues(t), (values) => {
          const decoded = dtype.decode(encode(dtype, values));
          const expected = t === "f2"
            ? values.map((x) => halfBitsToFloat(floatToHalfBits(x as number)))
            : values;
          assertSame([...(decoded as ArrayLike<unknown> & Iterable<unknown>)], expected, t);
          // The decoded array encodes back to the same bytes (strong, same type).
          if (t !== "f2" || HAS_F16) {
            assert.deepEqual(encode(dtype, decoded, "equiv"), encode(dtype, values));
          }
        }),
        { numRuns: 100 },
      );
    }
  }
});
