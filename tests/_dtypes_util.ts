/**
 * Shared helpers of the dtype tests: the case table (tests/testdata/dtypes/cases.json holds
 * the descr and the Python expression of each case; this file holds the JS side: what we
 * encode and what decoding must give), writing a .npy from encoded bytes, and a comparison
 * that is exact for floats (bit patterns, NaN payloads, -0).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultRegistry, type Descr, type DtypeRegistry, encodeHeader, NAT } from "../mod.ts";
import { ROOT } from "./_util.ts";

/** One case of cases.json. */
export interface DtypeCase {
  name: string;
  descr: Descr;
  py: string;
}

/** The cases (descr + Python expression), in file order. */
export const CASES: DtypeCase[] = JSON.parse(
  readFileSync(join(ROOT, "tests/testdata/dtypes/cases.json"), "utf8"),
);

/** Where the golden files are. */
export const GOLDEN_DIR: string = join(ROOT, "tests/testdata/dtypes");

/** The Python code that evaluates a case's expected array (shared with make_dtypes.py). */
export const PY_PRELUDE: string = `
sys.path.insert(0, ${JSON.stringify(GOLDEN_DIR)})
from make_dtypes import expected_array
`;

function f32(...bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

function f64(...bits: bigint[]): Float64Array {
  return new Float64Array(BigUint64Array.from(bits).buffer);
}

const F2_IN = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  65504,
  2 ** -14,
  2 ** -24,
  3 * 2 ** -24,
  0.1,
  1 / 3,
  -2.5,
];
const F2_OUT = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  65504,
  2 ** -14,
  2 ** -24,
  3 * 2 ** -24,
  0.0999755859375,
  0.333251953125,
  -2.5,
];
const F4 = f32(
  0,
  0x80000000,
  0x7f800000,
  0xff800000,
  1,
  0x00800000,
  0x7f7fffff,
  0x7fc00000,
  0x7fc12345,
  0xffc00001,
  0x7f800001,
  0x3f800000,
);
const F8 = f64(
  0n,
  0x8000000000000000n,
  0x7ff0000000000000n,
  0xfff0000000000000n,
  1n,
  0x0010000000000000n,
  0x7fefffffffffffffn,
  0x7ff8000000000000n,
  0x7ff8000000000001n,
  0xfff0000000000abcn,
  0x7ff8dead0000beefn,
  0x3fb999999999999an,
);
const C_IN = [0, [1, 2], { re: -0, im: Infinity }, [NaN, -1.5], [1e-45, -1e-300], {
  re: -0,
  im: -1,
}];
const C8_OUT = Float32Array.of(0, 0, 1, 2, -0, Infinity, NaN, -1.5, 1e-45, -0, -0, -1);
const C16_OUT = Float64Array.of(0, 0, 1, 2, -0, Infinity, NaN, -1.5, 1e-45, -1e-300, -0, -1);
const TICKS = BigInt64Array.of(0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n) + 1n, NAT);

/** JS side of a case: what we encode, and what decoding must give (default: the same). */
export interface JsCase {
  js: unknown;
  expect?: unknown;
  /** Decode options. */
  layout?: "objects" | "columns";
}

