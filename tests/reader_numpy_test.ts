/**
 * NpyReader, loadNpy and parseNpy against files NumPy wrote: the committed golden files
 * (tests/testdata/reader, made by make_reader.py) and, live, row ranges and chunk iteration
 * checked against NumPy slicing of the same files — every dtype family the default registry
 * handles, C and Fortran order, format versions 1/2/3, 0-d and empty arrays.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Descr,
  loadNpy,
  loadNpySync,
  type NpyArray,
  NpyReader,
  parseHeader,
  parseNpy,
} from "../mod.ts";
import { makeTempDir, present, ROOT, runPython } from "./_util.ts";
import { bytesOf, hex, supported } from "./_reader_util.ts";

const GOLDEN = join(ROOT, "tests", "testdata", "reader");

interface GoldenFile {
  name: string;
  descr: Descr;
  shape: number[];
  fortranOrder: boolean;
  version: number;
  headerLength: number;
  values: string[] | null;
}

const manifest: { files: GoldenFile[] } = JSON.parse(
  readFileSync(join(GOLDEN, "manifest.json"), "utf8"),
);

function sameValue(actual: unknown, expected: string): boolean {
  if (typeof actual === "bigint") return actual === BigInt(expected);
  if (typeof actual === "number") {
    const e = Number(expected);
    return Number.isNaN(e) ? Number.isNaN(actual) : actual === e;
  }
  return false;
}

test("loadNpySync() reads every golden file NumPy wrote, as NumPy describes it", () => {
  const skipped: string[] = [];
  let checked = 0;
  for (const g of manifest.files) {
    if (!supported(g.descr)) {
      skipped.push(g.name);
      continue;
    }
    const path = join(GOLDEN, g.name);
    const bytes = readFileSync(path);
    const a = loadNpySync(path);
    assert.deepEqual(a.descr, g.descr, g.name);
    assert.deepEqual(a.shape, g.shape, g.name);
    assert.equal(a.fortranOrder, g.fortranOrder, g.name);
    const h = parseHeader(bytes);
    assert.equal(h.version, g.version, g.name);
    assert.equal(h.headerLength, g.headerLength, g.name);
    if (g.values !== null) {
      const data = a.data as ArrayLike<unknown>;
      assert.equal(data.length, g.values.length, g.name);
      for (const [i, want] of g.values.entries()) {
        assert.ok(sameValue(data[i], want), `${g.name}[${i}]: ${data[i]} vs ${want}`);
      }
    }
    // Any family: re-encoding the decoded elements gives NumPy's bytes back.
    assert.deepEqual(bytesOf(a), new Uint8Array(bytes.subarray(g.headerLength)), g.name);
    // parseNpy of the same bytes agrees.
    const p = parseNpy(new Uint8Array(bytes));
    assert.deepEqual(p.shape, a.shape);
    assert.deepEqual(bytesOf(p), bytesOf(a));
    checked++;
  }
  assert.ok(checked >= 30, `checked ${checked} golden files`);
  if (skipped.length > 0) console.log(`golden files skipped (no dtype yet): ${skipped.join(" ")}`);
});

test("NpyReader on 0-d golden files: rows 1, read() is the scalar, chunks yield once", async () => {
  for (const name of ["f8_0d.npy", "i2_0d_be.npy"]) {
    await using r = await NpyReader.open(join(GOLDEN, name));
    assert.deepEqual(r.shape, []);
    assert.equal(r.rows, 1);
    const a = await r.read();
    assert.deepEqual(a.shape, []);
    assert.equal((a.data as ArrayLike<number>).length, 1);
    const chunks = [];
    for await (const c of r.chunks({ rows: 5 })) chunks.push(c);
    assert.equal(chunks.length, 1);
    assert.deepEqual([...r.chunksSync()].length, 1);
    assert.throws(() => r.readSync(0, 0), RangeError);
    assert.throws(() => r.readSync(1, 1), RangeError);
  }
  assert.deepEqual([...(loadNpySync(join(GOLDEN, "f8_0d.npy")).data as Float64Array)], [2.5]);
  assert.deepEqual([...(loadNpySync(join(GOLDEN, "i2_0d_be.npy")).data as Int16Array)], [-7]);
});

test("NpyReader on empty golden arrays reads empty ranges and yields no chunks", () => {
  const cases: Array<[string, number, number[]]> = [
    ["f4_empty_rows.npy", 0, [0, 3]],
    ["f4_empty_cols.npy", 3, [2, 0]],
    ["f4_empty_1d.npy", 0, [0]],
    ["f4_empty_f.npy", 2, [2, 0]], // NumPy writes an empty array as C order
  ];
  for (const [name, rows, rangeShape] of cases) {
    using r = NpyReader.openSync(join(GOLDEN, name));
    assert.equal(r.rows, rows, name);
    const a = r.readSync(0, Math.min(2, rows));
    assert.deepEqual(a.shape, rangeShape, name);
    assert.equal((a.data as Float32Array).length, 0, name);
    assert.equal([...r.chunksSync()].length, rows === 0 ? 0 : 1, name);
    assert.throws(() => r.readSync(0, rows + 1), RangeError);
  }
});

// ---- live: NumPy writes files and slices them; we read the same ranges ----

interface Spec {
  name: string;
  descr: Descr;
  shape: number[];
  order: "C" | "F";
  version: number | null;
  ranges: Array<[number, number]>;
}

const FAMILIES: Descr[] = [
  "|i1",
  "|u1",
  "<i2",
  ">u2",
  "<i4",
  ">i4",
  "<u4",
  "<i8",
  ">u8",
  "<f2",
  ">f2",
  "<f4",
  ">f4",
  "<f8",
  ">f8",
  "|b1",
  "<c8",
  ">c16",
  "|S5",
  "<U3",
  ">U2",
  "|V3",
  "<M8[us]",
  ">m8[D]",
  [["x", "<f4"], ["y", ">i8", [2]], ["s", "|S2"]],
];

function rowsOf(shape: number[], order: "C" | "F"): number {
  return present(order === "F" ? shape.at(-1) : shape[0], "growth axis");
}

function rangesFor(rows: number, chunk: number): Array<[number, number]> {
  const set = new Map<string, [number, number]>();
  // Negative indices count from the end (NumPy slices them the same way in PY_SLICES).
  const add = (s: number, e: number) => {
    const [ns, ne] = [s < 0 ? rows + s : s, e < 0 ? rows + e : e];
    if (0 <= ns && ns <= ne && ne <= rows) set.set(`${s},${e}`, [s, e]);
  };
  add(0, rows);
  add(0, 0);
  add(rows, rows);
  add(0, 1);
  add(rows - 1, rows);
  add(1, rows - 1);
  add(2, 5);
  add(Math.floor(rows / 2), Math.floor(rows / 2) + 1);
  for (let s = 0; s < rows; s += chunk) add(s, Math.min(rows, s + chunk));
  for (let s = 0; s < rows; s += 2) add(s, Math.min(rows, s + 2)); // chunks of 2 (reuse)
  for (let s = 1; s < rows - 1; s += chunk) add(s, Math.min(rows - 1, s + chunk));
  add(-1, rows);
  add(-2, rows);
  add(rows - 2, rows - 1);
  add(-rows, rows);
  add(-3, -1);
  add(1, -1);
  add(-rows, -rows + 2);
  return [...set.values()];
}

function makeSpecs(): Spec[] {
  const specs: Spec[] = [];
  let i = 0;
  for (const descr of FAMILIES) {
    for (const order of ["C", "F"] as const) {
      const shape = order === "C" ? [13, 3, 2] : [2, 3, 13];
      specs.push({ name: `f${i++}.npy`, descr, shape, order, version: null, ranges: [] });
    }
  }
  specs.push({
    name: `f${i++}.npy`,
    descr: "<f8",
    shape: [17],
    order: "C",
    version: 2,
    ranges: [],
  });
  specs.push({
    name: `f${i++}.npy`,
    descr: ">i2",
    shape: [4, 9],
    order: "F",
    version: 3,
    ranges: [],
  });
  specs.push({
    name: `f${i++}.npy`,
    descr: "<u2",
    shape: [9, 4],
    order: "C",
    version: 3,
    ranges: [],
  });
  specs.push({
    name: `f${i++}.npy`,
    descr: "<f4",
    shape: [5, 0],
    order: "C",
    version: null,
    ranges: [],
  });
  for (const s of specs) s.ranges = rangesFor(rowsOf(s.shape, s.order), 3);
  return specs.filter((s) => supported(s.descr));
}

const PY_SLICES = `
import os
req = json.load(sys.stdin)
rng = np.random.default_rng(5)
def to_dt(d):
    return np.dtype([tuple(f) if len(f) == 2 else (f[0], f[1], tuple(f[2])) for f in d]) if isinstance(d, list) else np.dtype(d)
def fill(dt, n):
    if dt.names:
        a = np.zeros(n, dt)
        for name in dt.names:
            sub = dt.fields[name][0]
            a[name] = fill(sub.base, n * int(np.prod(sub.shape))).reshape((n,) + sub.shape)
        return a
    k = dt.kind
    if k == "b": return rng.integers(0, 2, n).astype(dt)
    if k in "iu": return np.frombuffer(rng.bytes(n * dt.itemsize), dt).copy()
    if k == "f": return (rng.normal(size=n) * 100).astype(dt)
    if k == "c": return (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(dt)
    if k == "S": return np.array([rng.bytes(dt.itemsize).replace(b"\\0", b"a") for _ in range(n)], dt)
    if k == "U": return np.array(["".join(chr(c) for c in rng.integers(32, 0x2fff, dt.itemsize // 4)) for _ in range(n)], dt)
    if k == "V": return np.frombuffer(rng.bytes(n * dt.itemsize), dt).copy()
    if k in "Mm": return rng.integers(-10**9, 10**9, n).astype(dt)
    raise ValueError(dt)
out = []
for s in req["specs"]:
    dt = to_dt(s["descr"])
    n = int(np.prod(s["shape"]))
    a = fill(dt, n).reshape(s["shape"])
    if s["order"] == "F": a = np.asfortranarray(a)
    with open(os.path.join(req["dir"], s["name"]), "wb") as f:
        v = (s["version"], 0) if s["version"] else None
        np.lib.format.write_array(f, a, version=v)
    b = np.load(os.path.join(req["dir"], s["name"]))
    sl = {}
    for st, en in s["ranges"]:
        part = b[st:en] if s["order"] == "C" else b[..., st:en]
        sl[f"{st},{en}"] = [list(part.shape), part.tobytes(order=s["order"]).hex()]
    out.append(sl)
print(json.dumps(out))
`;

test("NpyReader.read/readSync/chunks match NumPy slicing for every dtype family", async () => {
  const { dir, cleanup } = makeTempDir("npy-reader-");
  try {
    const specs = makeSpecs();
    const slices = runPython<Array<Record<string, [number[], string]>>>(PY_SLICES, {
      dir,
      specs,
    });
    let ranges = 0;
    for (const [k, spec] of specs.entries()) {
      const path = join(dir, spec.name);
      const label = `${spec.name} ${JSON.stringify(spec.descr)} ${spec.order}`;
      const expect = (s: number, e: number, got: NpyArray) => {
        const [shape, bytes] = present(slices[k]?.[`${s},${e}`], `NumPy's slice [${s}, ${e})`);
        assert.deepEqual(got.shape, shape, `${label} [${s}, ${e}) shape`);
        assert.equal(hex(bytesOf(got)), bytes, `${label} [${s}, ${e})`);
        assert.equal(got.fortranOrder, spec.order === "F");
      };
      await using r = await NpyReader.open(path);
      using rs = NpyReader.openSync(path);
      const rows = rowsOf(spec.shape, spec.order);
      assert.equal(r.rows, rows);
      for (const [s, e] of spec.ranges) {
        expect(s, e, await r.read(s, e));
        expect(s, e, rs.readSync(s, e));
        ranges += 2;
      }
      // Chunk iteration: 3 rows at a time, from 0 and from 1 to rows - 1.
      let s = 0;
      for await (const c of r.chunks({ rows: 3 })) {
        const e = Math.min(rows, s + 3);
        expect(s, e, c);
        s = e;
      }
      assert.equal(s, rows, label);
      // The same through one reused buffer (each chunk is checked before the next is read).
      s = 0;
      for await (const c of r.chunks({ rows: 2, reuse: true })) {
        const e = Math.min(rows, s + 2);
        expect(s, e, c);
        s = e;
      }
      assert.equal(s, rows, label);
      if (rows > 2) {
        s = 1;
        for (const c of rs.chunksSync({ rows: 3, start: 1, end: rows - 1 })) {
          const e = Math.min(rows - 1, s + 3);
          expect(s, e, c);
          s = e;
        }
        assert.equal(s, rows - 1, label);
      }
      // Default chunking covers the whole array in one chunk here.
      const all = [...rs.chunksSync()];
      if (rows > 0) expect(0, rows, present(all[0], "the one chunk"));
      expect(0, rows, await loadNpy(path));
      assert.throws(() => rs.readSync(0, rows + 1), (err) => {
        assert.ok(err instanceof RangeError);
        assert.match(err.message, new RegExp(`valid range is \\[0, ${rows}\\)`));
        assert.match(err.message, /f\d+\.npy/);
        return true;
      });
      // Negative indices: from the end, down to -rows; beyond that an error, not a cut.
      if (rows > 1) expect(-2, rows, await r.read(-2));
      if (rows > 0) expect(-rows, rows, rs.readSync(-rows));
      await assert.rejects(r.read(-rows - 1), RangeError);
      await assert.rejects(r.read(-1, 1 - rows - 1), RangeError);
      if (rows > 2) {
        let n = 0;
        for (const c of rs.chunksSync({ rows: 1, start: -2 })) {
          expect(rows - 2 + n, rows - 1 + n, c);
          n++;
        }
        assert.equal(n, 2, label);
      }
      assert.throws(() => rs.readSync(2, 1), RangeError);
      assert.throws(() => rs.readSync(0.5, 1), RangeError);
      assert.throws(() => [...rs.chunksSync({ rows: 0 })], RangeError);
    }
    assert.ok(specs.length >= 30, `${specs.length} live files`);
    assert.ok(ranges > 500, `${ranges} ranges`);
  } finally {
    cleanup();
  }
});
