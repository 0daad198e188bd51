/**
 * The header core against NumPy: golden headers written by NumPy (tests/testdata/headers.json,
 * made by make_headers.py beside it), live NumPy in both directions, a malformed-header suite
 * and fast-check properties.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  dataByteLength,
  type Descr,
  type DescrField,
  encodeHeader,
  type FieldDescr,
  formatDescr,
  hasGrowthRoom,
  type HeaderFields,
  itemsizeOf,
  normalizeDescr,
  NpyDtypeError,
  NpyFormatError,
  NpyHeaderSpaceError,
  NpyShapeError,
  parseDescr,
  parseHeader,
  peekHeaderLength,
} from "../mod.ts";
import { rowByteLength, rowCountOf, rowShapeOf, shapeWithRows } from "../lib/header.ts";
import { makeTempDir, present, ROOT, runPython } from "./_util.ts";

interface GoldenCase {
  name: string;
  descr: Descr;
  /** A dim beyond 2^53 - 1 (empty arrays only) is a decimal string in the JSON. */
  shape: (number | string)[];
  fortranOrder: boolean;
  header: string;
}

const golden: { numpy: string; cases: GoldenCase[] } = JSON.parse(
  readFileSync(join(ROOT, "tests/testdata/headers.json"), "utf8"),
);

/** The golden shape as HeaderFields has it: bigint where a dim does not fit a number. */
function shapeOf(c: GoldenCase): (number | bigint)[] {
  return c.shape.map((d) => typeof d === "string" ? BigInt(d) : d);
}

