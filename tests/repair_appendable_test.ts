/**
 * ensureAppendable() on a corpus of headers without growth room — crafted in Python as old
 * NumPy wrote them (16-byte alignment, no room), with no padding at all (as minimal writers
 * do) and 64-byte aligned without room — in both modes; the result must be byte for byte
 * the file `np.save` writes for the same array. Also: abort, progress, untouched files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Descr,
  encodeHeader,
  ensureAppendable,
  ensureAppendableSync,
  hasGrowthRoom,
  isAppendable,
  isAppendableSync,
  NpyRecoveryError,
  NpyShapeError,
  parseHeader,
  type RepairProgress,
} from "../mod.ts";
import { makeTempDir, present, runPython } from "./_util.ts";
import { supported } from "./_reader_util.ts";

interface CorpusSpec {
  name: string;
  descr: Descr;
  shape: number[];
  order: "C" | "F";
  style: "align16" | "minimal" | "align64";
  version: 1 | 2;
}

const PY_CORPUS = `
import os
req = json.load(sys.stdin)
rng = np.random.default_rng(11)
def to_dt(d):
    return np.dtype([tuple(f) if len(f) == 2 else (f[0], f[1], tuple(f[2])) for f in d]) if isinstance(d, list) else np.dtype(d)
out = []
for s in req["specs"]:
    dt = to_dt(s["descr"])
    n = int(np.prod(s["shape"]))
    a = np.frombuffer(rng.bytes(n * dt.itemsize), np.uint8).view(dt) if dt.names is None and dt.kind in "iuV" else np.zeros(n, dt)
    if dt.kind == "f": a = (rng.normal(size=n) * 10).astype(dt)
    if dt.kind == "b": a = rng.integers(0, 2, n).astype(dt)
    a = a.reshape(s["shape"])
    if s["order"] == "F": a = np.asfortranarray(a)
    fortran = bool(a.flags.f_contiguous and not a.flags.c_contiguous)
    d = {"descr": np.lib.format.dtype_to_descr(a.dtype), "fortran_order": fortran, "shape": a.shape}
    text = "{" + "".join(f"{k!r}: {d[k]!r}, " for k in sorted(d)) + "}"
    pre = 10 if s["version"] == 1 else 12
    align = {"align16": 16, "align64": 64, "minimal": 1}[s["style"]]
    pad = (align - (pre + len(text) + 1) % align) % align
    text = (text + " " * pad + "\\n").encode("latin1")
    head = b"\\x93NUMPY" + bytes([s["version"], 0]) + len(text).to_bytes(2 if s["version"] == 1 else 4, "little")
    path = os.path.join(req["dir"], s["name"])
    with open(path, "wb") as f:
        f.write(head + text + a.tobytes(order="F" if fortran else "C"))
    b = np.load(path)  # NumPy reads the crafted file
    assert b.shape == a.shape and b.tobytes() == a.tobytes()
    np.save(os.path.join(req["dir"], "ref_" + s["name"]), a)
    out.append(len(head) + len(text))
print(json.dumps(out))
`;

function corpusSpecs(): CorpusSpec[] {
  const specs: CorpusSpec[] = [];
  const arrays: Array<[Descr, number[], "C" | "F"]> = [
    ["<f8", [5], "C"],
    ["<f8", [1234], "C"],
    ["|u1", [3, 7], "C"],
    [">i4", [6, 2, 3], "C"],
    ["<f4", [4, 5], "F"],
    ["<i2", [3, 2, 6], "F"],
    ["<u8", [0, 4], "C"],
    ["|b1", [9, 2], "C"],
    [[["x", "<f4"], ["y", "<i8", [2]]], [5], "C"],
  ];
  let i = 0;
  for (const [descr, shape, order] of arrays) {
    if (!supported(descr)) continue;
    for (const style of ["align16", "minimal", "align64"] as const) {
      for (const version of [1, 2] as const) {
        if (version === 2 && style === "align64") continue;
        specs.push({ name: `c${i++}.npy`, descr, shape, order, style, version });
      }
    }
  }
  return specs;
}

test("ensureAppendable() turns headers without room into np.save's bytes, both modes", async () => {
  const { dir, cleanup } = makeTempDir("npy-appendable-");
  try {
    const specs = corpusSpecs();
    const lengths = runPython<number[]>(PY_CORPUS, { dir, specs });
    let changed = 0, untouched = 0;
    for (const [k, spec] of specs.entries()) {
      const original = join(dir, spec.name);
      const ref = new Uint8Array(readFileSync(join(dir, "ref_" + spec.name)));
      const before = new Uint8Array(readFileSync(original));
      const roomy = isAppendableSync(original);
      assert.equal(roomy, hasGrowthRoom(parseHeader(before)));
      if (spec.style === "minimal") assert.equal(roomy, false, `${spec.name} has no room`);
      const variants = [
        { inPlace: false, sync: true, bufferSize: 7 },
        { inPlace: false, sync: false, bufferSize: undefined },
        { inPlace: true, sync: true, bufferSize: 13 },
        { inPlace: true, sync: false, bufferSize: 1 << 16 },
      ];
      for (const [j, v] of variants.entries()) {
        const path = join(dir, `v${j}_${spec.name}`);
        copyFileSync(original, path);
        const mtime = statSync(path).mtimeMs;
        const options = v.bufferSize === undefined
          ? { inPlace: v.inPlace }
          : { inPlace: v.inPlace, bufferSize: v.bufferSize };
        const result = v.sync
          ? ensureAppendableSync(path, options)
          : await ensureAppendable(path, options);
        const after = new Uint8Array(readFileSync(path));
        const label = `${spec.name} ${spec.style} v${spec.version} ${JSON.stringify(v)}`;
        assert.equal(result.previousHeaderLength, lengths[k], label);
        if (roomy) {
          assert.deepEqual(result, {
            changed: false,
            previousHeaderLength: lengths[k],
            headerLength: lengths[k],
          });
          assert.deepEqual(after, before, label);
          assert.equal(statSync(path).mtimeMs, mtime, label);
          untouched++;
        } else {
          assert.equal(result.changed, true, label);
          assert.equal(result.headerLength % 64, 0, label);
          assert.deepEqual(after, ref, `${label}: the file np.save writes`);
          assert.equal(await isAppendable(path), true, label);
          changed++;
        }
      }
    }
    assert.ok(changed >= 60, `${changed} rewritten`);
    assert.ok(untouched >= 4, `${untouched} left untouched`);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "no temp files");
  } finally {
    cleanup();
  }
});

function oldStyleFile(path: string, rows: number): Uint8Array {
  const fields = { descr: "<f8", fortranOrder: false, shape: [rows] };
  const text = 10 + `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows},), }`.length + 1;
  const header = encodeHeader(fields, { totalLength: text + ((16 - (text % 16)) % 16) });
  const data = new Float64Array(rows).map((_, i) => i * 0.5 - 7);
  const bytes = new Uint8Array(header.length + data.byteLength);
  bytes.set(header);
  bytes.set(new Uint8Array(data.buffer), header.length);
  writeFileSync(path, bytes);
  return bytes;
}

test("ensureAppendable() reports progress and an abort leaves the original untouched", async () => {
  const { dir, cleanup } = makeTempDir("npy-appendable-");
  try {
    for (const inPlace of [false, true]) {
      for (const sync of [false, true]) {
        const path = join(dir, `big_${inPlace}_${sync}.npy`);
        const bytes = oldStyleFile(path, 100_000); // 800 kB
        assert.equal(isAppendableSync(path), false);
        const controller = new AbortController();
        const seen: RepairProgress[] = [];
        const options = {
          inPlace,
          bufferSize: 64 << 10,
          signal: controller.signal,
          onProgress: (p: RepairProgress) => {
            seen.push(p);
            if (seen.length === 4) controller.abort(new Error("stop"));
          },
        };
        const run = () =>
          sync
            ? Promise.resolve().then(() => ensureAppendableSync(path, options))
            : ensureAppendable(path, options);
        await assert.rejects(run(), /stop/);
        assert.deepEqual(
          new Uint8Array(readFileSync(path)),
          bytes,
          `inPlace ${inPlace}: untouched`,
        );
        assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
        assert.equal(seen.length, 4);
        // Again without abort: progress climbs to the total.
        const steps: RepairProgress[] = [];
        const result = sync
          ? ensureAppendableSync(path, {
            inPlace,
            bufferSize: 64 << 10,
            onProgress: (p) => steps.push(p),
          })
          : await ensureAppendable(path, {
            inPlace,
            bufferSize: 64 << 10,
            onProgress: (p) => steps.push(p),
          });
        assert.equal(result.changed, true);
        assert.equal(steps.length, Math.ceil(800_000 / (64 << 10)));
        assert.ok(
          steps.every((p, i) =>
            p.bytesTotal === 800_000 && p.bytesDone > (steps[i - 1]?.bytesDone ?? 0)
          ),
        );
        assert.equal(present(steps.at(-1), "the last step").bytesDone, 800_000);
        const after = new Uint8Array(readFileSync(path));
        assert.equal(parseHeader(after).headerLength, 128);
        assert.deepEqual(after.subarray(128), bytes.subarray(parseHeader(bytes).headerLength));
      }
    }
    // An already-aborted signal: nothing happens.
    const path = join(dir, "x.npy");
    const bytes = oldStyleFile(path, 10);
    await assert.rejects(ensureAppendable(path, { signal: AbortSignal.abort() }));
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
  } finally {
    cleanup();
  }
});

test("ensureAppendable() refuses a file that needs recovery and a 0-d array", () => {
  const { dir, cleanup } = makeTempDir("npy-appendable-");
  try {
    const path = join(dir, "cut.npy");
    const bytes = oldStyleFile(path, 10);
    writeFileSync(path, bytes.subarray(0, bytes.length - 3));
    assert.throws(() => ensureAppendableSync(path), NpyRecoveryError);
    const scalar = join(dir, "scalar.npy");
    const h = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [] });
    writeFileSync(scalar, new Uint8Array(h.length + 8).fill(0).map((_, i) => h[i] ?? 0));
    assert.equal(isAppendableSync(scalar), false);
    assert.throws(() => ensureAppendableSync(scalar), NpyShapeError);
  } finally {
    cleanup();
  }
});
