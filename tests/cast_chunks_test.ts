/**
 * Chunks that carry a descr of their own, appended to a file of another dtype: ndarray-likes
 * with TypedArray data, nested arrays of bigints, `Date`s, raw bytes and records. Their values
 * are converted as NumPy's `astype` does (datetime units, records by position), refused where
 * NumPy's `can_cast` refuses, and a datetime that would overflow is refused with the file left
 * unchanged. Each resulting file is checked by NumPy itself (one python call per test).
 * Also: record fields named `''` with a real type, read and written as NumPy does. Runs under
 * Deno, Bun and Node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Casting,
  type Descr,
  encodeNpy,
  loadNpySync,
  NAT,
  NpyAppendArray,
  type NpyChunk,
  NpyDtypeError,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import { checkWithNumpy, type NumpyCheck } from "./_writer_util.ts";

/** Appends `chunks` to a new file of `descr` and returns its path. */
function write(dir: string, name: string, descr: Descr, chunks: unknown[], casting?: Casting) {
  const path = join(dir, `${name}.npy`);
  writeFileSync(path, encodeNpy({ data: new Uint8Array(0), shape: [0], descr }));
  const w = NpyAppendArray.openSync(path, { casting });
  try {
    for (const c of chunks) w.appendSync(c as NpyChunk);
  } finally {
    w.closeSync();
  }
  return path;
}

test("appendSync converts datetime and timedelta units of ndarray-likes, bigints and Dates as astype does", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const checks: NumpyCheck[] = [
      {
        name: "us into ns (BigInt64Array)",
        path: write(dir, "a", "<M8[ns]", [
          { data: BigInt64Array.of(5n, -1n, NAT), shape: [3], descr: "<M8[us]" },
        ]),
        expect: `np.array([5, -1, "NaT"], "M8[us]").astype("<M8[ns]")`,
      },
      {
        name: "s into ms (nested bigints)",
        path: write(dir, "b", "<m8[ms]", [{ data: [5n, -7n, null], shape: [3], descr: "<m8[s]" }]),
        expect: `np.array([5, -7, "NaT"], "m8[s]").astype("<m8[ms]")`,
      },
      {
        name: "weeks into days",
        path: write(dir, "c", "<M8[D]", [{ data: [5n, -1n], shape: [2], descr: "<M8[W]" }]),
        expect: `np.array([5, -1], "M8[W]").astype("<M8[D]")`,
      },
      {
        name: "Dates floored to seconds, then in ns",
        path: write(dir, "d", "<M8[ns]", [
          { data: [new Date(1500), new Date(-1500), null], shape: [3], descr: "<M8[s]" },
        ]),
        expect: `np.array([1, -2, "NaT"], "M8[s]").astype("<M8[ns]")`,
      },
      {
        name: "months into days (calendar), multiplied units, big-endian",
        path: write(dir, "e", ">M8[D]", [
          { data: [0n, 1n, 13n, -1n], shape: [4], descr: "<M8[M]" },
          { data: [7n, -3n], shape: [2], descr: "<M8[10h]" },
        ], "same_kind"),
        expect: `np.concatenate([np.array([0, 1, 13, -1], "M8[M]").astype(">M8[D]"), ` +
          `np.array([7, -3], "M8[10h]").astype(">M8[D]")]).astype(">M8[D]")`,
      },
      {
        name: "ns into s floors toward -inf (same_kind)",
        path: write(dir, "f", "<M8[s]", [
          { data: BigInt64Array.of(1_999_999_999n, -1n), shape: [2], descr: "<M8[ns]" },
        ]),
        expect: `np.array([1999999999, -1], "M8[ns]").astype("<M8[s]")`,
      },
      {
        name: "the file's own unit: ticks as they are",
        path: write(dir, "g", "<M8[ns]", [[5n, null], [new Date(2)]]),
        expect: `np.array([5, "NaT", 2000000], "M8[ns]")`,
      },
    ];
    checkWithNumpy(checks);
  } finally {
    cleanup();
  }
});

