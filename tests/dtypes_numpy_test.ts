/**
 * Every built-in dtype against NumPy, both ways: files we encode load in NumPy (also with
 * mmap_mode="r") bit for bit as the array NumPy builds from the case's Python expression;
 * files NumPy writes (committed golden files and files written live) decode to the expected
 * JS values. Cases: tests/testdata/dtypes/cases.json (made into golden files by
 * make_dtypes.py beside it) with the JS side in tests/_dtypes_util.ts. One python process per
 * direction.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { defaultRegistry, type Descr, descrEquals, parseHeader } from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import { assertSame, CASES, GOLDEN_DIR, JS, PY_PRELUDE, writeOurs } from "./_dtypes_util.ts";

const CHECK_PY = PY_PRELUDE + `
args = json.load(sys.stdin)
def same(a, b):
    if a.dtype.names:
        return all(same(a[n], b[n]) for n in a.dtype.names)
    return a.tobytes() == b.tobytes()
out = {}
for case in args["cases"]:
    name = case["name"]
    try:
        exp = expected_array(case)
        np.save(f"{args['dir']}/np_{name}.npy", exp)
        for mode in (None, "r"):
            got = np.load(f"{args['dir']}/{name}.npy", mmap_mode=mode)
            if got.dtype != exp.dtype:
                raise AssertionError(f"dtype {got.dtype} != {exp.dtype} ({mode})")
            if np.lib.format.dtype_to_descr(got.dtype) != np.lib.format.dtype_to_descr(exp.dtype):
                raise AssertionError(f"descr {got.dtype.descr} != {exp.dtype.descr}")
            if got.shape != exp.shape:
                raise AssertionError(f"shape {got.shape} != {exp.shape} ({mode})")
            if not same(got, exp):
                raise AssertionError(f"values differ ({mode}): {got!r} != {exp!r}")
        out[name] = "ok"
    except Exception as e:
        out[name] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
`;

function decodeFile(
  path: string,
  layout?: "objects" | "columns",
): { descr: Descr; value: unknown } {
  const bytes = new Uint8Array(readFileSync(path));
  const header = parseHeader(bytes, { path });
  const dtype = defaultRegistry.resolve(header.descr);
  assert.ok(descrEquals(dtype.descr, header.descr), `canonical descr of ${path}`);
  // The count from the shape: records of no bytes (np.dtype([])) cannot tell it.
  const count = header.shape.reduce<number>((a, b) => a * Number(b), 1);
  return {
    descr: header.descr,
    value: dtype.decode(bytes.subarray(header.headerLength), { layout, count }),
  };
}

test("every dtype case has a JS side and a golden file", () => {
  for (const c of CASES) {
    assert.ok(JS[c.name], `JS side of case ${c.name}`);
    const { descr } = decodeFile(join(GOLDEN_DIR, `${c.name}.npy`));
    assert.deepEqual(descr, c.descr, `golden descr of ${c.name}`);
  }
  assert.equal(Object.keys(JS).length, CASES.length);
});

test("NumPy-written golden files decode to the expected values", () => {
  for (const c of CASES) {
    const js = JS[c.name]!;
    const { value } = decodeFile(join(GOLDEN_DIR, `${c.name}.npy`), js.layout);
    assertSame(value, js.expect ?? js.js, c.name);
  }
});

test("our files load in NumPy (also mmap_mode='r') and live NumPy files decode", () => {
  const { dir, cleanup } = makeTempDir("npy-dtypes-");
  try {
    for (const c of CASES) writeOurs(join(dir, `${c.name}.npy`), c.descr, JS[c.name]!.js);
    const result = runPython<Record<string, string>>(CHECK_PY, { dir, cases: CASES });
    const failed = Object.entries(result).filter(([, r]) => r !== "ok");
    assert.deepEqual(failed, [], "NumPy checks of our files");
    assert.equal(Object.keys(result).length, CASES.length);
    for (const c of CASES) {
      const js = JS[c.name]!;
      const { value } = decodeFile(join(dir, `np_${c.name}.npy`), js.layout);
      assertSame(value, js.expect ?? js.js, `live ${c.name}`);
    }
  } finally {
    cleanup();
  }
});

const NUMERIC = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"];

/** The little-endian unsigned integer of each element's bits, as decimal strings. */
function bitsOf(typed: ArrayBufferView, size: number): string[] {
  const dv = new DataView(typed.buffer, typed.byteOffset, typed.byteLength);
  const out: string[] = [];
  for (let o = 0; o < typed.byteLength; o += size) {
    out.push(
      String(
        size === 1
          ? dv.getUint8(o)
          : size === 2
          ? dv.getUint16(o, true)
          : size === 4
          ? dv.getUint32(o, true)
          : dv.getBigUint64(o, true),
      ),
    );
  }
  return out;
}

