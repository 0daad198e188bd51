/**
 * Hostile files: every malformed, truncated, oversized or malicious `.npy` gets a typed
 * error from the reader and the repair tools — never a crash, a hang, an evaluation of
 * header text, or an allocation sized by a claim the file cannot back. Repair functions
 * write nothing to a file whose header cannot be parsed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  encodeHeader,
  ensureAppendableSync,
  isAppendableSync,
  loadNpySync,
  needsRecoverySync,
  NpyAppendArray,
  NpyDtypeError,
  NpyFormatError,
  NpyReader,
  NpyRecoveryError,
  NpyShapeError,
  parseNpy,
  recoverSync,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";

const TYPED = [NpyFormatError, NpyDtypeError, NpyShapeError, NpyRecoveryError];
function isTyped(e: unknown): boolean {
  return TYPED.some((C) => e instanceof C);
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A v1/v2 file: magic, version, length, the text as given (no padding), then `data`. */
function rawFile(text: string, { major = 1, data = new Uint8Array(0), length = -1 } = {}) {
  const body = latin1(text);
  const fixed = major === 1 ? 10 : 12;
  const out = new Uint8Array(fixed + body.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  const len = length >= 0 ? length : body.length;
  if (major === 1) v.setUint16(8, len, true);
  else v.setUint32(8, len, true);
  out.set(body, fixed);
  out.set(data, fixed + body.length);
  return out;
}

function dict(descr: string, shape: string, fortran = "False", extra = "") {
  return `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, ${extra}}\n`;
}

const valid = () => {
  const h = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [3, 2] });
  const out = new Uint8Array(h.length + 24);
  out.set(h);
  return out;
};

