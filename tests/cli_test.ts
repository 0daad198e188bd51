/**
 * The `npy` command end to end, on files NumPy wrote: most cases call `main()` in-process
 * (quick under three runtimes), a representative few run the command as a subprocess with
 * the runtime running the tests (`deno run -A cli.ts`, `bun cli.ts`, `node dist/cli.js`),
 * and under Node the npm bin symlink too. Every file the command writes is checked by NumPy
 * in one batched python3 call at the end.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { main } from "../cli.ts";
import { encodeHeader, NpyAppendArray, saveNpySync } from "../mod.ts";
import { makeTempDir, ROOT, runPython } from "./_util.ts";
import { cliCommand } from "./_fault_util.ts";

const runtime = (globalThis as { Deno?: unknown }).Deno
  ? "deno"
  : (globalThis as { Bun?: unknown }).Bun
  ? "bun"
  : "node";

let dir = "";
let cleanup = () => {};
/** Per dtype file: NumPy's text for each element, as `npy head` must print it. */
let expected: Record<string, string[]> = {};
/** Files the command wrote, checked by NumPy at the end. */
const checks: Array<Record<string, unknown>> = [];

const p = (name: string) => join(dir, name);

interface Run {
  code: number;
  out: string;
  err: string;
}

async function npy(args: string[], options: { isTTY?: boolean; signal?: AbortSignal } = {}) {
  const run: Run = { code: -1, out: "", err: "" };
  run.code = await main(args, {
    stdout: (t) => {
      run.out += t;
    },
    stderr: (t) => {
      run.err += t;
    },
    isTTY: options.isTTY ?? false,
    columns: 80,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return run;
}

/** Exit code 1 or 2 with exactly one line on stderr, and no stack trace. */
function assertOneLine(run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, run.err);
  assert.equal(run.err.split("\n").length, 2, `one line expected: ${JSON.stringify(run.err)}`);
  assert.ok(run.err.endsWith("\n"));
  assert.doesNotMatch(run.err, /\n\s+at /);
  assert.match(run.err, pattern);
}

function tempLeftovers(): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".tmp"));
}