/** JS values per case name. */
export const JS: Record<string, JsCase> = {
  i1: { js: Int8Array.of(-128, -1, 0, 1, 127) },
  i2_le: { js: Int16Array.of(-32768, -1, 0, 12345, 32767) },
  i2_be: { js: [-32768, -1, 0, 12345, 32767], expect: Int16Array.of(-32768, -1, 0, 12345, 32767) },
  i4_le: {
    js: [-(2 ** 31), -1, 0, 305419896, 2 ** 31 - 1],
    expect: Int32Array.of(-(2 ** 31), -1, 0, 305419896, 2 ** 31 - 1),
  },
  i4_be: { js: Int32Array.of(-(2 ** 31), -1, 0, 305419896, 2 ** 31 - 1) },
  i8_le: { js: BigInt64Array.of(-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n) },
  i8_be: {
    js: [-(2n ** 63n), -1, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n],
    expect: BigInt64Array.of(-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n),
  },
  u1: { js: [0, 1, 128, 255], expect: Uint8Array.of(0, 1, 128, 255) },
  u2_le: { js: Uint16Array.of(0, 258, 65535) },
  u2_be: { js: Uint16Array.of(0, 258, 65535) },
  u4_le: { js: Uint32Array.of(0, 16909060, 2 ** 32 - 1) },
  u4_be: { js: [0, 16909060n, 2 ** 32 - 1], expect: Uint32Array.of(0, 16909060, 2 ** 32 - 1) },
  u8_le: { js: BigUint64Array.of(0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n) },
  u8_be: {
    js: [0, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n],
    expect: BigUint64Array.of(0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n),
  },
  f2_le: { js: F2_IN, expect: F2_OUT },
  f2_be: { js: F2_IN, expect: F2_OUT },
  f4_le: { js: F4 },
  f4_be: { js: F4 },
  f8_le: { js: F8 },
  f8_be: { js: F8 },
  b1: { js: [true, false, 1, true], expect: Uint8Array.of(1, 0, 1, 1) },
  c8_le: { js: C_IN, expect: C8_OUT },
  c8_be: { js: C8_OUT },
  c16_le: { js: C16_OUT },
  c16_be: { js: C_IN, expect: C16_OUT },
  S1: { js: ["", "a", "\xff"] },
  S5: { js: ["", "abc", "abcde", "été", "a\0b"] },
  U4_le: { js: ["", "abcd", "hé", "😀x", "a\0b"] },
  U4_be: { js: ["", "abcd", "hé", "😀x", "a\0b"] },
  V3: {
    js: [Uint8Array.of(0, 1, 2), Uint8Array.of(97, 98, 99), new Uint8Array(3)],
  },
  M8ns_le: { js: TICKS },
  M8ns_be: { js: [0n, 1, -1, 2n ** 63n - 1n, -(2n ** 63n) + 1n, null], expect: TICKS },
  M8D_le: { js: TICKS },
  m8s_be: { js: TICKS },
  M8_10us_le: { js: TICKS },
  m8as_le: { js: TICKS },
  M8Y_be: { js: TICKS },
  M8M_le: { js: TICKS },
  M8W_le: { js: TICKS },
  m8generic_le: { js: TICKS },
  M8generic_be: { js: [null, NaN], expect: BigInt64Array.of(NAT, NAT) },
  M8ms_dates: {
    js: [
      new Date("2024-02-29T12:34:56.789Z"),
      null,
      new Date(-1),
      new Date(0),
    ],
    expect: BigInt64Array.of(1709210096789n, NAT, -1n, 0n),
  },
  M8D_dates: {
    js: [
      new Date("2024-02-29T12:34:56.789Z"),
      new Date(-1),
      new Date("1900-03-01T00:00:00Z"),
    ],
    expect: BigInt64Array.of(19782n, -1n, -25508n),
  },
  M8M_dates: {
    js: [
      new Date("2024-02-29T12:34:56.789Z"),
      new Date(-1),
      new Date("1970-05-01T00:00:00Z"),
    ],
    expect: BigInt64Array.of(216n, -1n, 1n),
  },
  tick: {
    js: [
      { t: 0n, price: 1.5, size: 3, side: "B" },
      { t: 10n ** 18n, price: -0, size: 2 ** 32 - 1, side: "" },
      { t: NAT, price: Infinity, size: 0, side: "S" },
    ],
  },
  record_mixed: {
    js: {
      a: Int16Array.of(1, -2),
      b: Float64Array.of(1.5, -2, Infinity, -0),
      n: { x: [7, 255], y: [[1, 2], [-0, -1]] },
      s: ["hé", ""],
    },
    layout: "columns",
    expect: {
      a: Int16Array.of(1, -2),
      b: Float64Array.of(1.5, -2, Infinity, -0),
      n: { x: Uint8Array.of(7, 255), y: Float32Array.of(1, 2, -0, -1) },
      s: ["hé", ""],
    },
  },
  record_subarray: {
    js: [
      { id: 1, xy: [[1, 2, 3], [4, 5, 6]], flag: true },
      { id: 65535, xy: Float32Array.of(-1, -2, -3, 0.5, 0.25, 0.125), flag: false },
    ],
    expect: [
      { id: 1, xy: Float32Array.of(1, 2, 3, 4, 5, 6), flag: true },
      { id: 65535, xy: Float32Array.of(-1, -2, -3, 0.5, 0.25, 0.125), flag: false },
    ],
  },
  // Subarrays of subarrays (NumPy's test_descr_to_dtype forms): a field is its element
  // dtype under all the shapes, outermost first. Encoding takes nested arrays; decoding
  // gives the field flat, row-major, as for any subarray field.
  record_subarray_of_subarray: {
    js: [
      { c: [[0, 1.5, 3, 4.5, 6], [7.5, 9, 10.5, 12, 13.5]], n: 7 },
      { c: Float64Array.from({ length: 10 }, (_, i) => 0 - i), n: -1 },
    ],
    expect: [
      { c: Float64Array.of(0, 1.5, 3, 4.5, 6, 7.5, 9, 10.5, 12, 13.5), n: 7 },
      { c: Float64Array.from({ length: 10 }, (_, i) => 0 - i), n: -1 },
    ],
  },
  record_subarray_of_records: {
    js: [
      {
        x: Array.from(
          { length: 4 },
          (_, i) => Array.from({ length: 3 }, (_, j) => ({ a: i + j, b: -i - j })),
        ),
      },
      {
        x: Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => ({ a: -128, b: 127 }))),
      },
    ],
    expect: [
      {
        x: Array.from(
          { length: 12 },
          (_, k) => ({ a: (k / 3 | 0) + k % 3, b: 0 - ((k / 3 | 0) + k % 3) }),
        ),
      },
      { x: Array.from({ length: 12 }, () => ({ a: -128, b: 127 })) },
    ],
  },
  record_deep_subarrays: {
    js: [{
      a: Array.from(
        { length: 5 },
        (_, i) =>
          Array.from({ length: 4 }, (_, j) =>
            Array.from(
              { length: 3 },
              (_, k) => ({ a: BigInt(i * 12 + j * 3 + k), b: { a: k, b: -k } }),
            )),
      ),
    }],
    expect: [{
      a: Array.from({ length: 60 }, (_, n) => ({ a: BigInt(n), b: { a: n % 3, b: 0 - (n % 3) } })),
    }],
  },
  record_aligned: {
    js: [{ a: -1, b: 2, c: 3 }, { a: 127, b: -32768, c: 2 ** 31 - 1 }],
  },
  // np.dtype([]): records of no bytes; the count comes from the shape.
  record_no_fields: { js: [{}, {}, {}] },
  // Zero-width S0, U0, V0 (NumPy's np.zeros(3, "V0"), record fields of no bytes).
  V0: { js: [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)] },
  record_zero_width: {
    js: [{ a: 1, s: "", u: "", v: new Uint8Array(0) }, { a: -2, s: "", u: "", v: Uint8Array.of() }],
  },
  // NumPy's <M8[0s] (a zero unit multiplier): it saves and loads the ticks as they are.
  M8_0s_le: { js: TICKS },
  record_empty_parts: {
    js: [{ e: {}, a: [], b: 5 }, { e: {}, a: Float32Array.of(), b: -1 }],
    expect: [{ e: {}, a: Float32Array.of(), b: 5 }, { e: {}, a: Float32Array.of(), b: -1 }],
  },
};