test("random numeric arrays (fast-check samples) match NumPy bit for bit, both orders", () => {
  const { dir, cleanup } = makeTempDir("npy-dtypes-rand-");
  try {
    const files: { path: string; bits: string[]; size: number }[] = [];
    let seed = 42;
    for (const t of NUMERIC) {
      for (const order of t.endsWith("1") ? ["|"] : ["<", ">"]) {
        const descr = order + t;
        const dtype = defaultRegistry.resolve(descr);
        const size = dtype.itemsize;
        // Random bytes as host-order elements: any bit pattern, NaNs and subnormals included.
        const bytes = fc.sample(fc.uint8Array({ minLength: 64 * size, maxLength: 64 * size }), {
          numRuns: 1,
          seed: seed++,
        })[0]!;
        if (t === "f2") {
          // Half floats go through numbers (NaN payloads are not kept there): no NaNs.
          const h = new Uint16Array(bytes.buffer);
          for (let i = 0; i < h.length; i++) if ((h[i]! & 0x7c00) === 0x7c00) h[i] = 0x3c00;
        }
        const host = defaultRegistry.resolve("<" + t).decode(bytes);
        const path = join(dir, `${t}_${order === ">" ? "be" : "le"}.npy`);
        if (t === "f2") {
          writeOurs(path, descr, Array.from(host as ArrayLike<number>));
          files.push({ path, bits: bitsOf(bytes, 2), size });
        } else {
          writeOurs(path, descr, host);
          files.push({ path, bits: bitsOf(bytes, size), size });
        }
      }
    }
    const got = runPython<string[][]>(
      `
paths = json.load(sys.stdin)
out = []
for p in paths:
    for mode in (None, "r"):
        a = np.load(p, mmap_mode=mode)
        le = a.astype(a.dtype.newbyteorder("<")).view(f"<u{a.dtype.itemsize}")
        bits = [str(int(x)) for x in le]
        if mode is None: first = bits
        elif bits != first: raise SystemExit("mmap differs for " + p)
    out.append(first)
print(json.dumps(out))
`,
      files.map((f) => f.path),
    );
    files.forEach((f, i) => assert.deepEqual(got[i], f.bits, f.path));
  } finally {
    cleanup();
  }
});

test("a NumPy file's data at an unaligned offset decodes (copy) to the same values", () => {
  for (const name of ["f8_le", "i4_be", "c16_le", "M8ns_le"]) {
    const bytes = new Uint8Array(readFileSync(join(GOLDEN_DIR, `${name}.npy`)));
    const header = parseHeader(bytes);
    const data = bytes.slice(header.headerLength);
    const shifted = new Uint8Array(data.length + 1).subarray(1);
    shifted.set(data);
    const dtype = defaultRegistry.resolve(header.descr);
    assertSame(dtype.decode(shifted), JS[name]!.expect ?? JS[name]!.js, name);
  }
});

// Keep writeFileSync imported for ad-hoc debugging of failing cases.
void writeFileSync;