const CASES: Array<[string, Uint8Array, (typeof TYPED)[number]]> = [
  ["empty file", new Uint8Array(0), NpyFormatError],
  ["five bytes", Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50), NpyFormatError],
  ["bad magic", latin1("\x93NUMPZ\x01\x00\x10\x00{}"), NpyFormatError],
  ["a text file", latin1("hello, this is not a numpy file at all\n"), NpyFormatError],
  ["magic only", latin1("\x93NUMPY"), NpyFormatError],
  ["version 0.0", rawFile(dict("'<f4'", "(1,)"), { major: 0 }), NpyFormatError],
  ["version 4.0", rawFile(dict("'<f4'", "(1,)"), { major: 4 }), NpyFormatError],
  [
    "version 1.1",
    (() => {
      const f = rawFile(dict("'<f4'", "(0,)"));
      f[7] = 1;
      return f;
    })(),
    NpyFormatError,
  ],
  [
    "v1 length 0xffff in a small file",
    rawFile(dict("'<f4'", "(1,)"), { length: 0xffff }),
    NpyFormatError,
  ],
  [
    "v2 length 0xffffffff",
    rawFile(dict("'<f4'", "(1,)"), { major: 2, length: 0xffffffff }),
    NpyFormatError,
  ],
  ["header cut in the middle", valid().subarray(0, 40), NpyFormatError],
  ["preamble cut", valid().subarray(0, 9), NpyFormatError],
  ["not a dict", rawFile("['<f4', False, (3,)]\n"), NpyFormatError],
  [
    "import injection",
    rawFile(dict("__import__('os').system('touch PWNED')", "(1,)")),
    NpyFormatError,
  ],
  ["eval in shape", rawFile(dict("'<f4'", "eval('(1,)')")), NpyFormatError],
  ["lambda", rawFile(dict("'<f4'", "(lambda: 1)()")), NpyFormatError],
  ["attribute access", rawFile(dict("'<f4'.__class__", "(1,)")), NpyFormatError],
  ["f-string", rawFile(dict("f'{1}'", "(1,)")), NpyFormatError],
  ["extra key", rawFile(dict("'<f4'", "(1,)", "False", "'x': 1, ")), NpyFormatError],
  ["missing key", rawFile("{'descr': '<f4', 'shape': (1,), }\n"), NpyFormatError],
  ["fortran_order 1", rawFile(dict("'<f4'", "(1,)", "1")), NpyFormatError],
  ["negative dim", rawFile(dict("'<f4'", "(-1,)")), NpyFormatError],
  ["float dim", rawFile(dict("'<f4'", "(1.5,)")), NpyFormatError],
  ["list shape", rawFile(dict("'<f4'", "[3]")), NpyFormatError],
  [
    "shape overflow 2^60 x 2^60",
    rawFile(dict("'<f8'", "(1152921504606846976, 1152921504606846976)")),
    NpyFormatError,
  ],
  ["shape beyond 2^53 bytes", rawFile(dict("'<f8'", "(9007199254740991,)")), NpyFormatError],
  ["huge digits", rawFile(dict("'<f4'", `(${"9".repeat(400)},)`)), NpyFormatError],
  ["object dtype", rawFile(dict("'|O'", "(2,)"), { data: new Uint8Array(16) }), NpyDtypeError],
  [
    "object in a record",
    rawFile(dict("[('a', '|O')]", "(1,)"), { data: new Uint8Array(8) }),
    NpyDtypeError,
  ],
  ["unknown typestr", rawFile(dict("'<q9'", "(1,)")), NpyDtypeError],
  ["nesting bomb", rawFile(dict("[".repeat(5000) + "]".repeat(5000), "(1,)")), NpyFormatError],
  [
    "header text over maxHeaderSize",
    rawFile(dict("'<f4'", "(1,)") + " ".repeat(20_000), {
      major: 2,
    }),
    NpyFormatError,
  ],
  [
    "invalid utf-8 in a v3 header",
    (() => {
      const f = rawFile(dict("[('\xff\xfe', '<f4')]", "(1,)"), { data: new Uint8Array(4) });
      f[6] = 3;
      const v = new DataView(f.buffer);
      // v3 has a 4-byte length: rebuild it as a 12-byte preamble.
      const text = f.subarray(10);
      const out = new Uint8Array(12 + text.length);
      out.set(f.subarray(0, 8));
      new DataView(out.buffer).setUint32(8, text.length, true);
      out.set(text, 12);
      void v;
      return out;
    })(),
    NpyFormatError,
  ],
  [
    "NUL bytes in the text",
    rawFile("{'descr': '<f4'\x00, 'fortran_order': False, 'shape': (1,), }\n"),
    NpyFormatError,
  ],
  [
    "claims 1.6 GB, holds 24 bytes",
    rawFile(dict("'<f8'", "(200000000,)"), { data: new Uint8Array(24) }),
    NpyRecoveryError,
  ],
  ["claims 2^50 bytes, holds 0", rawFile(dict("'<f8'", "(140737488355328,)")), NpyRecoveryError],
  ["data cut inside a row", valid().subarray(0, 128 + 13), NpyRecoveryError],
  // Issue 11: what NumPy refuses, and the one shape NumPy reads but rows cannot be counted in.
  ["65 dimensions", rawFile(dict("'<f4'", `(${"1, ".repeat(65)})`)), NpyFormatError],
  ["dim 2^63 beside a zero", rawFile(dict("'<f4'", "(0, 9223372036854775808)")), NpyFormatError],
  ["repeated field name", rawFile(dict("[('a', '<f4'), ('a', '<i4')]", "(0,)")), NpyDtypeError],
  [
    "title equal to a name",
    rawFile(dict("[(('b', 'a'), '<f4'), ('b', '<i4')]", "(0,)")),
    NpyDtypeError,
  ],
  ["title equal to its name", rawFile(dict("[(('a', 'a'), '<f4')]", "(0,)")), NpyDtypeError],
  [
    "subarray of 65 dims",
    rawFile(dict(`[('a', '<f4', (${"1, ".repeat(65)}))]`, "(0,)")),
    NpyDtypeError,
  ],
  ["top-level subarray", rawFile(dict("('<f4', (2,))", "(1,)")), NpyDtypeError],
  [
    "dim beyond 2^53 in an empty array",
    rawFile(dict("'<f4'", "(0, 9007199254740993)")),
    NpyShapeError,
  ],
  [
    "growth dim beyond 2^53 in an empty array",
    rawFile(dict("'|u1'", "(9007199254740993, 0)")),
    NpyShapeError,
  ],
];

