/**
 * What a new user of the `npy` command trips over: empty files, `-n -3` and `-n +3`, headers
 * over NumPy's limit, dtypes the library does not read, the recovery hint, a lock held by this
 * very process, plural wording, and a progress bar with a rate and an ETA that never swallows
 * the line of a message. NumPy is the judge of what gets printed for arrays.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NpyAppendArray } from "../mod.ts";
import { main } from "../cli.ts";
import { barText } from "../cli/progress.ts";
import { makeTempDir, runPython } from "./_util.ts";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function npy(
  args: string[],
  options: { isTTY?: boolean; signal?: AbortSignal; onErr?: (t: string) => void } = {},
): Promise<Run> {
  const run: Run = { code: -1, out: "", err: "" };
  run.code = await main(args, {
    stdout: (t) => void (run.out += t),
    stderr: (t) => {
      run.err += t;
      options.onErr?.(t);
    },
    isTTY: options.isTTY ?? false,
    columns: 100,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return run;
}

/** The row indices `npy head`/`tail` printed (the number before each row). */
function indices(out: string): number[] {
  return out.trimEnd().split("\n").map((line) => Number(/^\s*(\d+)\s/.exec(line)![1]));
}

const { dir, cleanup } = makeTempDir("npy-cli-usability-");
const p = (name: string) => join(dir, name);

// NumPy writes the files, and says what it prints and what slicing keeps.
const facts = runPython<
  { empty: string; headMinus: number[]; tailPlus: number[]; bigHeader: number }
>(
  `
import os
d = json.load(sys.stdin)
np.save(os.path.join(d, "empty.npy"), np.zeros((0, 3), "<f4"))
a = np.arange(30, dtype="<i4").reshape(10, 3)
np.save(os.path.join(d, "a.npy"), a)
np.save(os.path.join(d, "obj.npy"), np.array([1, "x"], dtype=object), allow_pickle=True)
wide = np.dtype([(f"field_{i:04d}", "<i2") for i in range(700)])
np.save(os.path.join(d, "wide.npy"), np.zeros(4, wide))
with open(os.path.join(d, "wide.npy"), "rb") as f:
    f.read(8); n = int.from_bytes(f.read(4), "little")
print(json.dumps({
    "empty": str(np.load(os.path.join(d, "empty.npy"))),
    "headMinus": list(range(10))[:-3],
    "tailPlus": list(range(10))[3 - 1:],
    "bigHeader": n,
}))
`,
  dir,
);

test.after(cleanup);

/** `text` as a RegExp source that matches it literally. */
function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

test("head and tail of a 0-row file print what NumPy prints for an empty array", async () => {
  for (const which of ["head", "tail"]) {
    const run = await npy([which, p("empty.npy")]);
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out, facts.empty + "\n");
    assert.equal(run.err, "");
  }
});

test("head -n -N prints all but the last N; tail -n +N starts at row N, as POSIX does", async () => {
  const head = await npy(["head", "-n", "-3", p("a.npy")]);
  assert.equal(head.code, 0, head.err);
  assert.deepEqual(indices(head.out), facts.headMinus);
  const headJoined = await npy(["head", "--rows=-3", p("a.npy")]);
  assert.equal(headJoined.out, head.out);
  const tail = await npy(["tail", "-n", "+3", p("a.npy")]);
  assert.equal(tail.code, 0, tail.err);
  assert.deepEqual(indices(tail.out), facts.tailPlus);
  assert.deepEqual(indices((await npy(["head", "-n", "-0", p("a.npy")])).out), [
    ...Array(10).keys(),
  ]);
  assert.equal((await npy(["head", "-n", "-30", p("a.npy")])).out, "");
  // The signs that mean nothing for a command are usage errors that say what is meant.
  const plus = await npy(["head", "-n", "+3", p("a.npy")]);
  assert.equal(plus.code, 2);
  assert.match(plus.err, /-N for all but the last N, not "\+3"/);
  const minus = await npy(["tail", "-n", "-3", p("a.npy")]);
  assert.equal(minus.code, 2);
  assert.match(minus.err, /\+N to start at row N, not "-3"/);
});

