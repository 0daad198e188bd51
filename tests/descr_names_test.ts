/**
 * NumPy's names as descr input (issue 11): every spelling np.dtype() takes for a fixed-size
 * type turns into the canonical descr NumPy writes, checked live against
 * `np.dtype(name).str`; headers written from a name equal NumPy's bytes; writers, the
 * registry and encodeNpy/saveNpy take names and show the canonical form; unknown names get
 * the closest canonical spelling. Also the runtime checks of `version` and of malformed
 * Descr values in encodeHeader, encodeNpy and saveNpy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  defaultRegistry,
  type Descr,
  encodeHeader,
  encodeNpy,
  normalizeDescr,
  NpyAppendArray,
  NpyDtypeError,
  parseHeader,
  saveNpy,
  saveNpySync,
} from "../mod.ts";
import { main } from "../cli.ts";
import { makeTempDir, runPython } from "./_util.ts";

const UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"];

/** Spellings of fixed-size types that np.dtype() takes (NumPy 2, LP64). */
const NAMES: string[] = [
  // names
  ...["bool", "bool_", "byte", "ubyte", "short", "ushort", "intc", "uintc", "int", "int_"],
  ...["uint", "long", "ulong", "longlong", "ulonglong", "intp", "uintp", "half", "single"],
  ...["double", "float", "csingle", "cdouble", "complex"],
  ...["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"],
  ...["float16", "float32", "float64", "complex64", "complex128"],
  "datetime64",
  "timedelta64",
  ...UNITS.map((u) => `datetime64[${u}]`),
  ...UNITS.map((u) => `timedelta64[${u}]`),
  "datetime64[25s]",
  "timedelta64[10us]",
  "<datetime64[ns]",
  ">timedelta64[D]",
  "M8[generic]",
  // character codes, bare and with a byte order
  ..."?bBhHiIlLqQpPnNefdFDMmc".split(""),
  ...["<f", ">d", "=h", "|?", "<?", ">b", "=B", "<e", ">F", "|D"],
  // short type strings and every byte order spelling
  ...["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"],
  ...["<i1", ">u1", "=i1", "<b1", ">b1", "=b1", "|f4", "=f8", "<i4", ">i8", "|u2", "=c16"],
  ...["S1", "S5", "|S7", "<S3", "U1", "U3", "|U3", ">U2", "=U4", "V4", "|V8", "<V2"],
  ...["M8", "m8", "M8[ns]", "m8[s]", "|M8", "=m8[ms]", "<M8[10us]", ">m8[3h]", "M8[1D]"],
  // zero widths and multipliers NumPy takes (and saves), the largest multiplier it takes
  ...["S0", "|S0", "U0", ">U0", "V0", "M8[0s]", "m8[00D]", "M8[01s]", "m8[2147483647ns]"],
];

test(`normalizeDescr() gives np.dtype(name).str for ${NAMES.length} spellings (live NumPy)`, () => {
  const numpy = runPython<string[]>(
    `print(json.dumps([np.dtype(n).str for n in json.load(sys.stdin)]))`,
    NAMES,
  );
  const ours = NAMES.map((n) => normalizeDescr(n));
  assert.deepEqual(
    ours.map((d, i) => `${NAMES[i]} -> ${d}`),
    numpy.map((d, i) => `${NAMES[i]} -> ${d}`),
  );
  // The registry resolves each to a codec of that canonical descr and NumPy's itemsize.
  const sizes = runPython<number[]>(
    `print(json.dumps([np.dtype(n).itemsize for n in json.load(sys.stdin)]))`,
    NAMES,
  );
  for (const [i, name] of NAMES.entries()) {
    const dtype = defaultRegistry.resolve(name);
    assert.equal(dtype.descr, numpy[i], name);
    assert.equal(dtype.itemsize, sizes[i], name);
  }
});

