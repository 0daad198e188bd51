/**
 * Hostile input. A seeded mutation fuzzer over valid `.npy` files (the golden files and
 * ours: bit flips, byte insertions and deletions, cuts, header-text mutations) and
 * fast-check runs of parseHeader and parseDescr: every input gets a result or a typed
 * error, within a time limit, and a result never holds more data than the input; a file
 * `recover` accepts then loads. Any input that breaks this is saved in
 * tests/testdata/crashers/ and replayed by the regression test. Then hostile chunks for
 * the writer: typed errors and the file unchanged, byte for byte.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import fc from "fast-check";
import {
  type Descr,
  loadNpySync,
  NpyAppendArray,
  type NpyAppendArrayOptions,
  type NpyChunk,
  NpyDtypeError,
  NpyFormatError,
  NpyHeaderSpaceError,
  NpyReader,
  NpyRecoveryError,
  NpyShapeError,
  parseDescr,
  parseHeader,
  parseNpy,
  recoverSync,
} from "../mod.ts";
import { makeTempDir, present, ROOT } from "./_util.ts";
import { LIMIT, LONG, seeded } from "./_fault_util.ts";

const TYPED = [NpyFormatError, NpyDtypeError, NpyShapeError, NpyRecoveryError, NpyHeaderSpaceError];
const isTyped = (e: unknown) => TYPED.some((C) => e instanceof C);
const CRASHERS = join(ROOT, "tests", "testdata", "crashers");
const MUTATIONS = LONG ? 50_000 : 2_500;
const CASE_LIMIT_MS = 1_000; // a hang, not a slow machine

/** Valid files to mutate: NumPy's golden files and a few of ours. */
function corpus(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const sub of ["reader", "dtypes"]) {
    const folder = join(ROOT, "tests", "testdata", sub);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      // Copies: a Buffer's slice() is a view, and mutations must not reach the corpus.
      if (name.endsWith(".npy")) out.push(new Uint8Array(readFileSync(join(folder, name))));
    }
  }
  const ours: Array<[NpyAppendArrayOptions, unknown]> = [
    [{ descr: "<i8", shape: [4] }, BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n)],
    [{ descr: [["t", "<i8"], ["xy", "<f4", [2]]], shape: [0] }, [{ t: 1n, xy: [1, 2] }]],
    [{ descr: "<f8", shape: [2, 2], fortranOrder: true }, [[[1], [2]], [[3], [4]]]],
    [{ descr: "<U3", shape: [0] }, ["abc", "é"]],
  ];
  ours.forEach(([options, chunk], i) => {
    const path = join(dir, `ours-${i}.npy`);
    const w = NpyAppendArray.openSync(path, { ...options, lock: false });
    w.appendSync(chunk as NpyChunk);
    w.closeSync();
    out.push(new Uint8Array(readFileSync(path)));
  });
  return out;
}

const TOKENS = [
  "'descr'",
  "'shape'",
  "'fortran_order'",
  "True",
  "False",
  "None",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  "'<f4'",
  "'|O'",
  "'<i8'",
  "'S0'",
  "'<U99999999999'",
  "-1",
  "0",
  "1e400",
  "99999999999999999999",
  "4294967296",
  "'",
  '"',
  "\\",
  "\x00",
  "\n",
  " ",
  "#",
  "__import__",
  "[('a', '<f4', (3,))]",
  "(1,)*100",
  "((((((((",
  "'<M8[ns]'",
  "'<m8[7s]'",
  "b'x'",
  "é",
];