test("--max-header-size reads a header over NumPy's 10 000 characters; without it, refused", async () => {
  assert.ok(facts.bigHeader > 10_000, `${facts.bigHeader} header characters`);
  const refused = await npy(["info", p("wide.npy")]);
  assert.equal(refused.code, 1);
  // The command names its flag (the library's message names the option maxHeaderSize).
  assert.equal(
    refused.err,
    `npy info: Cannot read the header of ${JSON.stringify(p("wide.npy"))}: it is longer than ` +
      `--max-header-size 10000 allows (NumPy's limit too); pass a larger --max-header-size ` +
      `only for files you trust\n`,
  );
  for (const command of ["head", "tail", "recover", "ensure-appendable"]) {
    const run = await npy([command, p("wide.npy")]);
    assert.equal(run.code, 1);
    assert.match(run.err, /longer than --max-header-size 10000 allows/, command);
    assert.doesNotMatch(run.err, /maxHeaderSize/, command);
  }
  const low = await npy(["head", "--max-header-size", "50", p("a.npy")]);
  assert.match(low.err, /longer than --max-header-size 50 allows/);
  const limit = String(facts.bigHeader + 100);
  for (const args of [["info"], ["head", "-n", "1"], ["tail", "-n", "1"]]) {
    const run = await npy([...args, "--max-header-size", limit, p("wide.npy")]);
    assert.equal(run.code, 0, `${args[0]}: ${run.err}`);
  }
  const info = await npy(["info", "--json", "--max-header-size", limit, p("wide.npy")]);
  assert.equal(JSON.parse(info.out)[0].rows, 4);
  const bad = await npy(["info", "--max-header-size", "lots", p("wide.npy")]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--max-header-size needs a whole number/);
  assert.match((await npy(["head", "--help"])).out, /--max-header-size N/);
});

test("info on an object-dtype file shows its header and says the dtype is not supported", async () => {
  const run = await npy(["info", p("obj.npy")]);
  assert.equal(run.code, 1);
  assert.match(run.out, /header\s+\{'descr': '\|O', 'fortran_order': False, 'shape': \(2,\), \}/);
  assert.match(run.out, /dtype\s+not supported: Cannot use descr "\|O": the object dtype/);
  assert.doesNotMatch(run.out, /Cannot parse the header/);
  const json = JSON.parse((await npy(["info", "--json", p("obj.npy")])).out)[0];
  assert.equal(json.version, "1.0");
  assert.match(json.headerText, /'\|O'/);
  assert.match(json.error, /object dtype/);
});

test("ensure-appendable on a file that needs recovery names the npy recover command", async () => {
  const cut = p("cut.npy");
  const bytes = readFileSync(p("a.npy"));
  writeFileSync(cut, bytes);
  truncateSync(cut, bytes.length - 5);
  const before = readFileSync(cut);
  const run = await npy(["ensure-appendable", cut]);
  assert.equal(run.code, 1);
  assert.match(
    run.err,
    new RegExp(`run npy recover ${JSON.stringify(cut).replace(/[.\\]/g, "\\$&")} first`),
  );
  assert.doesNotMatch(run.err, /recover\(\)/);
  assert.deepEqual(readFileSync(cut), before);
});

test("ensure-appendable on a directory names the path and says it is a directory", async () => {
  const run = await npy(["ensure-appendable", dir]);
  assert.equal(run.code, 1);
  assert.equal(
    run.err,
    `npy ensure-appendable: Cannot make ${JSON.stringify(dir)} appendable: is a directory ` +
      `(EISDIR)\n`,
  );
});