test("names np.dtype() refuses are refused too, with typed errors (live NumPy)", () => {
  const refused = [
    "flaot32",
    "Float32",
    "FLOAT64",
    "int128",
    "float96",
    "<float32",
    ">int16",
    "=float64",
    "bool8",
    "int0",
    "float_",
    "complex_",
    "b2",
    "i16",
    "u3",
    "f1",
    "c4",
    "M8[]",
    "M8[parsec]",
    "M8[2147483648s]",
    "m8[-1s]",
    "datetime64[xs]",
    "bfloat16",
    "quaternion",
    "",
  ];
  const numpy = runPython<string[]>(
    `
out = []
for n in json.load(sys.stdin):
    try:
        np.dtype(n)
        out.append("accepted")
    except TypeError:
        out.append("TypeError")
print(json.dumps(out))`,
    refused,
  );
  assert.deepEqual(numpy, refused.map(() => "TypeError"));
  for (const name of refused) {
    assert.throws(() => normalizeDescr(name), NpyDtypeError, name);
    assert.throws(() => defaultRegistry.resolve(name), NpyDtypeError, name);
    assert.throws(
      () => encodeHeader({ descr: name, fortranOrder: false, shape: [1] }),
      NpyDtypeError,
      name,
    );
  }
});

test("names np.dtype() takes but the library does not are refused with the reason", () => {
  // Deliberate: long double differs by platform; flexible types without a size; object.
  for (const name of ["longdouble", "clongdouble", "float128", "complex256", "g", "G"]) {
    assert.throws(() => defaultRegistry.resolve(name), /long double is platform-dependent/);
  }
  for (const name of ["S", "U", "V", "str", "bytes", "void", "str_", "bytes_", "unicode"]) {
    assert.throws(() => defaultRegistry.resolve(name), /has no fixed size here: give one/);
  }
  for (const name of ["O", "object", "object_", "|O"]) {
    assert.equal(normalizeDescr(name), "|O");
    assert.throws(() => defaultRegistry.resolve(name), /object dtype holds pickled/);
  }
});

test("NumPy's deprecated 'a' alias is refused alike with or without a size, naming the 'S' spelling", () => {
  // NumPy 2 takes 'a' and 'a5' with a DeprecationWarning, as 'S': the message names what
  // NumPy makes of them. Refused everywhere a descr is taken, headers included.
  const numpy = runPython<[string, boolean][]>(
    `import warnings
out = []
for name in json.load(sys.stdin):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out.append([np.dtype(name).str, any(issubclass(x.category, DeprecationWarning) for x in w)])
print(json.dumps(out))`,
    ["a", "a5", "|a5", "<a2", "a0"],
  );
  assert.deepEqual(numpy, [["|S0", true], ["|S5", true], ["|S5", true], ["|S2", true], [
    "|S0",
    true,
  ]]);
  const cases: [string, string][] = [
    ["a", `use 'S' with a size, e.g. "|S8"`],
    ["a5", `use 'S' with the same size, "|S5"`],
    ["|a5", `use 'S' with the same size, "|S5"`],
    ["<a2", `use 'S' with the same size, "|S2"`],
    ["a0", `use 'S' with the same size, "|S0"`],
  ];
  for (const [name, hint] of cases) {
    const message = `Cannot resolve descr ${JSON.stringify(name)}: NumPy 2 deprecated the 'a' ` +
      `alias: ${hint}`;
    assert.throws(() => defaultRegistry.resolve(name), { name: "NpyDtypeError", message });
    assert.throws(() => normalizeDescr([["x", name]]), { name: "NpyDtypeError", message });
    assert.throws(
      () => encodeHeader({ descr: name, fortranOrder: false, shape: [1] }),
      NpyDtypeError,
    );
    assert.throws(() => encodeNpy([""], { descr: name }), NpyDtypeError);
  }
});

test("an unknown name gets the closest canonical spelling", () => {
  const cases: [string, RegExp][] = [
    ["flaot32", /^Cannot resolve descr "flaot32": did you mean "<f4" \(float32\)\?$/],
    ["Float32", /did you mean "<f4" \(float32\)\?/],
    ["unit8", /did you mean "\|u1" \(uint8\)\?/],
    ["itn64", /did you mean "<i8" \(int64\)\?/],
    ["comlex64", /did you mean "<c8" \(complex64\)\?/],
    ["datetime64[nss]", /unknown datetime unit 'nss'/],
    ["datetim64[ns]", /did you mean "<M8\[ns\]" \(datetime64\[ns\]\)\?/],
    ["timedelta", /did you mean "<m8" \(timedelta64\)\?/],
    ["boool", /did you mean "\|b1" \(bool\)\?/],
    ["doubel", /did you mean "<f8" \(float64\)\?/],
    ["quaternion", /not a NumPy type string such as "<f4" nor a dtype name/],
  ];
  for (const [name, pattern] of cases) {
    assert.throws(() => defaultRegistry.resolve(name), (e: unknown) => {
      assert.ok(e instanceof NpyDtypeError, name);
      assert.match(e.message, pattern, name);
      assert.equal(e.descr, name);
      return true;
    });
  }
});