function bytesOf(b64: string): Uint8Array {
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function fieldsOf(c: GoldenCase): HeaderFields {
  return { descr: c.descr, shape: shapeOf(c), fortranOrder: c.fortranOrder };
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A v1 file preamble around `text` (padded with a newline as NumPy does). */
function v1(text: string, version = 1): Uint8Array {
  const body = latin1(text + "\n");
  const out = new Uint8Array(10 + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  new DataView(out.buffer).setUint16(8, body.length, true);
  out.set(body, 10);
  return out;
}

test(`encodeHeader() equals NumPy's header bytes for ${golden.cases.length} golden cases`, () => {
  assert.ok(golden.cases.length >= 40);
  for (const c of golden.cases) {
    assert.deepEqual(encodeHeader(fieldsOf(c)), bytesOf(c.header), c.name);
  }
});

test("golden cases cover every version, 0-d, empty, Fortran order and records", () => {
  const versions = new Set(golden.cases.map((c) => bytesOf(c.header)[6]));
  assert.deepEqual([...versions].sort(), [1, 2, 3]);
  assert.ok(golden.cases.some((c) => c.shape.length === 0));
  assert.ok(golden.cases.some((c) => c.shape.includes(0)));
  assert.ok(golden.cases.some((c) => c.fortranOrder));
  assert.ok(golden.cases.some((c) => typeof c.descr !== "string"));
  assert.ok(golden.cases.some((c) => bytesOf(c.header).length > 65_535));
  // The forms of issue 11: subarrays of subarrays, no fields, dims beyond 2^53, 64 dims.
  assert.ok(golden.cases.some((c) => JSON.stringify(c.descr).includes('"base"')));
  assert.ok(golden.cases.some((c) => Array.isArray(c.descr) && c.descr.length === 0));
  assert.ok(golden.cases.some((c) => c.shape.some((d) => typeof d === "string")));
  assert.ok(golden.cases.some((c) => c.shape.length === 64));
  // Zero-width S0, U0, V0 (records too) and a zero unit multiplier, which NumPy saves.
  for (const d of ["|V0", "|S0", ">U0", "<M8[0s]"]) {
    assert.ok(golden.cases.some((c) => c.descr === d), d);
  }
  assert.ok(golden.cases.some((c) => JSON.stringify(c.descr).includes('["u","<U0"]')));
});

test(`parseHeader() round-trips all ${golden.cases.length} golden headers`, () => {
  for (const c of golden.cases) {
    const bytes = bytesOf(c.header);
    const parsed = parseHeader(bytes, { maxHeaderSize: 1 << 20 });
    assert.deepEqual(parsed, {
      version: bytes[6],
      descr: c.descr,
      fortranOrder: c.fortranOrder,
      shape: shapeOf(c),
      headerLength: bytes.length,
    }, c.name);
    assert.equal(peekHeaderLength(bytes.subarray(0, 12)), bytes.length, c.name);
  }
});

test("formatDescr() spells every golden descr as NumPy does, and parseDescr() reads it back", () => {
  for (const c of golden.cases) {
    const text = formatDescr(c.descr);
    const bytes = bytesOf(c.header);
    const header = bytes[6] === 3
      ? new TextDecoder().decode(bytes)
      : Array.from(bytes, (b) => String.fromCharCode(b)).join("");
    assert.ok(header.includes(`{'descr': ${text}, 'fortran_order'`), c.name);
    assert.deepEqual(parseDescr(text), c.descr, c.name);
  }
});

test("the golden file matches what the installed NumPy writes now", () => {
  const live = runPython<{ cases: GoldenCase[] }>(
    `import runpy, io, contextlib
buf = io.StringIO()
sys.argv = ["make_headers.py", "--stdout"]
with contextlib.redirect_stdout(buf):
    runpy.run_path(${
      JSON.stringify(join(ROOT, "tests/testdata/make_headers.py"))
    }, run_name="__main__")
print(buf.getvalue())`,
  );
  assert.deepEqual(live.cases, golden.cases);
});

test("NumPy loads files whose headers we wrote, with mmap_mode='r', for 20 shapes and dtypes", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const cases: { path: string; descr: string; shape: number[]; fortranOrder: boolean }[] = [];
    const shapes = [[], [0], [5], [2, 3], [0, 4], [3, 0, 2], [2, 3, 4], [1_000]];
    const descrs = ["<f4", ">i8", "|b1", "<c16", "|S3", ">U2", "<M8[us]", "|V5"];
    for (let i = 0; i < 20; i++) {
      const shape = present(shapes[i % shapes.length], "shape");
      const descr = present(descrs[(i * 3) % descrs.length], "descr");
      const fortranOrder = i % 4 === 1 && shape.length > 1;
      const header = encodeHeader({ descr, shape, fortranOrder });
      const itemsize = parseHeader(header).headerLength; // header length, then data of zeros
      const size = shape.reduce((a, b) => a * b, 1) *
        Number(present(/\d+/.exec(descr)?.[0], "size")) *
        (descr.includes("U") ? 4 : 1);
      const bytes = new Uint8Array(itemsize + size);
      bytes.set(header);
      const path = join(dir, `case${i}.npy`);
      writeFileSync(path, bytes);
      cases.push({ path, descr, shape, fortranOrder });
    }
    // A record with a non-latin1 name (version 3) and one with padding.
    const records: Descr[] = [
      [["名前", "<f4"], ["t", "<i8"]],
      [["a", "|u1"], ["", "|V7"], ["b", "<f8", [2]]],
    ];
    for (const [i, descr] of records.entries()) {
      const header = encodeHeader({ descr, shape: [3], fortranOrder: false });
      const path = join(dir, `rec${i}.npy`);
      writeFileSync(path, new Uint8Array([...header, ...new Uint8Array(3 * (i ? 24 : 12))]));
      cases.push({ path, descr: formatDescr(descr), shape: [3], fortranOrder: false });
    }
    const seen = runPython<
      { shape: number[]; fortran: boolean; descr: string; offset: number }[]
    >(
      `from numpy.lib import format as f
out = []
for c in json.load(sys.stdin):
    a = np.load(c["path"], mmap_mode="r")
    b = np.load(c["path"])
    assert a.shape == b.shape
    out.append({"shape": list(a.shape), "fortran": bool(a.flags.f_contiguous and a.ndim > 1 and not a.flags.c_contiguous),
                "descr": repr(f.dtype_to_descr(a.dtype)), "offset": int(a.offset)})
print(json.dumps(out))`,
      cases,
    );
    assert.equal(seen.length, cases.length);
    for (const [i, c] of cases.entries()) {
      const numpy = present(seen[i], c.path);
      assert.deepEqual(numpy.shape, c.shape, c.path);
      const nonTrivial = c.shape.filter((d) => d > 1).length > 1 && !c.shape.includes(0);
      if (nonTrivial) assert.equal(numpy.fortran, c.fortranOrder);
      assert.equal(numpy.descr, c.descr.startsWith("[") ? c.descr : `'${c.descr}'`);
      assert.equal(numpy.offset % 64, 0, "data is 64-byte aligned");
    }
  } finally {
    cleanup();
  }
});

test("NumPy loads our headers of nested subarrays, no fields, dims beyond 2^53 and 64 dims", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const big = 2n ** 53n + 1n;
    const specs: { descr: Descr; shape: (number | bigint)[]; fortranOrder: boolean }[] = [
      { descr: "<f4", shape: [0, big], fortranOrder: false },
      { descr: "|u1", shape: [big, 0], fortranOrder: false },
      { descr: "<f4", shape: [3, 0, 2n ** 58n], fortranOrder: true },
      { descr: ">i2", shape: Array(64).fill(1), fortranOrder: false },
      { descr: [], shape: [3], fortranOrder: false },
      { descr: [["c", { base: "<f8", shape: [5] }, [2]]], shape: [2], fortranOrder: false },
      {
        descr: [["x", { base: [["a", "|i1"], ["", "|V3"], ["b", "|i1"]], shape: [3] }, [4]]],
        shape: [1],
        fortranOrder: false,
      },
      {
        descr: [["e", []], ["a", "float32", [0]], ["b", "int16"]],
        shape: [2],
        fortranOrder: false,
      },
    ];
    const files = specs.map((spec, i) => {
      const path = join(dir, `h${i}.npy`);
      const header = encodeHeader(spec);
      const data = new Uint8Array(
        spec.shape.some((d) => d === 0 || d === 0n)
          ? 0
          : spec.shape.reduce<number>((a, d) => a * Number(d), itemsizeOf(spec.descr)),
      );
      const bytes = new Uint8Array(header.length + data.length);
      bytes.set(header);
      writeFileSync(path, bytes);
      return path;
    });
    const seen = runPython<{ shape: string[]; descr: string }[]>(
      `
out = []
for p in json.load(sys.stdin):
    a = np.load(p, mmap_mode="r")
    out.append({"shape": [str(d) for d in a.shape], "descr": str(np.lib.format.dtype_to_descr(a.dtype))})
print(json.dumps(out))`,
      files,
    );
    for (const [i, spec] of specs.entries()) {
      assert.deepEqual(seen[i]!.shape, spec.shape.map(String), `shape of ${i}`);
      const text = formatDescr(normalizeDescr(spec.descr));
      assert.equal(seen[i]!.descr, typeof spec.descr === "string" ? spec.descr : text, `${i}`);
    }
  } finally {
    cleanup();
  }
});