test("appendSync refuses a unit change the casting rule refuses, and a datetime that overflows, leaving the file unchanged", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = write(dir, "a", "<M8[ns]", [BigInt64Array.of(1n)]);
    const before = readFileSync(path);
    const cases: [unknown, Casting, RegExp][] = [
      [{ data: BigInt64Array.of(5n), shape: [1], descr: "<M8[us]" }, "equiv", /"equiv"/],
      [{ data: BigInt64Array.of(5n), shape: [1], descr: "<M8[ms]" }, "no", /"no"/],
      // The generic unit cannot be reached from a specific one, even under unsafe.
      [{ data: BigInt64Array.of(5n), shape: [1], descr: "<m8[s]" }, "same_kind", /unsafe/],
      // 2^62 µs is 2^62 × 1000 ns: beyond int64. NumPy wraps it; this refuses.
      [
        { data: BigInt64Array.of(1n, 2n ** 62n), shape: [2], descr: "<M8[us]" },
        "unsafe",
        /element 1.*overflows/,
      ],
      // A year far out is refused the same way, as a Date or as ticks.
      [{ data: [new Date(Date.UTC(2300, 0))], shape: [1], descr: "<M8[ms]" }, "safe", /overflow/],
      [[new Date(Date.UTC(2300, 0))], "same_kind", /out of the range/],
    ];
    for (const [chunk, casting, message] of cases) {
      const w = NpyAppendArray.openSync(path, { casting });
      try {
        assert.throws(() => w.appendSync(chunk as NpyChunk), (e: unknown) => {
          assert.ok(e instanceof NpyDtypeError, String(e));
          // The message names the file, its dtype and the rule; the cause says why.
          assert.match(
            e.message,
            /^Cannot append to ".*a\.npy": .* dtype '<M8\[ns\]' under casting/,
          );
          assert.match(`${e.message} ${(e.cause as Error | undefined)?.message}`, message);
          return true;
        });
      } finally {
        w.closeSync();
      }
      assert.deepEqual(readFileSync(path), before);
    }
    // NumPy agrees with the refusals by rule.
    const numpy = runPython<boolean[]>(
      `print(json.dumps([bool(np.can_cast(a, b, c)) for a, b, c in json.load(sys.stdin)]))`,
      [["<M8[us]", "<M8[ns]", "equiv"], ["<M8[ms]", "<M8[ns]", "no"], [
        "<m8[s]",
        "<M8[ns]",
        "same_kind",
      ]],
    );
    assert.deepEqual(numpy, [false, false, false]);
  } finally {
    cleanup();
  }
});

test("records cast by position as NumPy does: refused under equiv/safe/same_kind, field by field under unsafe", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const file: Descr = [["a", "<i4"], ["b", "<f8"]];
    const swapped: Descr = [["b", "<f8"], ["a", "<i4"]];
    const raw = encodeNpy({ data: [{ b: 1.5, a: 7 }, { b: -2.75, a: -3 }], shape: [2] }, {
      descr: swapped,
    });
    const rawData = raw.subarray(raw.length - 24);
    const numpy = runPython<boolean[]>(
      `print(json.dumps([bool(np.can_cast(np.dtype([("b","<f8"),("a","<i4")]), ` +
        `np.dtype([("a","<i4"),("b","<f8")]), c)) for c in ["no","equiv","safe","same_kind"]]))`,
    );
    assert.deepEqual(numpy, [false, false, false, false]);
    const path = write(dir, "r", file, []);
    for (const casting of ["no", "equiv", "safe", "same_kind"] as Casting[]) {
      for (
        const chunk of [
          { data: rawData, shape: [2], descr: swapped },
          { data: [{ b: 1.5, a: 7 }], shape: [1], descr: swapped },
        ]
      ) {
        const w = NpyAppendArray.openSync(path, { casting });
        try {
          assert.throws(() => w.appendSync(chunk), NpyDtypeError, casting);
        } finally {
          w.closeSync();
        }
      }
    }
    const unsafe = write(dir, "u", file, [
      { data: rawData, shape: [2], descr: swapped },
      { data: [{ b: 9.5, a: 1 }], shape: [1], descr: swapped },
    ], "unsafe");
    // Plain objects (no descr of their own) stay keyed by name.
    const byName = write(dir, "n", file, [[{ b: 1.5, a: 7 }]]);
    // Nested records too: the inner fields by position, the datetime rescaled.
    const nestedFile: Descr = [["p", [["a", "<i4"], ["b", "<f8"]]], ["t", "<M8[ms]"]];
    const nested = write(dir, "nested", nestedFile, [{
      data: [{ p: { b: 2.5, a: 4 }, t: 3n }],
      shape: [1],
      descr: [["p", [["b", "<f8"], ["a", "<i4"]]], ["t", "<M8[s]"]],
    }], "unsafe");
    const src = `np.array([(1.5, 7), (-2.75, -3), (9.5, 1)], [("b","<f8"),("a","<i4")])`;
    checkWithNumpy([
      {
        name: "unsafe, by position",
        path: unsafe,
        expect: `${src}.astype([("a","<i4"),("b","<f8")], casting="unsafe")`,
      },
      {
        name: "objects by name",
        path: byName,
        expect: `np.array([(7, 1.5)], [("a","<i4"),("b","<f8")])`,
      },
      {
        name: "nested",
        path: nested,
        expect: `np.array([((2.5, 4), 3)], [("p", [("b","<f8"),("a","<i4")]), ("t","M8[s]")])` +
          `.astype([("p", [("a","<i4"),("b","<f8")]), ("t","<M8[ms]")], casting="unsafe")`,
      },
    ]);
    const loaded = loadNpySync(unsafe);
    assert.deepEqual((loaded.data as unknown[])[0], { a: 1, b: 7 });
  } finally {
    cleanup();
  }
});