test("a lock held by this same process is reported as this process, not another writer", async () => {
  const path = p("held.npy");
  writeFileSync(path, readFileSync(p("a.npy")));
  const w = NpyAppendArray.openSync(path);
  try {
    const run = await npy(["append", path, p("a.npy")]);
    assert.equal(run.code, 1);
    assert.match(run.err, /this process \(pid \d+\) already holds the file's writer lock/);
    assert.doesNotMatch(run.err, /another writer/);
    assert.throws(() => NpyAppendArray.openSync(path), /this process \(pid \d+\) already holds/);
  } finally {
    w.closeSync();
  }
});

test("wording: 1 file, not 1 files; help texts end in full stops only", async () => {
  const out = p("one.npy");
  const concat = await npy(["concat", out, p("a.npy")]);
  assert.match(concat.out, /10 rows from 1 file, /);
  const a = JSON.stringify(p("a.npy"));
  const append = await npy(["append", out, p("a.npy")]);
  assert.equal(
    append.out,
    `appended 10 rows from ${a} to ${JSON.stringify(out)}: now 20 rows, shape (20, 3)\n`,
  );
  const two = await npy(["append", out, p("a.npy"), p("a.npy")]);
  assert.match(two.out, new RegExp(`^appended 20 rows from ${esc(a)} and ${esc(a)} to `));
  const many = await npy(["append", out, ...Array(5).fill(p("a.npy"))]);
  assert.match(many.out, new RegExp(`^appended 50 rows from ${esc(a)} and 4 other files to `));
  for (const c of ["info", "head", "tail", "recover", "ensure-appendable", "concat", "append"]) {
    const help = (await npy([c, "--help"])).out;
    assert.doesNotMatch(help, /\?\./, `${c} --help`);
  }
});

test("the progress bar shows a rate and an ETA, and a message starts on a line of its own", async () => {
  // The bar's text, at fixed times.
  assert.equal(
    barText("concat", 0, 1 << 30, 0, 100),
    "concat [----------------------------------------]   0%  0 B / 1.0 GiB",
  );
  const half = barText("concat", 512 << 20, 1 << 30, 2000, 120);
  assert.ok(half.endsWith("  50%  512 MiB / 1.0 GiB  256 MiB/s  ETA 0:02"), half);
  assert.match(
    barText("append", 1 << 20, 4000 * 2 ** 20, 1000, 120),
    /1\.0 MiB\/s {2}ETA 1:06:39$/,
  );
  assert.match(barText("append", 1 << 20, 200 << 20, 1000, 120), /ETA 3:19$/);
  // A real interrupted append on a "terminal": the bar's line is ended before the message.
  const big = p("big.npy");
  const out = p("target.npy");
  runPython(
    `d = json.load(sys.stdin)
np.save(d[0], np.zeros((1 << 20, 16), "<f4"))
np.save(d[1], np.zeros((0, 16), "<f4"))
print("1")`,
    [big, out],
  );
  const controller = new AbortController();
  const run = await npy(["append", out, big, big, big, big], {
    isTTY: true,
    signal: controller.signal,
    onErr: (t) => {
      if (t.includes("[")) controller.abort(new DOMException("Interrupted", "AbortError"));
    },
  });
  assert.equal(run.code, 130, run.err);
  assert.match(run.err, /\rappend \[[#-]+\]\s+\d+%/);
  assert.match(run.err, /\nnpy append: interrupted\n$/);
});

test("a one-line error also shows the library's cause (the detail of why a descr is refused)", async () => {
  // An int32 file whose header says '<i3': NumPy refuses it too ("data type '<i3' not
  // understood"); the reason (the sizes 'i' comes in) is the cause of the header error.
  const bytes = readFileSync(p("a.npy"));
  const text = Array.from(bytes, (b) => String.fromCharCode(b)).join(""); // latin1
  assert.match(text, /'descr': '<i4'/);
  const path = p("i3.npy");
  writeFileSync(path, Uint8Array.from(text.replace("'<i4'", "'<i3'"), (c) => c.charCodeAt(0)));
  const run = await npy(["head", path]);
  assert.equal(run.code, 1);
  assert.equal(run.err.split("\n").length, 2, `one line: ${JSON.stringify(run.err)}`);
  assert.match(run.err, /^npy head: Cannot parse the header of ".*i3\.npy": its 'descr' '<i3'/);
  assert.match(
    run.err,
    /\. Cause: .*kind 'i' does not come in size 3 \(expected one of 1, 2, 4, 8/,
  );
});