test("encodeHeader() pads to totalLength for in-place rewrites, keeping the version", () => {
  const first = encodeHeader({ descr: "<f8", shape: [0, 3], fortranOrder: false });
  for (const rows of [1, 999, 123_456_789, 2 ** 40, Number.MAX_SAFE_INTEGER / 32]) {
    const fields = { descr: "<f8", shape: [Math.floor(rows), 3], fortranOrder: false };
    const next = encodeHeader(fields, { totalLength: first.length, version: 1 });
    assert.equal(next.length, first.length);
    assert.equal(next[next.length - 1], 0x0a);
    assert.deepEqual(parseHeader(next).shape, fields.shape);
  }
  const v2 = encodeHeader({ descr: "<f8", shape: [5], fortranOrder: false }, { version: 2 });
  assert.equal(v2[6], 2);
  assert.equal(v2.length % 64, 0);
  const v2grown = encodeHeader({ descr: "<f8", shape: [50], fortranOrder: false }, {
    version: 2,
    totalLength: v2.length,
  });
  assert.deepEqual(parseHeader(v2grown), {
    version: 2,
    descr: "<f8",
    fortranOrder: false,
    shape: [50],
    headerLength: v2.length,
  });
});

test("encodeHeader() throws NpyHeaderSpaceError when a header without growth room must grow", () => {
  // The tightest header for 9 rows, as older writers left it: no spare byte at all.
  const grown = { descr: "<f4", shape: [9], fortranOrder: false };
  let base = 16;
  for (;; base++) {
    try {
      encodeHeader(grown, { totalLength: base, version: 1 });
      break;
    } catch (e) {
      assert.ok(e instanceof NpyHeaderSpaceError);
    }
  }
  const rows = 9;
  assert.throws(
    () =>
      encodeHeader({ ...grown, shape: [rows * 10] }, {
        totalLength: base,
        version: 1,
        path: "x.npy",
      }),
    (e: unknown) => {
      assert.ok(e instanceof NpyHeaderSpaceError);
      assert.match(e.message, /"x\.npy".*ensureAppendable/);
      assert.equal(e.needed, base + 1);
      assert.equal(e.available, base);
      return true;
    },
  );
});

test("encodeHeader() refuses a latin1-only version for a non-latin1 name, and bad fields", () => {
  const fields = { descr: [["名", "<f4"]] as Descr, shape: [1], fortranOrder: false };
  assert.throws(() => encodeHeader(fields, { version: 1 }), NpyFormatError);
  assert.equal(encodeHeader(fields)[6], 3);
  assert.throws(() => encodeHeader({ descr: "<f4", shape: [-1], fortranOrder: false }), RangeError);
  assert.throws(
    () => encodeHeader({ descr: "<f4", shape: [1.5], fortranOrder: false }),
    RangeError,
  );
  assert.throws(
    () => encodeHeader({ descr: "|O", shape: [1], fortranOrder: false }),
    NpyDtypeError,
  );
  assert.throws(
    () => encodeHeader({ descr: "<f8", shape: [2 ** 50, 2 ** 10], fortranOrder: false }),
    RangeError,
  );
});