/** One random mutation of `bytes`. */
function mutate(bytes: Uint8Array, rand: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const b = bytes.slice();
  // The header text is where most of the parsing is: aim there half of the time.
  const headerEnd = Math.min(b.length, 10 + ((b[8] ?? 0) | ((b[9] ?? 0) << 8)));
  const pos = (n: number) => rand() < 0.5 ? pick(Math.max(1, Math.min(n, headerEnd))) : pick(n);
  switch (pick(7)) {
    case 0: { // bit flips
      for (let k = 1 + pick(4); k > 0 && b.length > 0; k--) {
        const at = pos(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << pick(8));
      }
      return b;
    }
    case 1: { // byte insertion
      const at = pos(b.length + 1);
      const ins = Uint8Array.from({ length: 1 + pick(8) }, () => pick(256));
      return concat(b.subarray(0, at), ins, b.subarray(at));
    }
    case 2: { // byte deletion
      const at = pos(b.length);
      return concat(b.subarray(0, at), b.subarray(at + 1 + pick(8)));
    }
    case 3: // truncation
      return b.subarray(0, pick(b.length + 1));
    case 4: { // a token written over the header text
      const token = latin1(present(TOKENS[pick(TOKENS.length)], "token"));
      const at = Math.min(b.length, 10 + pick(Math.max(1, headerEnd - 10)));
      b.set(token.subarray(0, Math.max(0, b.length - at)), at);
      return b;
    }
    case 5: { // a token inserted into the header text, the length field left as it was
      const token = latin1(present(TOKENS[pick(TOKENS.length)], "token"));
      const at = Math.min(b.length, 10 + pick(Math.max(1, headerEnd - 10)));
      return concat(b.subarray(0, at), token, b.subarray(at));
    }
    default: { // the header length field or the version rewritten
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (b.length >= 10 && rand() < 0.7) v.setUint16(8, pick(65536), true);
      else if (b.length >= 7) b[6] = pick(5);
      return b;
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Every entry point on `bytes`: a result or a typed error, in time, data never larger than
 * the input, and a file that `recover` accepts loads. Returns what went wrong, if anything.
 */
function probe(bytes: Uint8Array, dir: string, withFiles: boolean): string | undefined {
  const started = Date.now();
  const steps: Array<[string, () => void]> = [
    ["parseHeader", () => void parseHeader(bytes)],
    ["parseNpy", () => {
      const a = parseNpy(bytes);
      const size = ArrayBuffer.isView(a.data) ? a.data.byteLength : elements(a.shape);
      if (size > bytes.length * 8) throw new Error(`decoded ${size} bytes from ${bytes.length}`);
    }],
  ];
  if (withFiles) {
    const path = join(dir, "m.npy");
    writeFileSync(path, bytes);
    steps.push(["NpyReader", () => {
      using r = NpyReader.openSync(path, { allowTruncated: true });
      const rows = r.availableRows;
      if (rows * r.rowBytes > bytes.length) throw new Error(`${rows} rows past the input`);
      for (const _ of r.chunksSync({ rows: 7, end: rows })) { /* every row */ }
    }]);
    steps.push(["recover", () => {
      try {
        recoverSync(path, { lock: false });
      } catch (e) {
        if (isTyped(e)) return;
        throw e;
      }
      try {
        loadNpySync(path);
      } catch (e) {
        // Recovered means loadable, unless no codec handles the dtype.
        if (!(e instanceof NpyDtypeError)) {
          throw new Error(`recovered, but does not load: ${(e as Error).message}`);
        }
      }
    }]);
  }
  for (const [name, step] of steps) {
    try {
      step();
    } catch (e) {
      if (!isTyped(e)) return `${name}: ${(e as Error)?.name}: ${(e as Error)?.message}`;
    }
  }
  const ms = Date.now() - started;
  if (ms > CASE_LIMIT_MS) return `took ${ms} ms`;
  return undefined;
}

function saveCrasher(bytes: Uint8Array, why: string): string {
  mkdirSync(CRASHERS, { recursive: true });
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const name = `crasher-${h.toString(16).padStart(8, "0")}.npy`;
  writeFileSync(join(CRASHERS, name), bytes);
  writeFileSync(join(CRASHERS, name + ".txt"), why + "\n");
  return name;
}

test(
  `mutation fuzzer: ${MUTATIONS} mutated .npy files through parseHeader, parseNpy, NpyReader and recover`,
  LIMIT,
  () => {
    const { dir, cleanup } = makeTempDir("npy-fuzz-");
    try {
      const files = corpus(dir);
      const seed = LONG ? Date.now() % 2 ** 31 : 0xf022;
      const rand = seeded(seed);
      const rssBefore = process.memoryUsage().rss;
      const crashers: string[] = [];
      const outcome = { typed: 0, ok: 0 };
      for (let n = 0; n < MUTATIONS; n++) {
        let bytes = present(files[Math.floor(rand() * files.length)], "seed file");
        for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) bytes = mutate(bytes, rand);
        // Files for every 4th case: the file paths cost syscalls, the parsers do not.
        const why = probe(bytes, dir, n % 4 === 0);
        if (why !== undefined) crashers.push(`${saveCrasher(bytes, why)}: ${why}`);
        try {
          parseNpy(bytes);
          outcome.ok++;
        } catch {
          outcome.typed++;
        }
      }
      const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      assert.deepEqual(crashers, []);
      assert.ok(grown < 512, `memory grew by ${grown.toFixed(0)} MiB`);
      console.log(
        `mutation fuzzer (seed ${seed}): ${MUTATIONS} cases from ${files.length} valid files, ` +
          `${outcome.ok} ` +
          `still parse, ${outcome.typed} typed errors, 0 crashers, 0 hangs (limit ` +
          `${CASE_LIMIT_MS} ms), rss +${grown.toFixed(0)} MiB`,
      );
    } finally {
      cleanup();
    }
  },
);

test("crasher regression cases in tests/testdata/crashers replay cleanly", LIMIT, () => {
  const { dir, cleanup } = makeTempDir("npy-crashers-");
  try {
    const names = existsSync(CRASHERS)
      ? readdirSync(CRASHERS).filter((n) => n.endsWith(".npy"))
      : [];
    for (const name of names) {
      const why = probe(readFileSync(join(CRASHERS, name)), dir, true);
      assert.equal(why, undefined, `${name}: ${why}`);
    }
    console.log(`crasher regressions: ${names.length} replayed`);
  } finally {
    cleanup();
  }
});

// A Python-literal-ish text: dicts, tuples, lists, strings, numbers, names.
const pyText = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("True", "False", "None", "'<f4'", "'|u1'", "'<U5'", "'>M8[s]'", "'V8'", "()"),
    fc.integer({ min: -5, max: 1 << 20 }).map(String),
    fc.constantFrom("99999999999999999999999", "1e5", "0x10", "1_000", "-0", "+3", "'\\x00'"),
    fc.string({ maxLength: 8 }).map((s) => `'${s}'`),
    fc.array(tie("value"), { maxLength: 4 }).map((xs) =>
      `(${xs.join(", ")}${xs.length === 1 ? "," : ""})`
    ),
    fc.array(tie("value"), { maxLength: 4 }).map((xs) => `[${xs.join(", ")}]`),
    fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 4 }).map((kv) =>
      `{${kv.map(([k, v]) => `${k}: ${v}`).join(", ")}}`
    ),
  ),
})).value as fc.Arbitrary<string>;