test("a name whose type string NumPy refuses is named as written, not as the type string", () => {
  const cases: [string, RegExp][] = [
    ["datetime64[nss]", /^Cannot use descr "datetime64\[nss\]": unknown datetime unit 'nss'/],
    ["<timedelta64[3000000000s]", /^Cannot use descr "<timedelta64\[3000000000s\]": bad unit/],
  ];
  for (const [name, pattern] of cases) {
    assert.throws(() => normalizeDescr(name), (e: unknown) => {
      assert.ok(e instanceof NpyDtypeError, name);
      assert.match(e.message, pattern, name);
      assert.doesNotMatch(e.message, /"<?[Mm]8/, name); // not the spelling it became
      assert.equal(e.descr, name);
      return true;
    });
  }
});

test("encodeHeader() from a name equals NumPy's np.save header bytes (live NumPy)", () => {
  const specs: { descr: Descr; shape: number[] }[] = [
    { descr: "float32", shape: [3] },
    { descr: "int16", shape: [2, 3] },
    { descr: "uint8", shape: [4] },
    { descr: "bool", shape: [1] },
    { descr: "complex64", shape: [2] },
    { descr: "float16", shape: [0] },
    { descr: "datetime64[ns]", shape: [2] },
    { descr: "timedelta64[s]", shape: [5] },
    { descr: "f4", shape: [3] },
    { descr: "i8", shape: [3] },
    { descr: "S5", shape: [3] },
    { descr: "U3", shape: [3] },
    { descr: "b", shape: [3] },
    { descr: "?", shape: [3] },
    { descr: "double", shape: [2, 2] },
    { descr: "=f8", shape: [1] },
    { descr: "<i1", shape: [1] },
    { descr: "|U2", shape: [1] },
    { descr: [["t", "int64"], ["xy", "float32", [2]], ["ok", "?"]], shape: [2] },
    { descr: [["c", { base: "double", shape: [5] }, [2]]], shape: [1] },
  ];
  const numpy = runPython<string[]>(
    `
import base64, io
from numpy.lib import format as fmt
def descr(d):
    if isinstance(d, str):
        return d
    if isinstance(d, dict):
        return (descr(d["base"]), tuple(d["shape"]))
    return [tuple([f[0], descr(f[1])] + ([tuple(f[2])] if len(f) == 3 else [])) for f in d]
out = []
for s in json.load(sys.stdin):
    d = s["descr"]
    dt = np.dtype(descr(d) if not isinstance(d, str) else d)
    buf = io.BytesIO()
    np.save(buf, np.zeros(s["shape"], dt))
    raw = buf.getvalue()
    out.append(base64.b64encode(raw[: 10 + int.from_bytes(raw[8:10], "little")]).decode())
print(json.dumps(out))`,
    specs,
  );
  for (const [i, spec] of specs.entries()) {
    const ours = encodeHeader({ descr: spec.descr, fortranOrder: false, shape: spec.shape });
    const theirs = Uint8Array.from(atob(numpy[i]!), (c) => c.charCodeAt(0));
    assert.equal(
      new TextDecoder().decode(ours),
      new TextDecoder().decode(theirs),
      JSON.stringify(spec),
    );
    assert.deepEqual(ours, theirs);
  }
});

test("writers, encodeNpy and saveNpy take names and write the canonical descr", async () => {
  const { dir, cleanup } = makeTempDir("npy-names-");
  try {
    const paths = {
      writer: join(dir, "writer.npy"),
      record: join(dir, "record.npy"),
      save: join(dir, "save.npy"),
      saveSync: join(dir, "save_sync.npy"),
    };
    {
      await using w = await NpyAppendArray.open(paths.writer, { descr: "float32", shape: [0, 2] });
      assert.equal(w.descr, "<f4");
      await w.append([[1.5, 2.5], [3, 4]]);
    }
    {
      await using w = await NpyAppendArray.open(paths.record, {
        descr: [["t", "int64"], ["v", "double", [2]], ["ok", "bool"]],
      });
      assert.deepEqual(w.descr, [["t", "<i8"], ["v", "<f8", [2]], ["ok", "|b1"]]);
      await w.append([{ t: 1n, v: [0.5, -1], ok: true }]);
    }
    {
      // Reopening with the name of the file's dtype matches it; another name does not.
      await using w = await NpyAppendArray.open(paths.writer, { descr: "f4" });
      await w.append([[5, 6]]);
    }
    await assert.rejects(NpyAppendArray.open(paths.writer, { descr: "float64" }), NpyDtypeError);
    await saveNpy(paths.save, [1, 2, 3], { descr: "int16" });
    saveNpySync(paths.saveSync, [[true, false]], { descr: "?" });
    const bytes = encodeNpy({ data: Int32Array.of(7, 8), shape: [2] }, { descr: "i" });
    assert.equal(parseHeader(bytes).descr, "<i4");
    for (const path of Object.values(paths)) {
      const text = new TextDecoder().decode(readFileSync(path).subarray(0, 128));
      assert.doesNotMatch(text, /float|int|bool|double|'\?'/, path);
    }
    const got = runPython<Record<string, [string, number[], string]>>(
      `
out = {}
for k, p in json.load(sys.stdin).items():
    a = np.load(p, mmap_mode="r")
    values = a.tolist() if a.dtype.names is None else {n: a[n].tolist() for n in a.dtype.names}
    out[k] = [str(np.lib.format.dtype_to_descr(a.dtype)), list(a.shape), repr(values)]
print(json.dumps(out))`,
      paths,
    );
    assert.deepEqual(got.writer, ["<f4", [3, 2], "[[1.5, 2.5], [3.0, 4.0], [5.0, 6.0]]"]);
    assert.deepEqual(got.record, [
      "[('t', '<i8'), ('v', '<f8', (2,)), ('ok', '|b1')]",
      [1],
      "{'t': [1], 'v': [[0.5, -1.0]], 'ok': [True]}",
    ]);
    assert.deepEqual(got.save, ["<i2", [3], "[1, 2, 3]"]);
    assert.deepEqual(got.saveSync, ["|b1", [1, 2], "[[True, False]]"]);
  } finally {
    cleanup();
  }
});

test("encodeHeader, encodeNpy and saveNpy refuse a version other than 1, 2 or 3 at run time", async () => {
  const { dir, cleanup } = makeTempDir("npy-version-");
  try {
    const existing = join(dir, "existing.npy");
    writeFileSync(existing, encodeNpy([1, 2], { descr: "<f8" }));
    const before = readFileSync(existing);
    // Each refusal names the value as given and the allowed set.
    const shown: [unknown, string][] = [
      [0, "0"],
      [4, "4"],
      [255, "255"],
      [1.5, "1.5"],
      [-1, "-1"],
      [NaN, "NaN"],
      ["2", '"2"'],
      [2n, "2n"],
      [null, "null"],
      [{ major: 1 }, "an object"],
    ];
    for (const [version, text] of shown) {
      const v = version as unknown as 1;
      const message = new RegExp(
        `: version ${
          text.replace(/[.]/g, "\\.")
        } is not a \\.npy format version \\(expected 1, 2 or 3\\)$`,
      );
      const check = (e: unknown) => e instanceof RangeError && message.test(e.message);
      assert.throws(
        () => encodeHeader({ descr: "<f4", fortranOrder: false, shape: [1] }, { version: v }),
        check,
        text,
      );
      assert.throws(() => encodeNpy([1], { descr: "<f4", version: v }), check);
      const fresh = join(dir, `v${text}.npy`);
      await assert.rejects(saveNpy(fresh, [1], { version: v }), check);
      assert.throws(() => saveNpySync(fresh, [1], { version: v }), check);
      assert.equal(existsSync(fresh), false, "nothing written");
      await assert.rejects(saveNpy(existing, [9], { version: v }), check);
      assert.throws(() => saveNpySync(existing, [9], { version: v }), check);
      assert.deepEqual(readFileSync(existing), before, "existing file unchanged");
    }
    for (const version of [1, 2, 3] as const) {
      assert.equal(encodeNpy([1], { descr: "<f4", version })[6], version);
    }
  } finally {
    cleanup();
  }
});

test("a malformed Descr value gives NpyDtypeError, never a raw TypeError", async () => {
  const { dir, cleanup } = makeTempDir("npy-malformed-");
  try {
    const existing = join(dir, "existing.npy");
    writeFileSync(existing, encodeNpy([1, 2], { descr: "<f8" }));
    const before = readFileSync(existing);
    const malformed: unknown[] = [
      [["a", "<f4", 3]],
      [["a", "<f4", [1.5]]],
      [["a", "<f4", [-1]]],
      [["a", "<f4", "3"]],
      [["a"]],
      [["a", "<f4", [2], "extra"]],
      [[1, "<f4"]],
      [[["title"], "<f4"]],
      [["a", 42]],
      [["a", null]],
      [["a", { base: "<f4" }]],
      [["a", { base: "<f4", shape: 3 }]],
      [["a", { base: "<f4", shape: [2], extra: 1 }]],
      [["a", {}]],
      ["<f4"],
      [null],
      { base: "<f4", shape: [2] },
      42,
      {},
    ];
    for (const descr of malformed) {
      const what = JSON.stringify(descr);
      const d = descr as Descr;
      assert.throws(() => encodeNpy([{ a: 1 }], { descr: d }), NpyDtypeError, what);
      assert.throws(() => defaultRegistry.resolve(d), NpyDtypeError, what);
      assert.throws(
        () => encodeHeader({ descr: d, fortranOrder: false, shape: [1] }),
        NpyDtypeError,
        what,
      );
      await assert.rejects(saveNpy(existing, [{ a: 1 }], { descr: d }), NpyDtypeError, what);
      assert.throws(() => saveNpySync(existing, [{ a: 1 }], { descr: d }), NpyDtypeError, what);
      assert.deepEqual(readFileSync(existing), before, what);
    }
  } finally {
    cleanup();
  }
});

test("npy concat and append take files whose descrs differ only in spelling ('<i1' and '|i1')", async () => {
  const { dir, cleanup } = makeTempDir("npy-cli-names-");
  try {
    // A foreign writer's spellings: '<i1' and 'i1' are NumPy's '|i1'; '<f8' stays apart.
    const file = (name: string, descr: string, data: number[]) => {
      const path = join(dir, name);
      const header = encodeHeader({ descr: "|i1", fortranOrder: false, shape: [data.length] });
      // Same header length: "'i1' " keeps the byte count of "'|i1'".
      const text = String.fromCharCode(...header).replace("'|i1'", `'${descr}'`.padEnd(5));
      const bytes = new Uint8Array(header.length + data.length);
      bytes.set(Uint8Array.from(text, (ch) => ch.charCodeAt(0)));
      bytes.set(new Uint8Array(Int8Array.from(data).buffer), header.length);
      writeFileSync(path, bytes);
      return path;
    };
    const a = file("a.npy", "|i1", [1, 2]);
    const b = file("b.npy", "<i1", [-3]);
    const c = file("c.npy", "i1", [4]);
    const out = join(dir, "out.npy");
    const quiet = { stdout: () => {}, stderr: () => {} };
    assert.equal(await main(["concat", "-q", out, a, b, c], quiet), 0);
    assert.equal(await main(["append", "-q", a, b], quiet), 0);
    const f8 = join(dir, "f8.npy");
    saveNpySync(f8, [1], { descr: "<f8" });
    let err = "";
    assert.equal(
      await main(["append", "-q", a, f8], { stdout: () => {}, stderr: (t) => void (err += t) }),
      1,
    );
    assert.match(err, /does not match/);
    const got = runPython<[string, number[]][]>(
      `print(json.dumps([[a.dtype.str, a.tolist()] for a in map(np.load, json.load(sys.stdin))]))`,
      [out, a],
    );
    assert.deepEqual(got, [["|i1", [1, 2, -3, 4]], ["|i1", [1, 2, -3]]]);
  } finally {
    cleanup();
  }
});