test("the new refusals: NpyAppendArray.open refuses them too and leaves the file as it was", async () => {
  const { dir, cleanup } = makeTempDir("npy-hostile-");
  try {
    const names = new Set([
      "65 dimensions",
      "dim 2^63 beside a zero",
      "repeated field name",
      "title equal to a name",
      "title equal to its name",
      "subarray of 65 dims",
      "top-level subarray",
      "dim beyond 2^53 in an empty array",
      "growth dim beyond 2^53 in an empty array",
    ]);
    const picked = CASES.filter(([name]) => names.has(name));
    assert.equal(picked.length, names.size);
    for (const [name, bytes, Expected] of picked) {
      const path = join(dir, "hostile.npy");
      writeFileSync(path, bytes);
      await assert.rejects(NpyAppendArray.open(path), Expected, name);
      assert.throws(() => NpyAppendArray.openSync(path), Expected, name);
      assert.deepEqual(new Uint8Array(readFileSync(path)), bytes, name);
      assert.ok(!existsSync(path + ".lock"), `${name}: lock released`);
    }
    // NumPy refuses all of these but the two empty arrays of huge dims, which it reads and
    // this library deliberately does not (it counts rows in JS numbers; parseHeader reads
    // such a header, with bigint dims).
    const files = picked.map(([name, bytes], i) => {
      const path = join(dir, `case${i}.npy`);
      writeFileSync(path, bytes);
      return { name, path };
    });
    const numpy = runPython<Record<string, string>>(
      `
out = {}
for f in json.load(sys.stdin):
    try:
        out[f["name"]] = "shape " + str(np.load(f["path"]).shape)
    except Exception as e:
        out[f["name"]] = type(e).__name__
print(json.dumps(out))`,
      files,
    );
    assert.deepEqual(numpy, {
      "65 dimensions": "ValueError",
      "dim 2^63 beside a zero": "ValueError",
      "repeated field name": "ValueError",
      "title equal to a name": "ValueError",
      "title equal to its name": "ValueError",
      "subarray of 65 dims": "ValueError",
      "top-level subarray": "ValueError",
      "dim beyond 2^53 in an empty array": "shape (0, 9007199254740993)",
      "growth dim beyond 2^53 in an empty array": "shape (9007199254740993, 0)",
    });
  } finally {
    cleanup();
  }
});

test("every hostile file gets its typed error from loadNpySync, NpyReader and parseNpy", async () => {
  const { dir, cleanup } = makeTempDir("npy-hostile-");
  try {
    for (const [name, bytes, Expected] of CASES) {
      const path = join(dir, "hostile.npy");
      writeFileSync(path, bytes);
      const check = (e: unknown) => {
        assert.ok(e instanceof Expected, `${name}: got ${e}`);
        assert.match((e as Error).message, /^Cannot /, name);
        return true;
      };
      assert.throws(() => loadNpySync(path), check, name);
      assert.throws(() => NpyReader.openSync(path), check, name);
      await assert.rejects(NpyReader.open(path), check, name);
      assert.throws(() => parseNpy(bytes), check, name);
      assert.ok(!existsSync(join(dir, "PWNED")) && !existsSync("PWNED"), name);
    }
  } finally {
    cleanup();
  }
});

test("repair tools write nothing to hostile files whose header cannot be parsed", () => {
  const { dir, cleanup } = makeTempDir("npy-hostile-");
  try {
    let n = 0;
    for (const [name, bytes, Expected] of CASES) {
      if (Expected === NpyRecoveryError) continue;
      const path = join(dir, "hostile.npy");
      writeFileSync(path, bytes);
      const mtime = statSync(path).mtimeMs;
      for (
        const f of [
          () => recoverSync(path),
          () => recoverSync(path, { zeroFill: true }),
          () => ensureAppendableSync(path),
          () => ensureAppendableSync(path, { inPlace: true }),
          () => isAppendableSync(path),
          () => needsRecoverySync(path),
        ]
      ) {
        assert.throws(f, (e) => isTyped(e), name);
      }
      assert.deepEqual(new Uint8Array(readFileSync(path)), bytes, name);
      assert.equal(statSync(path).mtimeMs, mtime, name);
      n++;
    }
    assert.ok(n > 30);
  } finally {
    cleanup();
  }
});