test("parseHeader() accepts the header spellings numpy.load accepts", () => {
  const variants: [string, HeaderFields][] = [
    [`{"descr": "<f4", "fortran_order": False, "shape": (3,)}`, {
      descr: "<f4",
      fortranOrder: false,
      shape: [3],
    }],
    [`{ 'shape' : ( 2 , 3 , ) ,\t'fortran_order':True,'descr':'>i2' , }`, {
      descr: ">i2",
      fortranOrder: true,
      shape: [2, 3],
    }],
    [`{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L), }`, {
      descr: "<f8",
      fortranOrder: false,
      shape: [3, 4],
    }],
    [`{'descr': [('a', '<i2', 3), (u'b', [("c", '|u1')])], 'fortran_order': False, 'shape': ()}`, {
      descr: [["a", "<i2", [3]], ["b", [["c", "|u1"]]]],
      fortranOrder: false,
      shape: [],
    }],
    // np.dtype() names: numpy.load takes them; they come back canonical. 'b' is int8.
    [`{'descr': 'float64', 'fortran_order': False, 'shape': (2,)}`, {
      descr: "<f8",
      fortranOrder: false,
      shape: [2],
    }],
    [
      `{'descr': [('a', 'b'), ('b', 'int16'), ('c', 'datetime64[ns]')], 'fortran_order': False, 'shape': (2,)}`,
      {
        descr: [["a", "|i1"], ["b", "<i2"], ["c", "<M8[ns]"]],
        fortranOrder: false,
        shape: [2],
      },
    ],
    // Subarrays of subarrays, a bare-int subarray shape, the record with no fields.
    [`{'descr': [('c', ('<f8', 5), (2,))], 'fortran_order': False, 'shape': (3,)}`, {
      descr: [["c", { base: "<f8", shape: [5] }, [2]]],
      fortranOrder: false,
      shape: [3],
    }],
    [`{'descr': [], 'fortran_order': False, 'shape': (3,)}`, {
      descr: [],
      fortranOrder: false,
      shape: [3],
    }],
    // Padding fields may repeat (numpy.load strips them); a dim beyond 2^53 of an empty array.
    [
      `{'descr': [('', '|V4'), ('a', '<f4'), ('', '|V4')], 'fortran_order': False, 'shape': (0, 9007199254740993)}`,
      {
        descr: [["", "|V4"], ["a", "<f4"], ["", "|V4"]],
        fortranOrder: false,
        shape: [0, 9007199254740993n],
      },
    ],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': (1_000,)} # comment`, {
      descr: "<f4",
      fortranOrder: false,
      shape: [1000],
    }],
    [`{'descr': 'it\\x27s'[0:0] if 0 else '<f4', 'fortran_order': False, 'shape': ()}`, {
      descr: "",
      fortranOrder: false,
      shape: [],
    }],
  ];
  for (const [i, [text, fields]] of variants.entries()) {
    if (i === variants.length - 1) {
      // An expression, not a literal: must be refused, never evaluated.
      assert.throws(() => parseHeader(v1(text)), NpyFormatError);
      continue;
    }
    const parsed = parseHeader(v1(text));
    assert.deepEqual(
      { descr: parsed.descr, fortranOrder: parsed.fortranOrder, shape: parsed.shape },
      fields,
      text,
    );
  }
});