test("encodeNpy casts an ndarray-like's own descr to options.descr, raw bytes included", () => {
  const out = encodeNpy({ data: BigInt64Array.of(5n), shape: [1], descr: "<M8[us]" }, {
    descr: "<M8[ns]",
  });
  assert.equal(new DataView(out.buffer, out.length - 8).getBigInt64(0, true), 5000n);
  const raw = new Uint8Array(Int32Array.of(-2, 300).buffer);
  const f8 = encodeNpy({ data: raw, shape: [2], descr: "<i4" }, { descr: "<f8" });
  assert.deepEqual([...new Float64Array(f8.slice(f8.length - 16).buffer)], [-2, 300]);
  // Raw bytes at an odd offset (and a shared buffer) cast the same.
  const odd = new Uint8Array(1 + raw.length);
  odd.set(raw, 1);
  const f8odd = encodeNpy({ data: odd.subarray(1), shape: [2], descr: "<i4" }, { descr: "<f8" });
  assert.deepEqual(f8odd, f8);
  const bigOdd = new Uint8Array(17);
  new DataView(bigOdd.buffer).setBigInt64(1, -3n, false);
  const ns = encodeNpy({ data: bigOdd.subarray(1, 9), shape: [1], descr: ">m8[us]" }, {
    descr: "<m8[ns]",
  });
  assert.equal(new DataView(ns.buffer, ns.length - 8).getBigInt64(0, true), -3000n);
  // int32 into int16 is "same_kind" in NumPy: values wrap as astype wraps them.
  const wide = new Uint8Array(Int32Array.of(70000).buffer);
  const i2 = encodeNpy({ data: wide, shape: [1], descr: "<i4" }, { descr: "<i2" });
  assert.equal(new DataView(i2.buffer, i2.length - 2).getInt16(0, true), 70000 - 65536);
  assert.throws(
    () => encodeNpy({ data: wide, shape: [1], descr: "<i4" }, { descr: "<i2", casting: "safe" }),
    NpyDtypeError,
  );
});

test("a record field named '' with a real type is a field, as NumPy reads and writes it", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const descr: Descr = [["a", "<i4"], ["", "<i4"], ["b", "<i4"]];
    const ours = write(dir, "ours", descr, [[{ a: 1, "": 2, b: 3 }, { a: 4, "": 5, b: 6 }]]);
    const theirs = join(dir, "theirs.npy");
    const headers = runPython<string[]>(
      `import io
d = np.dtype({"names": ["a", "", "b"], "formats": ["<i4"] * 3})
np.save(${JSON.stringify(theirs)}, np.array([(1, 2, 3), (4, 5, 6)], d))
a = np.load(${JSON.stringify(ours)})
print(json.dumps([str(a.dtype.names), a[""].tolist(), open(${
        JSON.stringify(theirs)
      }, "rb").read()[10:70].decode()]))`,
    );
    assert.deepEqual(headers[0], "('a', '', 'b')");
    assert.deepEqual(headers[1], [2, 5]);
    assert.match(
      headers[2] as string,
      /'descr': \[\('a', '<i4'\), \('', '<i4'\), \('b', '<i4'\)\]/,
    );
    assert.deepEqual(readFileSync(ours), readFileSync(theirs));
    assert.deepEqual(loadNpySync(theirs).data, [{ a: 1, "": 2, b: 3 }, { a: 4, "": 5, b: 6 }]);
    // Void '' fields (and '' subarrays, which NumPy also drops) stay padding.
    const padded = join(dir, "padded.npy");
    runPython(
      `d = np.lib.format.descr_to_dtype([("a", "<i4"), ("", "|V4"), ("", "<i2", (2,)), ("b", "<i2")])
a = np.zeros(1, d); a["a"] = 9; a["b"] = 8
np.save(${JSON.stringify(padded)}, a)
print(json.dumps(d.names))`,
    );
    assert.deepEqual(loadNpySync(padded).data, [{ a: 9, b: 8 }]);
    // Two real '' fields are refused, as NumPy refuses them.
    assert.throws(
      () => write(dir, "two", [["", "<i4"], ["", "<i4"]], [[{ "": 1 }]]),
      NpyDtypeError,
    );
  } finally {
    cleanup();
  }
});