test("a file whose data is shorter than its header claims can be opened with allowTruncated", () => {
  const { dir, cleanup } = makeTempDir("npy-hostile-");
  try {
    const path = join(dir, "cut.npy");
    const h = encodeHeader({ descr: "<f4", fortranOrder: false, shape: [4, 2] });
    const data = new Float32Array([0, 1, 2, 3, 4, 5, 6]); // 3.5 rows
    const bytes = new Uint8Array(h.length + data.byteLength);
    bytes.set(h);
    bytes.set(new Uint8Array(data.buffer), h.length);
    writeFileSync(path, bytes);
    assert.throws(() => NpyReader.openSync(path), (e) => {
      assert.ok(e instanceof NpyRecoveryError);
      assert.equal(e.expectedBytes, 32);
      assert.equal(e.actualBytes, 28);
      assert.equal(e.path, path);
      return true;
    });
    using r = NpyReader.openSync(path, { allowTruncated: true });
    assert.equal(r.rows, 4);
    assert.equal(r.availableRows, 3);
    assert.deepEqual([...(r.readSync(1, 3).data as Float32Array)], [2, 3, 4, 5]);
    assert.throws(() => r.readSync(2, 4), NpyRecoveryError);
    assert.throws(() => [...r.chunksSync({ rows: 2 })], NpyRecoveryError);
  } finally {
    cleanup();
  }
});

function expectTypedOrOk(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isTyped(e)) throw e;
  }
}

test("parseNpy() on 3000 fast-check garbage inputs: a result or a typed error", () => {
  const magic = latin1("\x93NUMPY");
  const base = valid();
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        // Right magic, random rest.
        fc.uint8Array({ maxLength: 300 }).map((rest) => {
          const out = new Uint8Array(magic.length + rest.length);
          out.set(magic);
          out.set(rest, magic.length);
          return out;
        }),
        // A valid file with bytes flipped and a random cut.
        fc.tuple(
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
            maxLength: 6,
          }),
          fc.nat(base.length),
        ).map(([flips, cut]) => {
          const out = base.slice(0, Math.max(cut, 1));
          for (const [i, b] of flips) if (i < out.length) out[i] = b;
          return out;
        }),
        // Random header text from a Python-ish alphabet.
        fc.string({
          unit: fc.constantFrom(
            ..."{}()[]',: 0123456789<>|fiuOSUVbc_descrshapefortran_orderTrueFalse\\\"#",
          ),
          maxLength: 120,
        }).map((text) => rawFile(text, { data: new Uint8Array(16) })),
      ),
      (bytes) => expectTypedOrOk(() => parseNpy(bytes)),
    ),
    { numRuns: 3000 },
  );
});

test("NpyReader and recover on 150 fast-check damaged files: a result or a typed error", () => {
  const { dir, cleanup } = makeTempDir("npy-hostile-");
  const base = valid();
  try {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 4,
        }),
        fc.nat(base.length),
        (flips, cut) => {
          const bytes = base.slice(0, cut);
          for (const [i, b] of flips) if (i < bytes.length) bytes[i] = b;
          const path = join(dir, "f.npy");
          writeFileSync(path, bytes);
          expectTypedOrOk(() => {
            using r = NpyReader.openSync(path, { allowTruncated: true });
            for (const _ of r.chunksSync({ rows: 1, end: r.availableRows })) { /* read all */ }
          });
          expectTypedOrOk(() => recoverSync(path));
          expectTypedOrOk(() => loadNpySync(path));
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    cleanup();
  }
});