/** [name, bytes, expected error class, expected offset or undefined, message pattern] */
// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;
const HOSTILE: [string, Uint8Array, ErrorClass, number | undefined, RegExp][] = [
  ["empty input", new Uint8Array(0), NpyFormatError, 0, /magic/],
  ["wrong magic", latin1("\x93NUMPZ\x01\x00\x10\x00"), NpyFormatError, 5, /not a \.npy file/],
  ["PNG file", latin1("\x89PNG\r\n\x1a\n\0\0\0\0"), NpyFormatError, 0, /magic/],
  ["magic only", latin1("\x93NUMPY"), NpyFormatError, 6, /version/],
  ["version 4.0", v1("{}", 4), NpyFormatError, 6, /version 4\.0/],
  ["version 1.1", latin1("\x93NUMPY\x01\x01\x00\x00"), NpyFormatError, 6, /version 1\.1/],
  ["version 0.0", latin1("\x93NUMPY\x00\x00\x00\x00"), NpyFormatError, 6, /version 0\.0/],
  ["no length", latin1("\x93NUMPY\x01\x00\x10"), NpyFormatError, 9, /header length/],
  ["v2 short length", latin1("\x93NUMPY\x02\x00\x10\x00\x00"), NpyFormatError, 11, /length/],
  ["length past end", latin1("\x93NUMPY\x01\x00\xff\xff{}"), NpyFormatError, 8, /past the end/],
  [
    "v2 length 4 GiB",
    latin1("\x93NUMPY\x02\x00\xff\xff\xff\xff{}"),
    NpyFormatError,
    8,
    /past the end/,
  ],
  ["not a dict", v1("['descr', 'shape']"), NpyFormatError, 10, /expected a dict/],
  ["missing key", v1("{'descr': '<f4', 'shape': (3,)}"), NpyFormatError, 10, /exactly the keys/],
  [
    "extra key",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}"),
    NpyFormatError,
    10,
    /found 'descr', 'fortran_order', 'shape', 'x'/,
  ],
  [
    "duplicate key",
    v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
    NpyFormatError,
    27,
    /duplicate key 'descr'/,
  ],
  [
    "negative dim",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}"),
    NpyFormatError,
    10,
    /non-negative integers/,
  ],
  [
    "float dim",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,)}"),
    NpyFormatError,
    61,
    /decimal integer/,
  ],
  [
    "list shape",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': [3]}"),
    NpyFormatError,
    10,
    /tuple/,
  ],
  [
    "bool shape",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}"),
    NpyFormatError,
    10,
    /non-negative integers/,
  ],
  [
    "int fortran_order",
    v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}"),
    NpyFormatError,
    10,
    /True or False/,
  ],
  [
    "size overflow",
    v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4503599627370496, 4)}"),
    NpyFormatError,
    10,
    /2\^53/,
  ],
  [
    "dim beyond 2^63",
    v1("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
    NpyFormatError,
    10,
    /below 2\^63/,
  ],
  [
    "dim 2^63 beside a zero (NumPy: Maximum allowed dimension exceeded)",
    v1("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 9223372036854775808)}"),
    NpyFormatError,
    10,
    /below 2\^63/,
  ],
  [
    "empty array whose other dims overflow intp (NumPy: array is too big)",
    v1("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904)}"),
    NpyFormatError,
    10,
    /more than 2\^63 - 1 bytes/,
  ],
  [
    "huge dim in a non-empty array",
    v1("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 9007199254740993)}"),
    NpyFormatError,
    10,
    /2\^53 - 1 bytes/,
  ],
  [
    "65 dimensions",
    v1(`{'descr': '<f4', 'fortran_order': False, 'shape': (${"1, ".repeat(65)})}`),
    NpyFormatError,
    10,
    /65 dimensions; NumPy allows at most 64/,
  ],
  [
    "65 zero dimensions",
    v1(`{'descr': '<f4', 'fortran_order': False, 'shape': (${"0, ".repeat(65)})}`),
    NpyFormatError,
    10,
    /at most 64/,
  ],
  [
    "repeated field name",
    v1("{'descr': [('a', '<f4'), ('a', '<i4')], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /field name 'a' is already used as a name or title/,
  ],
  [
    "repeated title",
    v1(
      "{'descr': [(('t', 'a'), '<f4'), (('t', 'b'), '<i4')], 'fortran_order': False, 'shape': (3,)}",
    ),
    NpyDtypeError,
    undefined,
    /title 't' is already used/,
  ],
  [
    "a name equal to an earlier title",
    v1("{'descr': [(('b', 'a'), '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /field name 'b' is already used/,
  ],
  [
    "a title equal to its own name",
    v1("{'descr': [(('a', 'a'), '<f4')], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /title 'a' is already used/,
  ],
  [
    "a title equal to a later name",
    v1("{'descr': [(('b', 'a'), '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /'b' is already used/,
  ],
  [
    "two unnamed fields of real types",
    v1("{'descr': [('', '<f4'), ('', '<i4')], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /field name '' is already used/,
  ],
  [
    "repeated name in a nested record",
    v1(
      "{'descr': [('r', [('x', '<f4'), ('x', '<f4')], (2,))], 'fortran_order': False, 'shape': (3,)}",
    ),
    NpyDtypeError,
    undefined,
    /field name 'x' is already used/,
  ],
  [
    "subarray of 65 dimensions",
    v1(`{'descr': [('a', '<f4', (${"1, ".repeat(65)}))], 'fortran_order': False, 'shape': (3,)}`),
    NpyDtypeError,
    undefined,
    /at most 64 dimensions/,
  ],
  [
    "subarray dim beyond a C int",
    v1("{'descr': [('a', '|u1', (2147483648,))], 'fortran_order': False, 'shape': (0,)}"),
    NpyDtypeError,
    undefined,
    /2\^31 - 1/,
  ],
  [
    "subarray itemsize beyond a C int",
    v1("{'descr': [('a', ('<f4', (536870912,)), (1,))], 'fortran_order': False, 'shape': (0,)}"),
    NpyDtypeError,
    undefined,
    /2\^31 - 1 bytes/,
  ],
  [
    "field of a subarray beyond a C int of bytes",
    v1("{'descr': [('a', '<f4', (536870912,))], 'fortran_order': False, 'shape': (0,)}"),
    NpyDtypeError,
    undefined,
    /2\^31 - 1 bytes/,
  ],
  [
    "subarray tuple of one item",
    v1("{'descr': [('a', ('<f4',))], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /\(descr, shape\)/,
  ],
  [
    "string size beyond a C int",
    v1("{'descr': '|S2147483648', 'fortran_order': False, 'shape': (0,)}"),
    NpyDtypeError,
    undefined,
    /2\^31 - 1 bytes/,
  ],
  [
    "object dtype",
    v1("{'descr': '|O', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /object dtype/,
  ],
  [
    "object in record",
    v1("{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /object dtype/,
  ],
  [
    "unknown descr",
    v1("{'descr': 'flaot64', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /Cannot resolve descr "flaot64": did you mean "<f8" \(float64\)\?/,
  ],
  [
    "unknown descr, nothing close",
    v1("{'descr': 'quaternion', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /not a NumPy type string such as "<f4" nor a dtype name/,
  ],
  [
    "bad int size",
    v1("{'descr': '<i3', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /size 3/,
  ],
  [
    "bad datetime unit",
    v1("{'descr': '<M8[parsec]', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /unit 'parsec'/,
  ],
  [
    // NumPy keeps the multiplier in a C int ([0s] it takes, and so does the library).
    "datetime multiplier beyond 2^31 - 1",
    v1("{'descr': '<M8[2147483648s]', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /bad unit multiplier '2147483648'/,
  ],
  [
    // NumPy 2 deprecated the 'a' alias; its np.save never writes it.
    "the 'a' alias",
    v1("{'descr': '|a5', 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /deprecated the 'a' alias/,
  ],
  [
    "code injection",
    v1("{'descr': __import__('os').system('echo pwned'), 'fortran_order': False, 'shape': ()}"),
    NpyFormatError,
    20,
    /expected a value/,
  ],
  [
    "call in shape",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': tuple([3])}"),
    NpyFormatError,
    60,
    /expected a value/,
  ],
  [
    "unterminated string",
    v1("{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}"),
    NpyFormatError,
    undefined,
    /./,
  ],
  [
    "deep nesting",
    v1("{'descr': " + "[".repeat(3000) + "]".repeat(3000) + "}"),
    NpyFormatError,
    undefined,
    /nesting deeper/,
  ],
  [
    "trailing garbage",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x"),
    NpyFormatError,
    66,
    /after the value/,
  ],
  [
    "header over 10 000 chars",
    v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}" + " ".repeat(10_000)),
    NpyFormatError,
    8,
    /maxHeaderSize 10000/,
  ],
  [
    "invalid utf-8 in v3",
    (() => {
      const b = v1("{'descr': [('\xff\xfe', '<f4')], 'fortran_order': False, 'shape': (3,)}");
      const out = new Uint8Array(b.length + 2);
      out.set(b.subarray(0, 8));
      out[6] = 3;
      new DataView(out.buffer).setUint32(8, b.length - 10, true);
      out.set(b.subarray(10), 12);
      return out;
    })(),
    NpyFormatError,
    12,
    /utf-8/,
  ],
  [
    "subarray top-level descr",
    v1("{'descr': ('<f4', (2,)), 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /subarray descr at the top level/,
  ],
  [
    "bad field tuple",
    v1("{'descr': [('a',)], 'fortran_order': False, 'shape': (3,)}"),
    NpyDtypeError,
    undefined,
    /expected \(name, descr\)/,
  ],
];

test(`parseHeader() rejects ${HOSTILE.length} hostile headers with typed errors`, () => {
  assert.ok(HOSTILE.length >= 25);
  for (const [name, bytes, type, offset, pattern] of HOSTILE) {
    assert.throws(() => parseHeader(bytes, { path: "bad.npy" }), (e: unknown) => {
      assert.ok(e instanceof type, `${name}: got ${e}`);
      const err = e as NpyFormatError;
      assert.match(err.message, /^Cannot parse the header of "bad\.npy": /, name);
      if (e instanceof NpyDtypeError) {
        // The descr's own error is the cause; the header's names the file and the field.
        assert.match(
          err.message,
          /: its 'descr' (.* )?(is not a dtype numpy.load accepts$|uses the object)/,
        );
        assert.ok(e.cause instanceof NpyDtypeError, name);
        assert.match(e.cause.message, pattern, name);
        assert.doesNotMatch(e.cause.message, /Cannot parse the header/, name);
        assert.notEqual(e.descr, undefined, name);
      } else {
        assert.match(err.message, pattern, name);
      }
      assert.equal(err.path, "bad.npy", name);
      if (offset !== undefined) assert.equal(err.offset, offset, `${name}: ${err.message}`);
      return true;
    }, name);
  }
});

test("NumPy refuses the issue-11 hostile headers too (live NumPy)", () => {
  const names = [
    "dim 2^63 beside a zero (NumPy: Maximum allowed dimension exceeded)",
    "empty array whose other dims overflow intp (NumPy: array is too big)",
    "65 dimensions",
    "65 zero dimensions",
    "repeated field name",
    "repeated title",
    "a name equal to an earlier title",
    "a title equal to its own name",
    "two unnamed fields of real types",
    "repeated name in a nested record",
    "subarray of 65 dimensions",
    "subarray dim beyond a C int",
    "subarray itemsize beyond a C int",
    "field of a subarray beyond a C int of bytes",
    "string size beyond a C int",
    "unknown descr",
    "unknown descr, nothing close",
  ];
  const picked = HOSTILE.filter(([name]) => names.includes(name));
  assert.equal(picked.length, names.length);
  const { dir, cleanup } = makeTempDir();
  try {
    const files = picked.map(([name, bytes], i) => {
      const path = join(dir, `hostile${i}.npy`);
      writeFileSync(path, bytes);
      return { name, path };
    });
    const verdicts = runPython<Record<string, string>>(
      `
out = {}
for f in json.load(sys.stdin):
    try:
        np.load(f["path"])
        out[f["name"]] = "loaded"
    except (ValueError, TypeError, OverflowError) as e:
        out[f["name"]] = "refused"
print(json.dumps(out))`,
      files,
    );
    assert.deepEqual(verdicts, Object.fromEntries(names.map((n) => [n, "refused"])));
  } finally {
    cleanup();
  }
});

test("parseHeader() honours maxHeaderSize both ways", () => {
  const bytes = encodeHeader({
    descr: Array.from({ length: 800 }, (_, i) => [`f${i}`, "<f4"] as const),
    shape: [1],
    fortranOrder: false,
  });
  assert.throws(() => parseHeader(bytes), /maxHeaderSize 10000/);
  assert.equal(parseHeader(bytes, { maxHeaderSize: 20_000 }).shape[0], 1);
  const small = encodeHeader({ descr: "<f4", shape: [1], fortranOrder: false });
  assert.throws(() => parseHeader(small, { maxHeaderSize: 10 }), NpyFormatError);
});

const arbTypestr = fc.oneof(
  fc.constantFrom("|b1", "|i1", "|u1", "|S0", "|V1"),
  fc.tuple(fc.constantFrom("<", ">"), fc.constantFrom("i2", "i4", "i8", "u2", "f2", "f8", "c8"))
    .map(([o, t]) => o + t),
  fc.tuple(fc.constantFrom("<", ">"), fc.constantFrom("M8", "m8"), fc.constantFrom("", "[ns]")).map(
    ([o, t, u]) => o + t + u,
  ),
  fc.tuple(fc.constantFrom("|S", "<U", ">U", "|V"), fc.integer({ min: 1, max: 99 })).map(
    ([t, n]) => t + n,
  ),
);
const arbName = fc.string({ unit: "binary", maxLength: 8 });
const arbDescr: fc.Arbitrary<Descr> = fc.letrec<{ descr: Descr }>((tie) => ({
  descr: fc.oneof<fc.Arbitrary<Descr>[]>(
    { depthSize: "small", withCrossShrink: true },
    arbTypestr,
    fc.array(
      fc.tuple(
        fc.oneof(arbName, fc.tuple(arbName, arbName)),
        fc.oneof<fc.Arbitrary<FieldDescr>[]>(
          tie("descr"),
          // A subarray, possibly of subarrays, possibly with empty shapes.
          fc.tuple(
            tie("descr"),
            fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }), {
              minLength: 1,
              maxLength: 2,
            }),
          ).map(([base, shapes]) =>
            shapes.reduce<FieldDescr>((inner, shape) => ({ base: inner, shape }), base)
          ),
        ),
        fc.option(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }), { nil: undefined }),
      ).map(([n, d, s]): DescrField => (s === undefined ? [n, d] : [n, d, s])),
      { minLength: 0, maxLength: 3 },
    ),
  ),
})).descr;

/** itemsizeOf(descr), or undefined when NumPy refuses the descr (a repeated name or title). */
function sizeIfValid(descr: Descr): number | undefined {
  try {
    return itemsizeOf(descr);
  } catch (e) {
    if (e instanceof NpyDtypeError && /already used/.test(e.message)) return undefined;
    throw e;
  }
}

test("encodeHeader() then parseHeader() round-trips 300 random headers (fast-check)", () => {
  fc.assert(
    fc.property(
      arbDescr,
      fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 4 }),
      fc.boolean(),
      (descr, shape, fortranOrder) => {
        const size = sizeIfValid(descr);
        if (size === undefined) {
          // NumPy refuses a repeated name or title: so do both directions.
          assert.throws(() => encodeHeader({ descr, shape, fortranOrder }), NpyDtypeError);
          assert.throws(() => parseDescr(formatDescr(descr)), NpyDtypeError);
          return;
        }
        // Random records can be large: keep to arrays whose size fits in 2^53 bytes.
        fc.pre(shape.reduce((a, d) => a * d, size) <= Number.MAX_SAFE_INTEGER);
        const bytes = encodeHeader({ descr, shape, fortranOrder });
        assert.equal(bytes.length % 64, 0);
        const parsed = parseHeader(bytes, { maxHeaderSize: 1 << 20 });
        // Headers show the canonical form: NumPy's spelling of every type string and
        // subarray (empty shapes dropped), which normalizeDescr() gives.
        assert.deepEqual(
          { descr: parsed.descr, shape: parsed.shape, fortranOrder: parsed.fortranOrder },
          { descr: normalizeDescr(descr), shape, fortranOrder },
        );
        assert.deepEqual(normalizeDescr(parsed.descr), parsed.descr);
        assert.deepEqual(parseDescr(formatDescr(descr)), descr);
      },
    ),
    { numRuns: 300 },
  );
});

function isTyped(e: unknown): boolean {
  return e instanceof NpyFormatError || e instanceof NpyDtypeError;
}

test("parseHeader() gives only typed errors on 2000 random and mutated inputs (fast-check)", () => {
  const valid = encodeHeader({
    descr: [["t", "<i8"], ["xy", "<f4", [2]]],
    shape: [10, 3],
    fortranOrder: false,
  });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }).map((edits) => {
          const b = valid.slice();
          for (const [at, value] of edits) b[at] = value;
          return b;
        }),
        fc.nat(valid.length).map((n) => valid.slice(0, n)),
        fc.string({ maxLength: 120 }).map((s) => v1(s)),
      ),
      (bytes) => {
        try {
          parseHeader(bytes);
        } catch (e) {
          if (!isTyped(e)) throw e;
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test("the row-shape helpers take a shape apart along its growth axis and put it back", () => {
  assert.deepEqual(rowShapeOf([4, 3, 2], false), [3, 2]);
  assert.deepEqual(rowShapeOf([4, 3, 2], true), [4, 3]);
  assert.deepEqual(rowShapeOf([7], true), []);
  assert.deepEqual(rowShapeOf([], false), []);
  assert.equal(rowCountOf([4, 3, 2], false), 4);
  assert.equal(rowCountOf([4, 3, 2], true), 2);
  assert.equal(rowCountOf([], true), undefined);
  assert.deepEqual(shapeWithRows([3, 2], 9, false), [9, 3, 2]);
  assert.deepEqual(shapeWithRows([3, 2], 9, true), [3, 2, 9]);
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      (shape, fortranOrder) => {
        const rows = present(rowCountOf(shape, fortranOrder), "rows");
        const rowShape = rowShapeOf(shape, fortranOrder);
        assert.deepEqual(shapeWithRows(rowShape, rows, fortranOrder), shape);
        assert.equal(rowShape.length, shape.length - 1);
      },
    ),
  );
  // One row: a C row of 4 doubles; a Fortran column block of 3; a 0-d array's one element.
  assert.equal(rowByteLength({ descr: "<f8", fortranOrder: false, shape: [3, 4] }), 32);
  assert.equal(rowByteLength({ descr: "<f8", fortranOrder: true, shape: [3, 4] }), 24);
  assert.equal(rowByteLength({ descr: "<f8", fortranOrder: false, shape: [] }), 8);
});

test("hasGrowthRoom() refuses a dimension beyond 2^53 - 1, naming it", () => {
  const header = parseHeader(
    v1("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 9007199254740993)}"),
  );
  assert.throws(() => hasGrowthRoom(header), (e: unknown) => {
    assert.ok(e instanceof NpyShapeError);
    assert.match(e.message, /^Cannot check the growth room of the \.npy header: dimension 1 /);
    assert.match(e.message, /is 9007199254740993, beyond the 2\^53 - 1/);
    return true;
  });
  assert.equal(
    hasGrowthRoom(parseHeader(v1("{'descr': '<f4', 'fortran_order': False, 'shape': ()}"))),
    false,
  );
});

test("shape and syntax errors say once what failed, with the file, the offset and the cause", () => {
  const big = { descr: "<f8", fortranOrder: false, shape: [2 ** 52, 4] };
  assert.throws(() => encodeHeader(big, { path: "big.npy" }), (e: unknown) => {
    assert.ok(e instanceof NpyShapeError);
    assert.equal(
      e.message,
      'Cannot encode the header of "big.npy": the shape (4503599627370496, 4) of itemsize 8 ' +
        "takes more than 2^53 - 1 bytes",
    );
    assert.equal(e.path, "big.npy");
    assert.deepEqual(e.actual, [2 ** 52, 4]);
    return true;
  });
  assert.throws(
    () => dataByteLength(big),
    (e: unknown) =>
      e instanceof NpyShapeError &&
      /^Cannot compute the data length: the shape \(4503599627370496, 4\) of itemsize 8/.test(
        e.message,
      ),
  );
  const text = "{'descr': '<f4', 'fortran_order': False 'shape': (3,)}";
  assert.throws(() => parseHeader(v1(text), { path: "bad.npy" }), (e: unknown) => {
    assert.ok(e instanceof NpyFormatError);
    assert.match(e.message, /^Cannot parse the header of "bad\.npy": expected ',' or '\}'/);
    assert.equal(e.offset, 10 + text.indexOf("'shape'"));
    assert.match(e.message, new RegExp(`at offset ${e.offset}$`));
    assert.ok(e.cause instanceof Error);
    return true;
  });
  assert.throws(() => parseDescr("[('a', '<f4'"), (e: unknown) => {
    assert.ok(e instanceof NpyFormatError);
    assert.match(e.message, /^Cannot parse descr "\[\('a', '<f4'": .* at offset 12$/);
    assert.equal(e.offset, 12);
    return true;
  });
});