test("datetime casts give astype's value wherever it is exact, and refuse, saying why, where it is not", () => {
  const ticks = (chunk: NpyChunk, descr: string) => {
    const out = encodeNpy(chunk, { descr, casting: "unsafe" });
    return [
      ...new BigInt64Array(
        out.slice(out.length - 8 * (chunk as { shape: number[] }).shape[0]!).buffer,
      ),
    ];
  };
  const numpy = runPython<string[][]>(
    `print(json.dumps([np.array([int(x) for x in v], "i8").view(a).astype(b).view("i8")
                      .astype(str).tolist() for a, b, v in json.load(sys.stdin)]))`,
    [
      ["<m8[ns]", "<m8[1000Y]", [-1, 1, -1001, 2 ** 40]],
      ["<M8[fs]", "<M8[1000m]", [-7, 13]],
      ["<m8[3Y]", "<m8[ns]", [1, 0]],
      ["<M8[1000m]", "<M8[1000fs]", [1]],
      ["<m8[ns]", "<m8[s]", ["-9223372036854775807"]],
    ].map(([a, b, v]) => [a, b, (v as (number | string)[]).map(String)]),
  );
  // Exact where NumPy is: [ns] to [1000Y] floors -1 to -1 (the factor exceeds 2^63).
  assert.deepEqual(
    ticks(
      { data: BigInt64Array.of(-1n, 1n, -1001n, 2n ** 40n), shape: [4], descr: "<m8[ns]" },
      "<m8[1000Y]",
    ),
    numpy[0]!.map(BigInt),
  );
  assert.deepEqual(
    ticks({ data: [-7n, 13n], shape: [2], descr: "<M8[fs]" }, "<M8[1000m]"),
    numpy[1]!.map(BigInt),
  );
  assert.deepEqual(ticks({ data: [0n, null], shape: [2], descr: "<m8[3Y]" }, "<m8[ns]"), [0n, NAT]);
  assert.equal(numpy[2]![1], "0");
  // NumPy's own factor overflows: its astype gives 2437135631452241 for 1 × [3Y] in ns.
  const refused: [NpyChunk, string, string, RegExp][] = [
    [{ data: [1n], shape: [1], descr: "<m8[3Y]" }, "<m8[ns]", numpy[2]![0]!, /conversion factor/],
    [
      { data: [1n], shape: [1], descr: "<M8[1000m]" },
      "<M8[1000fs]",
      numpy[3]![0]!,
      /conversion factor/,
    ],
    // NumPy's (t * num - (denom - 1)) wraps below int64 for the smallest ticks.
    [
      { data: [-(2n ** 63n) + 1n], shape: [1], descr: "<m8[ns]" },
      "<m8[s]",
      numpy[4]![0]!,
      /int64 arithmetic overflows/,
    ],
  ];
  for (const [chunk, descr, astype, reason] of refused) {
    assert.throws(() => encodeNpy(chunk, { descr, casting: "unsafe" }), (e: unknown) => {
      assert.ok(e instanceof NpyDtypeError);
      assert.match(e.message, reason);
      assert.ok(
        e.message.includes(`'${(chunk as { descr: string }).descr}' to '${descr}'`),
        e.message,
      );
      assert.ok(e.message.includes(`gives ${astype},`), e.message);
      return true;
    });
  }
  assert.equal(numpy[2]![0], "2437135631452241");
});