const SETUP = String.raw`
d = json.load(sys.stdin)["dir"]
p = lambda n: d + "/" + n
rng = np.random.default_rng(7)
np.save(p("c1.npy"), rng.standard_normal((5, 3)))
np.save(p("c2.npy"), rng.standard_normal((2, 3)))
np.save(p("c0.npy"), np.zeros((0, 3)))
np.save(p("f1.npy"), np.asfortranarray(rng.integers(-99, 99, (2, 3, 4)).astype("<i4")))
np.save(p("f2.npy"), np.asfortranarray(rng.integers(-99, 99, (2, 3, 5)).astype("<i4")))
np.save(p("i4.npy"), np.arange(6, dtype="<i4").reshape(2, 3))
np.save(p("c4.npy"), np.zeros((2, 4)))
np.save(p("cf.npy"), np.asfortranarray(np.zeros((3, 2))))
np.save(p("big1.npy"), rng.standard_normal((600_000, 2)))
np.save(p("big2.npy"), rng.standard_normal((500_001, 2)))
np.save(p("obj.npy"), np.array([1, "a"], dtype=object), allow_pickle=True)
np.save(p("zerod.npy"), np.float64(2.5))
rec = np.zeros(2, dtype=[("t", "<M8[ms]"), ("price", "<f8"), ("xy", "<f4", (2,)),
                          ("flag", "?"), ("sym", "S4"), ("z", "<c8")])
rec["t"] = [np.datetime64("2024-03-01T09:30:00.125"), np.datetime64("NaT")]
rec["price"] = [101.25, -0.5]
rec["xy"] = [[1, 2], [0.1, 3e7]]
rec["flag"] = [True, False]
rec["sym"] = [b"AB", b"x'y"]
rec["z"] = [1 + 2j, -3j]
np.save(p("rec.npy"), rec)
n = 40
arrays = {}
def bits(dtype, count):
    return np.frombuffer(rng.bytes(np.dtype(dtype).itemsize * count), dtype=dtype)
arrays["b1"] = rng.integers(0, 2, n).astype("?")
for t in ["i1", "u1", "<i2", ">u2", "<i4", "<u4", "<i8", ">u8"]:
    arrays[t] = bits(t, n)
for t in ["<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]:
    a = bits(t, n).copy()
    a[:8] = [0, -0.0, np.inf, -np.inf, 1, 1e-4, 1e3, 65504 if "2" in t else 1e16]
    a[8:16] = (rng.standard_normal(8) * 10.0 ** rng.integers(-6, 8, 8)).astype(t)
    arrays[t] = a
for t in ["<c8", ">c16"]:
    a = (bits(t, n)).copy()
    a[:6] = [0, 2j, -0.5j, 1.5 - 0j, complex(-0.0, 0), complex(np.nan, np.inf)]
    a[6:20] = (rng.standard_normal(14) * 1e3 + 1j * rng.standard_normal(14)).astype(t)
    arrays[t] = a
arrays["S5"] = np.array([bytes(rng.integers(0, 256, int(rng.integers(0, 6))).tolist())
                         for _ in range(n)] + [b"it's", b'"q"', b"\\"], dtype="S5")
words = ["", "a", "h\u00e9", "it's", "z\u00e9\u00e8", "\U0001F600x", 'say "hi"', "tab\tnl\n"]
arrays["<U4"] = np.array([words[i % len(words)][:4] for i in range(n)], dtype="<U4")
arrays["|V3"] = bits("V3", n)
ranges = {"Y": 10**4, "M": 10**5, "W": 4 * 10**5, "D": 3 * 10**6, "h": 10**8, "m": 10**9,
          "s": 10**11, "ms": 10**14, "us": 10**17, "ns": 2**62, "ps": 2**62, "fs": 2**62,
          "as": 2**62, "10s": 10**10}
for u, r in ranges.items():
    v = rng.integers(-r, r, n)
    v[0] = np.iinfo(np.int64).min  # NaT
    v[1] = 0
    v[2] = -1
    arrays["<M8[" + u + "]"] = v.astype("<M8[" + u + "]")
for u in ["s", "ms", "D", "10s", "ns"]:
    v = rng.integers(-10**6, 10**6, n)
    v[0] = np.iinfo(np.int64).min
    arrays["<m8[" + u + "]"] = v.astype("<m8[" + u + "]")
def text(x, kind):
    if kind == "S":
        return repr(bytes(x))
    if kind == "U":
        return repr(str(x))
    if kind == "M":
        return "'" + str(x) + "'"
    return str(x)
expected = {}
for i, (t, a) in enumerate(arrays.items()):
    name = "dtype%02d.npy" % i
    np.save(p(name), a)
    expected[name] = [text(x, a.dtype.kind) for x in a]
print(json.dumps(expected))
`;

const VERIFY = String.raw`
checks = json.load(sys.stdin)
results = []
for c in checks:
    out = np.load(c["out"], mmap_mode="r")
    if c["op"] == "concat":
        want = np.concatenate([np.load(f) for f in c["ins"]], axis=c["axis"])
    elif c["op"] == "append":
        want = np.concatenate([np.load(f) for f in [c["orig"]] + c["ins"]], axis=c["axis"])
    elif c["op"] == "prefix":
        full = np.load(c["orig"])
        want = full[: c["rows"]]
    elif c["op"] == "same":
        want = np.load(c["orig"])
    ok = (out.dtype == want.dtype and out.shape == want.shape
          and np.array_equal(out, want, equal_nan=True)
          and bool(out.flags.f_contiguous) == bool(want.flags.f_contiguous)
          or (out.ndim < 2 and out.dtype == want.dtype and out.shape == want.shape
              and np.array_equal(out, want, equal_nan=True)))
    results.append([c["out"], bool(ok), str(out.shape), str(want.shape)])
print(json.dumps(results))
`;

before(() => {
  ({ dir, cleanup } = makeTempDir("npy-cli-"));
  expected = runPython<Record<string, string[]>>(SETUP, { dir });
});

after(() => cleanup());

test("npy --help, help <command>, <command> --help and --version exit 0", async () => {
  const help = await npy(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^npy \d+\.\d+\.\d+: /);
  for (const name of ["info", "head", "tail", "recover", "ensure-appendable", "concat", "append"]) {
    assert.match(help.out, new RegExp(`\\n  ${name} `), name);
    const one = await npy([name, "--help"]);
    assert.equal(one.code, 0, name);
    assert.match(one.out, new RegExp(`^Usage: npy ${name} `), name);
    assert.deepEqual(await npy(["help", name]), one);
  }
  assert.match(help.out, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}130 /);
  const version = await npy(["--version"]);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  assert.deepEqual(version, { code: 0, out: `${pkg.version}\n`, err: "" });
});