test("parseDescr on 4000 fast-check Python literals: a Descr or a typed error", LIMIT, () => {
  fc.assert(
    fc.property(pyText, (text) => {
      let descr: Descr;
      try {
        descr = parseDescr(text);
      } catch (e) {
        if (isTyped(e)) return;
        throw e;
      }
      assert.ok(typeof descr === "string" || Array.isArray(descr));
    }),
    { numRuns: 4000 },
  );
});

test(
  "parseHeader on 3000 fast-check header dicts: a header or a typed error, never past the input",
  LIMIT,
  () => {
    const key = fc.constantFrom(
      "'descr'",
      "'shape'",
      "'fortran_order'",
      "'x'",
      "descr",
      "'shape '",
    );
    const dict = fc.array(fc.tuple(key, pyText), { maxLength: 4 }).map((kv) =>
      `{${kv.map(([k, v]) => `${k}: ${v}`).join(", ")}, }`
    );
    fc.assert(
      fc.property(dict, fc.constantFrom(1, 2, 3), fc.integer({ min: -3, max: 3 }), (text, v, d) => {
        const body = new TextEncoder().encode(text + "\n");
        const fixed = v === 1 ? 10 : 12;
        const bytes = new Uint8Array(fixed + body.length);
        bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, v, 0]);
        const view = new DataView(bytes.buffer);
        if (v === 1) view.setUint16(8, Math.max(0, body.length + d), true);
        else view.setUint32(8, Math.max(0, body.length + d), true);
        bytes.set(body, fixed);
        try {
          const h = parseHeader(bytes);
          assert.ok(h.headerLength <= bytes.length);
        } catch (e) {
          if (!isTyped(e)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  },
);

// -----------------------------------------------------------------------------------------
// Hostile chunks

const sparseRows = [, [1, 2, 3, 4]]; // a hole where a row should be
const holeyRow = [new Array(4)]; // a row of four holes

const HOSTILE: Array<[string, NpyAppendArrayOptions, Array<[string, unknown]>]> = [
  ["<i8 rows of 4", { descr: "<i8", shape: [4] }, [
    ["null", null],
    ["undefined", undefined],
    ["a string", "1, 2, 3, 4"],
    ["a number (0-d)", 42],
    ["an empty object", {}],
    ["an object", { a: 1 }],
    ["a Symbol", Symbol("x")],
    ["an array of a Symbol", [Symbol("y")]],
    ["a function", () => 1],
    ["a Map", new Map([[0, 1]])],
    ["an ArrayBuffer", new ArrayBuffer(32)],
    ["a short row", [[1, 2, 3]]],
    ["a long row", [[1, 2, 3, 4, 5]]],
    ["ragged rows", [[1, 2, 3, 4], [1, 2]]],
    ["a sparse array of rows", sparseRows],
    ["a row of holes", holeyRow],
    ["one more dimension", [[[1, 2, 3, 4]]]],
    ["a flat JS array", [1, 2, 3, 4]],
    ["a fraction into ints", [[1.5, 2, 3, 4]]],
    ["NaN into ints", [[NaN, 0, 0, 0]]],
    ["Infinity into ints", [[Infinity, 0, 0, 0]]],
    ["2^64 into <i8", [[2 ** 64, 0, 0, 0]]],
    ["a 70-bit bigint", [[1n << 70n, 0n, 0n, 0n]]],
    ["strings in a row", [["a", 1, 2, 3]]],
    ["an object in a row", [[{}, 1, 2, 3]]],
    ["null in a row", [[null, 1, 2, 3]]],
    ["a Float64Array (same_kind refuses f8 -> i8)", new Float64Array(4)],
    ["an Int8Array of 3 (not whole rows)", new Int8Array(3)],
    ["an ndarray whose data is short", { data: new BigInt64Array(4), shape: [2, 4] }],
    ["an ndarray of rows of 5", { data: new BigInt64Array(5), shape: [1, 5] }],
    ["raw bytes not whole elements", { data: new Uint8Array(31), shape: [1, 4], descr: "<i8" }],
  ]],
  ["|u1 rows of 2", { descr: "|u1", shape: [2] }, [
    ["256 into u1", [[256, 0]]],
    ["-1 into u1", [[-1, 0]]],
    ["0.5 into u1", [[0.5, 0]]],
    ["NaN into u1", [[NaN, 1]]],
    ["an Int16Array (same_kind refuses i2 -> u1)", new Int16Array(2)],
    ["a bigint 300n", [[300n, 0n]]],
  ]],
  ["<f4 rows of 2", { descr: "<f4", shape: [2] }, [
    ["a string", [["x", 0]]],
    ["a Symbol", [[Symbol("z"), 1]]],
  ]],
  ["|S4 strings", { descr: "|S4", shape: [0] }, [
    ["an oversized string", ["toolong"]],
    ["a 1 MB string", ["x".repeat(1 << 20)]],
    ["a number", [1]],
    ["null", [null]],
    ["not latin1", ["日本"]],
  ]],
  ["<U3 strings", { descr: "<U3", shape: [0] }, [
    ["an oversized string", ["abcd"]],
    ["a number", [3]],
    ["null", [null]],
  ]],
  ["a record (a <i4, b <f8)", { descr: [["a", "<i4"], ["b", "<f8"]], shape: [0] }, [
    ["a missing field", [{ a: 1 }]],
    ["a string field", [{ a: "x", b: 1 }]],
    ["2^40 into <i4", [{ a: 2 ** 40, b: 1 }]],
    ["null record", [null]],
    ["a Symbol field", [{ a: 1, b: Symbol("q") }]],
  ]],
  ["|b1 rows of 2", { descr: "|b1", shape: [2] }, [
    ["2 into bool", [[2, 0]]],
    ["a string into bool", [["yes", true]]],
    ["null into bool", [[null, true]]],
  ]],
];

test(
  `hostile chunks: ${
    HOSTILE.reduce((n, [, , c]) => n + c.length, 0) * 2
  } bad appends get typed errors and leave the file unchanged, byte for byte`,
  LIMIT,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-hostile-append-");
    let count = 0;
    try {
      for (const [name, options, chunks] of HOSTILE) {
        const path = join(dir, "h.npy");
        const w = await NpyAppendArray.open(path, { ...options, mode: "overwrite" });
        const before = readFileSync(path);
        for (const [label, chunk] of chunks) {
          for (const api of ["appendSync", "append"] as const) {
            let error: unknown;
            try {
              if (api === "appendSync") w.appendSync(chunk as NpyChunk);
              else await w.append(chunk as NpyChunk);
            } catch (e) {
              error = e;
            }
            assert.ok(error !== undefined, `${name}: ${api}(${label}) was accepted`);
            assert.ok(
              error instanceof NpyDtypeError || error instanceof NpyShapeError,
              `${name}: ${api}(${label}) threw ${(error as Error)?.name}: ${
                (error as Error)?.message
              }`,
            );
            assert.match((error as Error).message, /^Cannot append to ".*h\.npy": /);
            assert.deepEqual(readFileSync(path), before, `${name}: ${label} changed the file`);
            count++;
          }
        }
        // The writer is not poisoned by refused chunks.
        assert.equal(w.rows, 0);
        await w.close();
        assert.deepEqual(readFileSync(path), before);
      }
      console.log(`hostile chunks: ${count} refused with typed errors, files unchanged`);
    } finally {
      cleanup();
    }
  },
);