test("zero-width S0, U0, V0 and a zero unit multiplier: appended to NumPy's files, read back by NumPy", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const p = {
      v0: join(dir, "v0.npy"),
      rec: join(dir, "rec.npy"),
      m0s: join(dir, "m0s.npy"),
      s0: join(dir, "s0.npy"),
      u0: join(dir, "u0.npy"),
    };
    const canCast = runPython<boolean[]>(
      `p = json.load(sys.stdin)
np.save(p["v0"], np.zeros(2, "V0"))
np.save(p["rec"], np.array([(1, b"", "", b"")], [("a", "<i4"), ("s", "S0"), ("u", "U0"), ("v", "V0")]))
np.save(p["m0s"], np.array([5, -1], "i8").view("<M8[0s]"))
print(json.dumps([bool(np.can_cast("S2", "S0", "no")), bool(np.can_cast("<M8[s]", "<M8[0s]", "unsafe"))]))`,
      p,
    );
    // NumPy never writes a top-level S0 or U0 (np.empty(2, "S0") is S1), but it loads one.
    writeFileSync(p.s0, encodeNpy(["", ""], { descr: "|S0" }));
    writeFileSync(p.u0, encodeNpy({ data: [""], shape: [1], descr: ">U0" }));
    assert.deepEqual(loadNpySync(p.v0).data, [new Uint8Array(0), new Uint8Array(0)]);
    const append = (path: string, chunks: unknown[], casting?: Casting) => {
      const w = NpyAppendArray.openSync(path, { casting });
      try {
        for (const c of chunks) w.appendSync(c as NpyChunk);
      } finally {
        w.closeSync();
      }
    };
    append(p.v0, [[new Uint8Array(0)]]);
    append(p.rec, [[{ a: -7, s: "", u: "", v: new Uint8Array(0) }]]);
    // The same unit in the other byte order, and int64 ticks (unsafe, as NumPy has it).
    append(p.m0s, [
      [3n],
      { data: [4n], shape: [1], descr: ">M8[0s]" },
      { data: BigInt64Array.of(-6n), shape: [1], descr: "<i8" },
    ], "unsafe");
    append(p.s0, [[""], { data: [""], shape: [1], descr: "|S0" }]);
    // Refused: values that elements of no bytes cannot hold, though NumPy's can_cast takes
    // '|S0' as a width to adapt (and its copy drops the bytes), and a unit change of [0s],
    // on which NumPy's cast fails.
    assert.deepEqual(canCast, [true, true]);
    const refusals: [string, unknown, Casting, RegExp][] = [
      [p.s0, ["ab"], "same_kind", /holds at most 0/],
      [p.s0, { data: ["ab"], shape: [1], descr: "|S2" }, "no", /elements of no bytes/],
      [p.v0, { data: Int32Array.of(1), shape: [1], descr: "<i4" }, "unsafe", /no bytes/],
      [p.m0s, { data: [1n], shape: [1], descr: "<M8[s]" }, "unsafe", /zero unit multiplier/],
      [p.m0s, [new Date(0)], "unsafe", /zero multiplier has no scale/],
    ];
    for (const [path, chunk, casting, reason] of refusals) {
      const before = readFileSync(path);
      assert.throws(() => append(path, [chunk], casting), (e: unknown) => {
        assert.ok(e instanceof NpyDtypeError, String(e));
        assert.match(`${e.message} ${(e.cause as Error | undefined)?.message}`, reason);
        return true;
      });
      assert.deepEqual(readFileSync(path), before);
    }
    const got = runPython<Record<string, [string, number[], string]>>(
      `out = {}
for k, path in json.load(sys.stdin).items():
    for mode in (None, "r"):
        a = np.load(path, mmap_mode=mode)
        out[k] = [np.lib.format.dtype_to_descr(a.dtype).__str__(), list(a.shape),
                  a.view("i8").tolist().__str__() if k == "m0s" else a.tolist().__str__()]
print(json.dumps(out))`,
      p,
    );
    assert.deepEqual(got, {
      v0: ["|V0", [3], "[b'', b'', b'']"],
      rec: [
        "[('a', '<i4'), ('s', '|S0'), ('u', '<U0'), ('v', '|V0')]",
        [2],
        "[(1, b'', '', b''), (-7, b'', '', b'')]",
      ],
      m0s: ["<M8[0s]", [5], "[5, -1, 3, 4, -6]"],
      s0: ["|S0", [4], "[b'', b'', b'', b'']"],
      u0: [">U0", [1], "['']"],
    });
    // Out of zero-width elements: empty values, as NumPy's astype gives them.
    const s3 = encodeNpy({ data: ["", ""], shape: [2], descr: "|S0" }, {
      descr: "|S3",
      casting: "safe",
    });
    assert.deepEqual([...s3.subarray(s3.length - 6)], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(loadNpySync(p.rec).data, [
      { a: 1, s: "", u: "", v: new Uint8Array(0) },
      { a: -7, s: "", u: "", v: new Uint8Array(0) },
    ]);
  } finally {
    cleanup();
  }
});