test("usage errors exit 2 with one line: unknown command/subcommand/option, missing FILE, bad -n", async () => {
  assertOneLine(await npy(["frobnicate"]), 2, /^npy: unknown command 'frobnicate'/);
  assertOneLine(await npy(["--bogus"]), 2, /^npy: unknown option '--bogus'/);
  assertOneLine(await npy(["info", "--bogus", p("c1.npy")]), 2, /^npy info: unknown option/);
  assertOneLine(await npy(["head"]), 2, /^npy head: missing FILE \(usage: npy head /);
  assertOneLine(await npy(["concat", p("x.npy")]), 2, /^npy concat: missing IN/);
  assertOneLine(await npy(["concat"]), 2, /^npy concat: missing OUT \(usage: npy concat OUT IN/);
  // A stack subcommand other than merge is unknown, whatever follows it; not a "missing" one.
  const usage = /\(usage: npy stack merge OUT DIR\.\.\. \[--move\]\)$/m;
  for (const args of [["stack", "frob"], ["stack", "OUT", "DIR"], ["stack", "frob", "a", "b"]]) {
    const run = await npy(args);
    assertOneLine(run, 2, new RegExp(`^npy stack: unknown stack command "${args[1]}" `));
    assert.match(run.err, usage);
  }
  assertOneLine(await npy(["stack"]), 2, /^npy stack: missing the stack command \(usage/);
  assertOneLine(await npy(["stack", "merge"]), 2, /^npy stack: missing OUT \(usage/);
  assertOneLine(await npy(["stack", "merge", p("m")]), 2, /^npy stack: missing DIR \(usage/);
  assertOneLine(await npy(["head", p("c1.npy"), p("c2.npy")]), 2, /too many arguments/);
  assertOneLine(await npy(["head", "-n", "ten", p("c1.npy")]), 2, /-n needs a whole number/);
  assertOneLine(await npy(["tail", p("c1.npy"), "-n"]), 2, /^npy tail: .*-n/);
  const bare = await npy([]);
  assert.equal(bare.code, 2);
  assert.match(bare.err, /^npy \d/);
});

test("info prints the header facts of NumPy-written files, C and Fortran order", async () => {
  const run = await npy(["info", p("c1.npy"), p("f1.npy")]);
  assert.equal(run.code, 0, run.err);
  assert.equal(run.err, "");
  const [c = "", f = ""] = run.out.split("\n\n");
  assert.match(c, /^.*c1\.npy\n {2}version {9}1\.0\n {2}descr {11}'<f8'\n {2}shape {11}\(5, 3\)\n/);
  assert.match(
    c,
    /fortran order {3}False\n {2}rows {12}5 \(along axis 0\)\n {2}data offset {5}128\n/,
  );
  assert.match(c, /data bytes {6}120 \(120 B\)\n {2}file bytes {6}248\n {2}appendable {6}yes\n/);
  assert.match(c, /needs recovery {2}no$/);
  assert.match(
    f,
    /shape {11}\(2, 3, 4\)\n {2}fortran order {3}True\n {2}rows {12}4 \(along axis 2\)/,
  );
});

test("info --json: one array for scripts; a bad file gets an error entry and exit 1", async () => {
  const run = await npy(["info", "--json", p("rec.npy"), p("missing.npy"), p("zerod.npy")]);
  assert.equal(run.code, 1);
  assert.equal(
    run.err,
    `npy info: Cannot open ${JSON.stringify(p("missing.npy"))}: no such file ` +
      `or directory (ENOENT)\n`,
  );
  const [rec, missing, zerod] = JSON.parse(run.out);
  assert.equal(rec.version, "1.0");
  assert.deepEqual(rec.descr[0], ["t", "<M8[ms]"]);
  assert.match(
    rec.descrText,
    /^\[\('t', '<M8\[ms\]'\), \('price', '<f8'\), \('xy', '<f4', \(2,\)\)/,
  );
  assert.deepEqual(rec.shape, [2]);
  assert.equal(rec.rows, 2);
  assert.equal(rec.fileBytes, statSync(p("rec.npy")).size);
  assert.equal(rec.dataOffset + rec.dataBytes, rec.fileBytes);
  assert.equal(rec.appendable, true);
  assert.equal(rec.needsRecovery, false);
  assert.deepEqual(missing, { path: p("missing.npy"), error: missing.error });
  assert.deepEqual(zerod.shape, []);
  assert.equal(zerod.appendable, false);
  assert.equal(zerod.growthAxis, -1);
});

test("info on a cut file exits 0 and says it needs recovery", async () => {
  copyFileSync(p("c1.npy"), p("cut_info.npy"));
  truncateSync(p("cut_info.npy"), 128 + 3 * 24 + 5);
  const run = await npy(["info", p("cut_info.npy")]);
  assert.equal(run.code, 0, run.err);
  assert.match(
    run.out,
    /needs recovery {2}yes: the data is 77 bytes but the header claims 120; recover keeps 3 rows \(npy recover ".*cut_info\.npy"\)/,
  );
});

test("head prints every dtype as NumPy prints its scalars (40 values per dtype)", async () => {
  const names = Object.keys(expected);
  assert.ok(names.length >= 35, `${names.length} dtype files`);
  for (const name of names) {
    const run = await npy(["head", "-n", "100", p(name)]);
    assert.equal(run.code, 0, `${name}: ${run.err}`);
    const got = run.out.trimEnd().split("\n").map((line) => line.replace(/^ *\d+ {2}/, ""));
    const info = await npy(["info", "--json", p(name)]);
    assert.deepEqual(got, expected[name], `${name} ${JSON.parse(info.out)[0].descrText}`);
  }
});

test("head prints records as objects, subarrays as lists; tail takes the last rows", async () => {
  const run = await npy(["head", p("rec.npy")]);
  assert.equal(run.code, 0, run.err);
  assert.equal(
    run.out,
    "0  {t: '2024-03-01T09:30:00.125', price: 101.25, xy: [1.0, 2.0], flag: True, " +
      "sym: b'AB', z: (1+2j)}\n" +
      "1  {t: 'NaT', price: -0.5, xy: [0.1, 3e+07], flag: False, sym: b\"x'y\", z: (-0-3j)}\n",
  );
  const tail = await npy(["tail", "-n", "2", p("c1.npy")]);
  assert.deepEqual(tail.out.split("\n").map((l) => l.slice(0, 3)), ["3  ", "4  ", ""]);
  assert.deepEqual((await npy(["head", "-n", "0", p("c1.npy")])).out, "");
  assert.equal((await npy(["tail", "-n", "99", p("c1.npy")])).out.split("\n").length, 6);
  assert.equal((await npy(["head", "-n5", p("c0.npy")])).out, "[]\n"); // as NumPy prints it
  assert.equal((await npy(["head", p("zerod.npy")])).out, "2.5\n");
});

test("head and tail of a Fortran-order file print a[..., i] as nested rows", async () => {
  const truth = runPython<string[]>(
    `a = np.load(json.load(sys.stdin))\n` +
      `print(json.dumps([str(a[..., i].tolist()) for i in range(a.shape[-1])]))`,
    p("f1.npy"),
  );
  const head = await npy(["head", p("f1.npy")]);
  assert.deepEqual(head.out.trimEnd().split("\n").map((l) => l.slice(3)), truth);
  const tail = await npy(["tail", "--rows=1", p("f1.npy")]);
  assert.equal(tail.out, `3  ${truth[3]}\n`);
});

test("head of a cut file warns and prints the complete rows; bad files exit 1", async () => {
  copyFileSync(p("c1.npy"), p("cut_head.npy"));
  truncateSync(p("cut_head.npy"), 128 + 2 * 24 + 1);
  const run = await npy(["tail", p("cut_head.npy")]);
  assert.equal(run.code, 0);
  assert.match(
    run.err,
    /^npy tail: warning: .* needs recovery .*; showing only its 2 complete rows\n$/,
  );
  assert.equal(run.out.split("\n").length, 3);
  writeFileSync(p("text.npy"), "not an npy file at all\n");
  assertOneLine(await npy(["head", p("text.npy")]), 1, /^npy head: Cannot .*"/);
  assertOneLine(await npy(["head", p("obj.npy")]), 1, /object dtype/);
  mkdirSync(p("dir.npy"));
  assertOneLine(
    await npy(["info", p("dir.npy")]),
    1,
    /^npy info: Cannot read ".*dir\.npy": is a dir/,
  );
  writeFileSync(p("empty.npy"), "");
  assertOneLine(await npy(["head", p("empty.npy")]), 1, /^npy head: Cannot parse the header of/);
  assertOneLine(
    await npy(["tail", p("nope.npy")]),
    1,
    /^npy tail: Cannot open ".*nope\.npy": no such/,
  );
});

test("recover --dry-run writes nothing; recover fixes a cut file; --zero-fill keeps the row", async () => {
  copyFileSync(p("c1.npy"), p("cut.npy"));
  truncateSync(p("cut.npy"), 128 + 3 * 24 + 5);
  const before = readFileSync(p("cut.npy"));
  const dry = await npy(["recover", "--dry-run", p("cut.npy")]);
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /^would recover ".*cut\.npy": 5 -> 3 rows, 5 bytes dropped \(dry run\)\n$/);
  assert.deepEqual(readFileSync(p("cut.npy")), before);
  const dryZero = await npy(["recover", "--dry-run", "--zero-fill", p("cut.npy")]);
  assert.match(dryZero.out, /5 -> 4 rows, 19 zero bytes added/);
  const run = await npy(["recover", p("cut.npy")]);
  assert.match(run.out, /^recovered ".*cut\.npy": 5 -> 3 rows, 5 bytes dropped\n$/);
  checks.push({ op: "prefix", out: p("cut.npy"), orig: p("c1.npy"), rows: 3 });
  const again = await npy(["recover", p("cut.npy")]);
  assert.match(again.out, /needs no recovery: 3 rows/);
  copyFileSync(p("c1.npy"), p("cutz.npy"));
  truncateSync(p("cutz.npy"), 128 + 3 * 24 + 8);
  const zero = await npy(["recover", "--zero-fill", p("cutz.npy")]);
  assert.match(zero.out, /5 -> 4 rows, 16 zero bytes added/);
  const rows = runPython<number[][]>(
    `print(json.dumps(np.load(json.load(sys.stdin)).tolist()))`,
    p("cutz.npy"),
  );
  assert.equal(rows.length, 4);
  assert.equal(rows[3]?.[1], 0);
  assert.equal((await npy(["recover", "-q", p("cutz.npy")])).out, "");
  assertOneLine(await npy(["recover", p("text.npy")]), 1, /^npy recover: Cannot /);
});

function oldHeaderFile(name: string): void {
  // What NumPy < 1.24 wrote: a header aligned to 16 bytes, with no room to grow.
  const header = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [4, 2] }, {
    totalLength: 80,
  });
  const data = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]);
  writeFileSync(p(name), Buffer.concat([header, new Uint8Array(data.buffer)]));
}

test("ensure-appendable gives an old header room (copy and --in-place); then append works", async () => {
  oldHeaderFile("old.npy");
  oldHeaderFile("old_ref.npy");
  oldHeaderFile("old2.npy");
  assert.match((await npy(["info", p("old.npy")])).out, /appendable {6}no: .*ensure-appendable/);
  const refused = await npy(["append", p("old.npy"), p("old_ref.npy")]);
  assertOneLine(refused, 1, /no room to grow; run npy ensure-appendable/);
  const run = await npy(["ensure-appendable", p("old.npy")]);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /^made ".*old\.npy" appendable: header 80 -> 128 bytes\n$/);
  assert.match((await npy(["ensure-appendable", p("old.npy")])).out, /is already appendable/);
  const inPlace = await npy(["ensure-appendable", "--in-place", p("old2.npy")]);
  assert.match(inPlace.out, /header 80 -> 128 bytes \(data shifted in place\)/);
  checks.push({ op: "same", out: p("old.npy"), orig: p("old_ref.npy") });
  checks.push({ op: "same", out: p("old2.npy"), orig: p("old_ref.npy") });
  assertOneLine(await npy(["ensure-appendable", p("zerod.npy")]), 1, /0-d array/);
});

test("concat joins C-order files (a 0-row one too) as np.concatenate does", async () => {
  const ins = [p("c1.npy"), p("c0.npy"), p("c2.npy"), p("c1.npy")];
  const run = await npy(["concat", p("cat_c.npy"), ...ins]);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /^wrote ".*cat_c\.npy": 12 rows from 4 files, shape \(12, 3\), '<f8', /);
  checks.push({ op: "concat", out: p("cat_c.npy"), ins, axis: 0 });
  assert.deepEqual(tempLeftovers(), []);
});