/** A whole .npy file: NumPy's header for `descr` and `shape`, then `data`. */
export function npyBytes(descr: Descr, shape: number[], data: Uint8Array): Uint8Array {
  const header = encodeHeader({ descr, fortranOrder: false, shape });
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** Encodes `values` with the registry's dtype for `descr` and writes a .npy file. */
export function writeOurs(
  path: string,
  descr: Descr,
  values: unknown,
  registry: DtypeRegistry = defaultRegistry,
): void {
  const dtype = registry.resolve(descr);
  const n = dtype.count(values);
  const data = new Uint8Array(n * dtype.itemsize);
  assert.equal(dtype.encodeInto(values, data), data.length);
  writeFileSync(path, npyBytes(dtype.descr, [n], data));
}

function tag(v: unknown): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/**
 * Deep equality that is exact for numbers (`Object.is`: NaN equals NaN, -0 differs from 0)
 * and, for float TypedArrays of the same type, compares bit patterns (NaN payloads).
 * A Float16Array and a Float32Array (f2 on runtimes without Float16Array) compare by value.
 */
export function assertSame(actual: unknown, expected: unknown, where = "value"): void {
  if (ArrayBuffer.isView(expected) || ArrayBuffer.isView(actual) || Array.isArray(expected)) {
    const a = actual as ArrayLike<unknown>;
    const e = expected as ArrayLike<unknown>;
    assert.ok(
      a !== null && typeof a === "object" && "length" in a,
      `${where}: expected an array, got ${tag(a)}`,
    );
    if (ArrayBuffer.isView(expected) && ArrayBuffer.isView(actual)) {
      const f16 = tag(actual) === "Float16Array" || tag(actual) === "Float32Array";
      if (!(f16 && (tag(expected) === "Float32Array" || tag(expected) === "Float16Array"))) {
        assert.equal(tag(actual), tag(expected), `${where}: array type`);
      }
      if (tag(actual) === tag(expected)) {
        const ab = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
        const eb = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
        assert.deepEqual([...ab], [...eb], `${where}: bytes of ${tag(actual)}`);
        return;
      }
    }
    assert.equal(a.length, e.length, `${where}: length`);
    for (let i = 0; i < e.length; i++) assertSame(a[i], e[i], `${where}[${i}]`);
    return;
  }
  if (expected !== null && typeof expected === "object") {
    assert.equal(tag(actual), "Object", `${where}: expected an object`);
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${where}: keys`);
    for (const k of Object.keys(e)) assertSame(a[k], e[k], `${where}.${k}`);
    return;
  }
  assert.ok(
    Object.is(actual, expected),
    `${where}: ${String(actual)} (${typeof actual}) is not ${
      String(expected)
    } (${typeof expected})`,
  );
}