test("concat joins Fortran-order files along the last axis", async () => {
  const ins = [p("f1.npy"), p("f2.npy")];
  const run = await npy(["concat", p("cat_f.npy"), ...ins]);
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /9 rows from 2 files, shape \(2, 3, 9\), '<i4'/);
  checks.push({ op: "concat", out: p("cat_f.npy"), ins, axis: -1 });
});

test("concat streams files larger than its 8 MiB block, with a progress bar on a TTY", async () => {
  const ins = [p("big1.npy"), p("big2.npy")];
  const run = await npy(["concat", p("cat_big.npy"), ...ins], { isTTY: true });
  assert.equal(run.code, 0, run.err);
  assert.match(run.err, /^\rconcat \[[#-]+\] +\d+%/);
  assert.match(run.err, /\rconcat \[#+\] 100% {2}16\.8 MiB \/ 16\.8 MiB/);
  assert.ok(run.err.endsWith("\r"), "the bar is cleared at the end");
  checks.push({ op: "concat", out: p("cat_big.npy"), ins, axis: 0 });
  const quiet = await npy(["concat", "-q", "--force", p("cat_big.npy"), ...ins], { isTTY: true });
  assert.deepEqual(quiet, { code: 0, out: "", err: "" });
});

test("concat validates every input before writing anything", async () => {
  const out = p("cat_bad.npy");
  const cases: Array<[string[], RegExp]> = [
    [[p("c1.npy"), p("i4.npy")], /descr '<i4' does not match '<f8'/],
    [[p("c1.npy"), p("c4.npy")], /row shape \(4,\) does not match \(3,\)/],
    [[p("c1.npy"), p("cf.npy")], /fortran order True does not match False/],
    [[p("c1.npy"), p("cut_info.npy")], /needs recovery .*npy recover/],
    [[p("c1.npy"), p("zerod.npy")], /0-d array/],
    [[p("c1.npy"), p("missing.npy")], /Cannot open ".*missing\.npy": no such file/],
    [[p("c1.npy"), p("text.npy")], /^npy concat: Cannot /],
  ];
  for (const [ins, pattern] of cases) {
    assertOneLine(await npy(["concat", out, ...ins]), 1, pattern);
    assert.equal(existsSync(out), false);
  }
  assertOneLine(
    await npy(["concat", p("cat_c.npy"), p("c1.npy")]),
    1,
    /Cannot write ".*cat_c\.npy": the file exists \(pass --force/,
  );
  const forced = await npy(["concat", "--force", p("cat_c2.npy"), p("c2.npy")]);
  assert.equal(forced.code, 0);
  assert.deepEqual(tempLeftovers(), []);
});

test("concat stopped by a signal exits 130, leaves no OUT, no temp file and no lock", async () => {
  const controller = new AbortController();
  controller.abort(new DOMException("Interrupted", "AbortError"));
  const run = await npy(["concat", p("cat_abort.npy"), p("big1.npy")], {
    signal: controller.signal,
  });
  assertOneLine(run, 130, /^npy concat: interrupted$/m);
  assert.equal(existsSync(p("cat_abort.npy")), false);
  assert.equal(existsSync(p("cat_abort.npy.lock")), false);
  assert.deepEqual(tempLeftovers(), []);
});

test("append adds the rows of NumPy files to an existing file, C and Fortran order", async () => {
  copyFileSync(p("c2.npy"), p("app_c.npy"));
  const ins = [p("c1.npy"), p("c0.npy"), p("c2.npy")];
  const run = await npy(["append", p("app_c.npy"), ...ins]);
  assert.equal(run.code, 0, run.err);
  // The inputs and the target are named, as given.
  const [c1, c0, c2] = ins.map((i) => JSON.stringify(i));
  assert.equal(
    run.out,
    `appended 7 rows from ${c1}, ${c0} and ${c2} to ${JSON.stringify(p("app_c.npy"))}: ` +
      `now 9 rows, shape (9, 3)\n`,
  );
  checks.push({ op: "append", out: p("app_c.npy"), orig: p("c2.npy"), ins, axis: 0 });
  copyFileSync(p("f2.npy"), p("app_f.npy"));
  const f = await npy(["append", p("app_f.npy"), p("f1.npy"), p("f1.npy")]);
  assert.match(f.out, /now 13 rows, shape \(2, 3, 13\)/);
  checks.push({
    op: "append",
    out: p("app_f.npy"),
    orig: p("f2.npy"),
    ins: [p("f1.npy"), p("f1.npy")],
    axis: -1,
  });
  copyFileSync(p("big2.npy"), p("app_big.npy"));
  const big = await npy(["append", p("app_big.npy"), p("big1.npy")], { isTTY: true });
  assert.match(big.err, /\rappend \[#+\] 100%/);
  checks.push({
    op: "append",
    out: p("app_big.npy"),
    orig: p("big2.npy"),
    ins: [p("big1.npy")],
    axis: 0,
  });
});

test("append validates every input first and leaves OUT unchanged on a mismatch", async () => {
  copyFileSync(p("c2.npy"), p("app_bad.npy"));
  const before = readFileSync(p("app_bad.npy"));
  const cases: Array<[string[], RegExp]> = [
    [[p("c1.npy"), p("i4.npy")], /descr '<i4' does not match '<f8'/],
    [[p("c1.npy"), p("c4.npy")], /row shape \(4,\) does not match \(3,\)/],
    [[p("cf.npy")], /fortran order True does not match False/],
    [[p("cut_info.npy")], /needs recovery/],
    [[p("app_bad.npy")], /Cannot append ".*app_bad\.npy" to itself/],
    [[p("nope.npy")], /no such file/],
  ];
  for (const [ins, pattern] of cases) {
    assertOneLine(await npy(["append", p("app_bad.npy"), ...ins]), 1, pattern);
    assert.deepEqual(readFileSync(p("app_bad.npy")), before);
  }
  assertOneLine(await npy(["append", p("nothere.npy"), p("c1.npy")]), 1, /no such file/);
  assert.equal(existsSync(p("nothere.npy")), false);
});

test("head summarises rows of more than 1000 elements with ... as NumPy does", async () => {
  const data = Float64Array.from({ length: 3200 }, (_, i) => i);
  saveNpySync(p("wide.npy"), { data, shape: [2, 40, 40] });
  const run = await npy(["head", "-n", "1", p("wide.npy")]);
  const row = (r: number) => {
    const v = (c: number) => `${r * 40 + c}.0`;
    return `[${v(0)}, ${v(1)}, ${v(2)}, ..., ${v(37)}, ${v(38)}, ${v(39)}]`;
  };
  assert.equal(
    run.out,
    `0  [${[row(0), row(1), row(2), "...", row(37), row(38), row(39)].join(", ")}]\n`,
  );
});

test("append to a file a writer of this process holds exits 1, saying it is this process", async () => {
  copyFileSync(p("c2.npy"), p("locked.npy"));
  const writer = NpyAppendArray.openSync(p("locked.npy"));
  try {
    const run = await npy(["append", p("locked.npy"), p("c1.npy")]);
    assertOneLine(
      run,
      1,
      /^npy append: Cannot open ".*locked\.npy" for appending: this process \(pid \d+\) already holds/,
    );
    assert.doesNotMatch(run.err, /another writer/);
  } finally {
    writer.closeSync();
  }
  checks.push({ op: "same", out: p("locked.npy"), orig: p("c2.npy") });
});

test("NumPy loads every file the command wrote and finds the expected arrays", () => {
  assert.ok(checks.length >= 9, `${checks.length} checks`);
  const results = runPython<Array<[string, boolean, string, string]>>(VERIFY, checks);
  for (const [out, ok, got, want] of results) assert.ok(ok, `${out}: ${got} vs ${want}`);
});

// ---------------------------------------------------------------------------------------
// As a program

function spawnNpy(args: string[]) {
  const [cmd, pre] = cliCommand()!;
  return spawnSync(cmd, [...pre, ...args], { encoding: "utf8", timeout: 60_000 });
}

test(`as a program under ${runtime}: --help and info --json succeed with exit 0`, () => {
  const help = spawnNpy(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^npy \d+\.\d+\.\d+: .*\n\nUsage: npy <command>/);
  const info = spawnNpy(["info", "--json", p("c1.npy")]);
  assert.equal(info.status, 0, info.stderr);
  assert.deepEqual(JSON.parse(info.stdout)[0].shape, [5, 3]);
  assert.equal(info.stderr, "");
});

test(`as a program under ${runtime}: bad file exits 1, bad flag exits 2, one line each`, () => {
  const bad = spawnNpy(["head", p("missing.npy")]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, "");
  assert.match(
    bad.stderr,
    /^npy head: Cannot open ".*missing\.npy": no such file or directory \(ENOENT\)\n$/,
  );
  const flag = spawnNpy(["concat", "--frobnicate", "a", "b"]);
  assert.equal(flag.status, 2);
  assert.match(
    flag.stderr,
    /^npy concat: unknown option '--frobnicate' \(see npy concat --help\)\n$/,
  );
});

test(`as a program under ${runtime}: concat writes what np.concatenate gives`, () => {
  const run = spawnNpy(["concat", p("cat_proc.npy"), p("c2.npy"), p("c1.npy")]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, "", "no progress bar when stderr is not a terminal");
  const ok = runPython<boolean>(
    `d = json.load(sys.stdin)\n` +
      `a = np.load(d + "/cat_proc.npy", mmap_mode="r")\n` +
      `b = np.concatenate([np.load(d + "/c2.npy"), np.load(d + "/c1.npy")])\n` +
      `print(json.dumps(bool(np.array_equal(a, b))))`,
    dir,
  );
  assert.equal(ok, true);
});

if (runtime === "node") {
  test("as an npm bin under node: node_modules/.bin/npy (a symlink to dist/cli.js) runs main", () => {
    const bin = join(dir, "node_modules", ".bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(ROOT, "dist", "cli.js"), join(bin, "npy"));
    const run = spawnSync(process.execPath, [join(bin, "npy"), "--version"], { encoding: "utf8" });
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    assert.equal(run.stdout, `${pkg.version}\n`, run.stderr);
    assert.equal(run.status, 0);
    // Imported rather than run: nothing happens.
    const imported = spawnSync(process.execPath, [
      "--input-type=module",
      "-e",
      `await import(${JSON.stringify(join(ROOT, "dist", "cli.js"))}); console.log("quiet")`,
    ], { encoding: "utf8" });
    assert.equal(imported.stdout, "quiet\n", imported.stderr);
  });
} else {
  test(`as an npm bin: checked when the suite runs under node (this run: ${runtime})`, () => {
    assert.notEqual(runtime, "node");
  });
}

test("npy append and NpyAppendArray accept the same files, and append the same bytes", async () => {
  // Made by NumPy: its own header (room to grow), the same without growth room and 16-byte
  // aligned (NumPy < 1.24), a 0-d array, a cut file, and a header with room but no alignment.
  runPython(
    `from numpy.lib import _format_impl as f
d = json.load(sys.stdin)["dir"]
p = lambda n: d + "/" + n
a = np.arange(6, dtype='<i4').reshape(3, 2)
np.save(p("agree-roomy.npy"), a)
np.save(p("agree-zerod.npy"), np.int32(7))
np.save(p("agree-cut.npy"), a)
with open(p("agree-cut.npy"), "ab") as fp: fp.write(b"\\x01\\x02")
np.save(p("agree-in.npy"), np.array([[10, 11]], dtype='<i4'))
h = f.header_data_from_array_1_0(a)
text = "{" + "".join("'%s': %s, " % (k, repr(v)) for k, v in sorted(h.items())) + "}"
for name, align, extra in [("agree-old.npy", 16, 0), ("agree-unaligned.npy", 1, 40)]:
    f.ARRAY_ALIGN = align
    with open(p(name), "wb") as fp:
        fp.write(f._wrap_header(text + " " * extra, (1, 0)))
        fp.write(a.tobytes())
f.ARRAY_ALIGN = 64
print("null")`,
    { dir },
  );
  const accepted: string[] = [];
  for (const name of ["roomy", "old", "zerod", "cut", "unaligned"]) {
    const viaCli = p(`agree-${name}.npy`), viaLib = p(`agree-${name}-lib.npy`);
    copyFileSync(viaCli, viaLib);
    const before = readFileSync(viaCli);
    const run = await npy(["append", viaCli, p("agree-in.npy")]);
    let libError: unknown;
    try {
      const w = await NpyAppendArray.open(viaLib);
      await w.append({ data: Int32Array.of(10, 11), shape: [1, 2] });
      await w.close();
    } catch (e) {
      libError = e;
    }
    assert.equal(run.code === 0, libError === undefined, `${name}: ${run.err} / ${libError}`);
    if (run.code === 0) {
      accepted.push(name);
      assert.deepEqual(readFileSync(viaCli), readFileSync(viaLib), name);
    } else {
      assertOneLine(run, 1, /^npy append: Cannot /);
      assert.deepEqual(readFileSync(viaCli), before, name);
      assert.deepEqual(readFileSync(viaLib), before, name);
    }
  }
  assert.deepEqual(accepted, ["roomy", "unaligned"]);
  const loaded = runPython(
    `d = json.load(sys.stdin)["dir"]
print(json.dumps([np.load(d + "/" + n, mmap_mode="r").tolist() for n in
    ["agree-roomy.npy", "agree-unaligned-lib.npy"]]))`,
    { dir },
  );
  assert.deepEqual(loaded, [[[0, 1], [2, 3], [4, 5], [10, 11]], [[0, 1], [2, 3], [4, 5], [
    10,
    11,
  ]]]);
});
