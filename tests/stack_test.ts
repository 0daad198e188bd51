/**
 * Sharded stacks (lib/stack.ts) checked by Python and NumPy: the info pickle loads with
 * Python's pickle, every shard loads alone with np.load(mmap_mode="r"), a stack's rows are
 * np.concatenate of what was appended; modes, rollover, locking, merge refusals that change
 * nothing, recovery of a shard a writer left open, and the CLI's stack commands.
 * Real Dask runs in tests/stack_dask_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  DEFAULT_SHARD_BYTES,
  type Descr,
  mergeStacks,
  mergeStacksSync,
  NpyAppendArray,
  NpyDtypeError,
  NpyFormatError,
  NpyLockError,
  NpyRecoveryError,
  NpyShapeError,
  NpyStackReader,
  NpyStackWriter,
  recoverStack,
  recoverStackSync,
  saveNpySync,
} from "../mod.ts";
import { main } from "../cli.ts";
import { encodePickle, PickleTuple, type PickleValue } from "../lib/_pickle.ts";
import { scanInfoAxis } from "../lib/stack_listing.ts";
import { makeTempDir, runPython } from "./_util.ts";

/** Python starts take seconds on a loaded machine (bun's default test timeout is 5 s). */
const SLOW = { timeout: 120_000 };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every file in a directory tree, with its bytes (to show nothing changed). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = hex(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await main(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

test("encodePickle() output loads with Python's pickle: dict, tuple, list, str, int", SLOW, () => {
  const values: PickleValue[] = [
    new Map<string, PickleValue>([
      ["chunks", new PickleTuple([new PickleTuple([1, 2, 3]), new PickleTuple([4])])],
      ["dtype", "<f4"],
      ["axis", 0],
    ]),
    new Map(),
    [],
    new PickleTuple([]),
    new PickleTuple([1]),
    new PickleTuple([1, 2, 3, 4, 5]),
    ["café", "日本", "", "'\"\\"],
    [0, 1, -1, 255, 256, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1],
    [-(2 ** 53) + 1, 2n ** 64n, -(2n ** 64n), 2n ** 63n - 1n, 128, -128, 32768, -32769],
    [[new PickleTuple(["a", "<i2"]), new PickleTuple([new PickleTuple(["T", "t"]), "|S3"])]],
  ];
  const pickles = values.map((v) => hex(encodePickle(v)));
  const loaded = runPython<string[]>(
    `import pickle
print(json.dumps([repr(pickle.loads(bytes.fromhex(h))) for h in json.load(sys.stdin)]))`,
    pickles,
  );
  assert.deepEqual(loaded, [
    "{'chunks': ((1, 2, 3), (4,)), 'dtype': '<f4', 'axis': 0}",
    "{}",
    "[]",
    "()",
    "(1,)",
    "(1, 2, 3, 4, 5)",
    `['café', '日本', '', '\\'"\\\\']`,
    "[0, 1, -1, 255, 256, 2147483647, -2147483648, 2147483648, -2147483649, 9007199254740991]",
    "[-9007199254740991, 18446744073709551616, -18446744073709551616, 9223372036854775807, " +
    "128, -128, 32768, -32769]",
    "[[('a', '<i2'), (('T', 't'), '|S3')]]",
  ]);
  assert.throws(() => encodePickle(1.5), TypeError);
  assert.throws(() => encodePickle(true as unknown as PickleValue), TypeError);
});

test("scanInfoAxis() finds the axis in pickles of every protocol, without unpickling", SLOW, () => {
  const pickles = runPython<string[]>(
    `import pickle
print(json.dumps([pickle.dumps({"chunks": ((2,), (3, 3)), "dtype": "<f8", "axis": a}, protocol=p).hex()
  for p in range(0, 6) for a in (0, 1, 300, 70000)]))`,
  );
  const axes = pickles.map((h) =>
    scanInfoAxis(Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16))))
  );
  // Protocols 0 and 1 spell strings and ints as text: not found, left to the shard headers.
  const expected = [0, 1, 300, 70000];
  assert.deepEqual(axes.slice(8), [...expected, ...expected, ...expected, ...expected]);
  assert.equal(scanInfoAxis(encodePickle(new Map([["axis", 2]]))), 2);
  assert.equal(scanInfoAxis(new Uint8Array(0)), undefined);
});

test(
  "NpyStackWriter splits chunks at shard boundaries; each shard loads alone with NumPy",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const stack = join(dir, "s");
      const w = await NpyStackWriter.open(stack, { descr: "<f4", shape: [3], shardRows: 4 });
      // stack.json at once, no info before a shard closes; the writer's lock while open.
      assert.deepEqual(readdirSync(stack).sort(), ["stack.json", "stack.lock"]);
      await w.append(new Float32Array(10 * 3).map((_, i) => i)); // rows 0..9: 4 + 4 + 2
      w.append([[30, 31, 32]]); // not awaited: lands in order
      await w.append({ data: new Float64Array(6).map((_, i) => 33 + i), shape: [2, 3] });
      // Fortran-order ndarray-like chunk of 3 rows: reordered to C order.
      await w.append({
        data: Float32Array.of(39, 42, 45, 40, 43, 46, 41, 44, 47),
        shape: [3, 3],
        fortranOrder: true,
      });
      assert.equal(w.rows, 16);
      assert.deepEqual(w.shardRows, [4, 4, 4, 4]); // the 16th row closed the fourth
      await w.close();
      await w.close(); // idempotent
      assert.deepEqual(w.shardRows, [4, 4, 4, 4]);
      assert.deepEqual(readdirSync(stack).sort(), [
        "0.npy",
        "1.npy",
        "2.npy",
        "3.npy",
        "info",
        "stack.json",
      ]); // no temp or lock file left
      const numpy = runPython<{ shapes: number[][]; all: number[]; info: string }>(
        `import pickle
d = json.load(sys.stdin)
parts = [np.load(d + "/%d.npy" % i, mmap_mode="r") for i in range(4)]
print(json.dumps({"shapes": [list(p.shape) for p in parts],
  "all": np.concatenate(parts).ravel().tolist(),
  "info": repr(pickle.load(open(d + "/info", "rb")))}))`,
        stack,
      );
      assert.deepEqual(numpy.shapes, [[4, 3], [4, 3], [4, 3], [4, 3]]);
      assert.deepEqual(numpy.all, Array.from({ length: 48 }, (_, i) => i));
      assert.equal(numpy.info, "{'chunks': ((4, 4, 4, 4), (3,)), 'dtype': '<f4', 'axis': 0}");
      assert.deepEqual(JSON.parse(readFileSync(join(stack, "stack.json"), "utf8")), {
        format: "npy-stack",
        version: 1,
        descr: "<f4",
        shape: [3],
        fortranOrder: false,
        axis: 0,
        rows: 16,
        shards: [4, 4, 4, 4],
      });
      await assert.rejects(w.append([[1, 2, 3]]), /writer is closed/);
    } finally {
      cleanup();
    }
  },
);

test("a malformed stack.json is refused with an NpyFormatError naming the stack, the file and the field", () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    NpyStackWriter.openSync(dir, { descr: "<f4", shape: [2] }).closeSync();
    const file = join(dir, "stack.json");
    const good = JSON.parse(readFileSync(file, "utf8"));
    const cases: Array<[text: string, reason: RegExp]> = [
      ["{", /"\/stack\.json" is not JSON$/],
      ["[1]", /"\/stack\.json" is not an object$/],
      [JSON.stringify({ ...good, format: "x" }), /has format "x", not "npy-stack"$/],
      [JSON.stringify({ ...good, version: 2 }), /has version 2; this library reads version 1$/],
      [JSON.stringify({ ...good, descr: 7 }), /has descr 7, which is not a NumPy descr$/],
      [JSON.stringify({ ...good, shape: [-1] }), /has shape \[-1\]: expected the row shape/],
      [JSON.stringify({ ...good, fortranOrder: "no" }), /has no boolean fortranOrder$/],
      [JSON.stringify({ ...good, shards: [1.5] }), /has shards \[1\.5\]: expected the rows/],
      [JSON.stringify({ ...good, shards: [1] }), /0\.npy" holds 0 rows, but stack\.json lists 1$/],
    ];
    for (const [text, reason] of cases) {
      writeFileSync(file, text);
      assert.throws(() => NpyStackReader.openSync(dir), (e) => {
        assert.ok(e instanceof NpyFormatError, String(e));
        const named = `Cannot read the stack ${JSON.stringify(dir)}: `;
        assert.ok(e.message.startsWith(named), e.message);
        assert.match(e.message.replaceAll(dir, ""), reason);
        if (text === "{") assert.ok(e.cause instanceof SyntaxError, "the JSON error is the cause");
        return true;
      });
    }
  } finally {
    cleanup();
  }
});

test("info and stack.json list closed shards only, replaced as each shard closes", SLOW, () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    const w = NpyStackWriter.openSync(dir, { descr: "<i2", shape: [], shardRows: 3 });
    const listed = () => JSON.parse(readFileSync(join(dir, "stack.json"), "utf8")).shards;
    const info = () => readFileSync(join(dir, "info"));
    w.appendSync(Int16Array.of(1, 2));
    assert.deepEqual(listed(), []);
    assert.equal(existsSync(join(dir, "info")), false);
    assert.equal(existsSync(join(dir, "0.npy")), true); // open, unlisted
    w.appendSync(Int16Array.of(3, 4, 5, 6, 7)); // closes 0 (3 rows) and 1 (3 rows)
    assert.deepEqual(listed(), [3, 3]);
    const before = info();
    w.appendSync(Int16Array.of(8));
    assert.deepEqual(info(), before); // a row into the open shard changes no listing
    w.flushSync();
    w.closeSync();
    assert.deepEqual(listed(), [3, 3, 2]);
    const seen = runPython<string>(
      `import pickle
print(json.dumps(repr(pickle.load(open(json.load(sys.stdin) + "/info", "rb")))))`,
      dir,
    );
    assert.equal(seen, "{'chunks': ((3, 3, 2),), 'dtype': '<i2', 'axis': 0}");
  } finally {
    cleanup();
  }
});

test("shardBytes rolls over at whole rows; the default shard is 1 GiB", SLOW, () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    const a = NpyStackWriter.openSync(join(dir, "a"), { descr: "<f8", shape: [2], shardBytes: 40 });
    assert.equal(a.rowsPerShard, 2); // 16-byte rows: 2 fit in 40 bytes
    a.appendSync(new Float64Array(10));
    a.closeSync();
    assert.deepEqual(a.shardRows, [2, 2, 1]);
    const b = NpyStackWriter.openSync(join(dir, "b"), { descr: "<f4", shape: [3] });
    assert.equal(b.rowsPerShard, Math.floor(DEFAULT_SHARD_BYTES / 12));
    assert.equal(DEFAULT_SHARD_BYTES, 2 ** 30);
    b.closeSync();
    const c = NpyStackWriter.openSync(join(dir, "c"), { descr: "<f8", shape: [4], shardBytes: 1 });
    assert.equal(c.rowsPerShard, 1); // at least one row per shard
    c.closeSync();
    assert.throws(() => NpyStackWriter.openSync(join(dir, "d"), { shardRows: 0 }), TypeError);
    assert.throws(() => NpyStackWriter.openSync(join(dir, "d"), { shardBytes: 1.5 }), TypeError);
    assert.throws(
      () => NpyStackWriter.openSync(join(dir, "d"), { mode: "bogus" as "create" }),
      TypeError,
    );
    // A misspelt option fails loudly (and creates nothing) instead of running with a default.
    assert.throws(
      () => NpyStackWriter.openSync(join(dir, "d"), { shardrows: 2 } as never),
      /unknown option "shardrows": did you mean "shardRows"\?/,
    );
    assert.equal(existsSync(join(dir, "d")), false);
    assert.throws(
      () => NpyStackReader.openSync(join(dir, "a"), { layuot: "columns" } as never),
      TypeError,
    );
    assert.throws(
      () => mergeStacksSync(join(dir, "m"), [join(dir, "a")], { mvoe: true } as never),
      TypeError,
    );
    using r = NpyStackReader.openSync(join(dir, "a"));
    assert.throws(() => [...r.chunksSync({ row: 2 } as never)], TypeError);
  } finally {
    cleanup();
  }
});

test("an empty stack closes with one 0-row shard (Dask refuses an empty chunk list)", SLOW, () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    NpyStackWriter.openSync(dir, { descr: [["a", "<i2"], ["b", "<f8", [3]]], shape: [4] })
      .closeSync();
    const seen = runPython<[string, number[]]>(
      `import pickle
d = json.load(sys.stdin)
print(json.dumps([repr(pickle.load(open(d + "/info", "rb"))), list(np.load(d + "/0.npy").shape)]))`,
      dir,
    );
    assert.deepEqual(seen, [
      "{'chunks': ((0,), (4,)), 'dtype': [('a', '<i2'), ('b', '<f8', (3,))], 'axis': 0}",
      [0, 4],
    ]);
    using r = NpyStackReader.openSync(dir);
    assert.deepEqual(r.shape, [0, 4]);
    assert.deepEqual([...r.chunksSync()].length, 0);
  } finally {
    cleanup();
  }
});

test("the first chunk decides the dtype and row shape when the options do not", SLOW, async () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    {
      await using w = await NpyStackWriter.open(dir, { shardRows: 2 });
      assert.equal(w.descr, undefined);
      await w.append([[1n, 2n], [3n, 4n], [5n, 6n]]);
      assert.equal(w.descr, "<i8");
      assert.deepEqual(w.rowShape, [2]);
      await assert.rejects(w.append([[1n, 2n, 3n]]), NpyShapeError);
      assert.equal(w.rows, 3); // the refused chunk changed nothing
    }
    using r = NpyStackReader.openSync(dir);
    assert.deepEqual(r.readSync().data, BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 6n));
    assert.deepEqual(r.shardRows, [2, 1]);
  } finally {
    cleanup();
  }
});

test(
  "bad chunks are refused with typed errors naming the stack, before anything is written",
  SLOW,
  () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const w = NpyStackWriter.openSync(dir, { descr: "<i4", shape: [2], shardRows: 2 });
      w.appendSync([[1, 2]]);
      const before = snapshot(dir);
      assert.throws(
        () => w.appendSync([[1, 2, 3]]),
        (e) =>
          e instanceof NpyShapeError && e.message.includes(JSON.stringify(dir)) &&
          /expected \(k, 2\)/.test(e.message),
      );
      assert.throws(() => w.appendSync(Int32Array.of(1, 2, 3)), NpyShapeError); // not whole rows
      assert.throws(() => w.appendSync(7), NpyShapeError); // a 0-d value
      assert.throws(() => w.appendSync(Float64Array.of(1.5, 2)), NpyDtypeError); // f8 -> i4
      assert.throws(() => w.appendSync([["a", "b"]]), NpyDtypeError);
      assert.deepEqual(snapshot(dir), before);
      assert.equal(w.rows, 1);
      w.closeSync();
      // An unknown descr: the stack and the descr in one sentence, the registry's error the cause.
      assert.throws(
        () => NpyStackWriter.openSync(join(dir, "x"), { descr: "<q9" }),
        (e) => {
          assert.ok(e instanceof NpyDtypeError, String(e));
          assert.equal(
            e.message,
            `Cannot write the stack ${JSON.stringify(join(dir, "x"))}: its descr "<q9" is no ` +
              `dtype the registry resolves (expected a NumPy descr such as '<f4', or one a ` +
              `registered plugin handles)`,
          );
          assert.equal(e.path, join(dir, "x"));
          assert.equal(e.descr, "<q9");
          assert.ok(e.cause instanceof NpyDtypeError, "the registry's error is the cause");
          assert.match((e.cause as Error).message, /"<q9"/);
          return true;
        },
      );
      assert.equal(existsSync(join(dir, "x")), false, "nothing is created");
    } finally {
      cleanup();
    }
  },
);

test(
  "append's cast and type errors name the stack like its shape errors, keeping class and cause",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const w = await NpyStackWriter.open(join(dir, "i4"), { descr: "<i4", shape: [2] });
      const named = `Cannot append to the stack ${JSON.stringify(join(dir, "i4"))}: `;
      /** The error is `type`, names the stack first, and wraps the dtype code's error. */
      const refusal =
        (type: typeof NpyDtypeError | typeof NpyShapeError, inner: RegExp) => (e: unknown) => {
          assert.ok(e instanceof type, String(e));
          assert.ok(e.message.startsWith(named), e.message);
          assert.equal(e.path, join(dir, "i4"));
          assert.ok(e.cause instanceof type, "the inner error is the cause");
          assert.match((e.cause as Error).message, inner);
          return true;
        };
      const notNumber = /Cannot cast "x" \(element 1\) to '<i4'/;
      await assert.rejects(w.append([[1, "x"]] as never), refusal(NpyDtypeError, notNumber));
      assert.throws(() => w.appendSync([[1, "x"]] as never), refusal(NpyDtypeError, notNumber));
      await assert.rejects(
        w.append(Float64Array.of(1, 2)), // same_kind: float64 -> int32 is refused
        refusal(NpyDtypeError, /Cannot cast Float64Array \(float64\) to '<i4'/),
      );
      await assert.rejects(
        w.append([[1.5, 2]]),
        refusal(NpyDtypeError, /Cannot cast 1\.5 \(element 0\) to '<i4'/),
      );
      // Through the WritableStream: the same error rejects pipeTo.
      const piped = new ReadableStream<unknown>({
        start(c) {
          c.enqueue([[1, "x"]]);
          c.close();
        },
      }).pipeTo(w.writable as WritableStream<unknown>);
      await assert.rejects(piped, refusal(NpyDtypeError, notNumber));
      assert.equal(w.rows, 0);
      await w.close();
      // Records: the field is named inside, the stack outside.
      const rec = NpyStackWriter.openSync(join(dir, "rec"), {
        descr: [["x", "<i4"], ["y", "<f4"]],
        shape: [],
      });
      assert.throws(
        () => rec.appendSync([{ x: 1, y: 2 }, { x: "a", y: 1 }] as never),
        (e) => {
          assert.ok(e instanceof NpyDtypeError);
          assert.match(e.message, /^Cannot append to the stack ".*rec": .*dtype \[\('x', '<i4'\)/);
          assert.ok(e.cause instanceof NpyDtypeError);
          assert.match(e.cause.message, /field "x": cannot cast "a"/);
          return true;
        },
      );
      assert.throws(
        () => rec.appendSync([{ x: 1, y: 2, z: 3 }] as never),
        (e) => {
          assert.ok(e instanceof NpyDtypeError);
          assert.match(e.message, /^Cannot append to the stack ".*rec"/);
          assert.match((e.cause as Error).message, /a field "z"/);
          return true;
        },
      );
      rec.closeSync();
      assert.deepEqual(rec.shardRows, [0]);
    } finally {
      cleanup();
    }
  },
);

test("one row given bare to a stack gets the writer's 'wrap it as [[1, 2]]' hint", SLOW, () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    using w = NpyStackWriter.openSync(join(dir, "s"), { descr: "<f8", shape: [2] });
    using a = NpyAppendArray.openSync(join(dir, "a.npy"), { descr: "<f8", shape: [2] });
    const hint = /: expected \(k, 2\); to append one row, wrap it as \[\[1, 2\]\]$/;
    assert.throws(
      () => w.appendSync([1, 2]),
      (e) => e instanceof NpyShapeError && hint.test(e.message),
    );
    assert.throws(
      () => a.appendSync([1, 2]),
      (e) => e instanceof NpyShapeError && hint.test(e.message),
    );
    w.appendSync([[1, 2]]); // wrapped as the hint says, it is a row
    assert.equal(w.rows, 1);
    // A chunk of the wrong row shape gets no hint.
    assert.throws(() => w.appendSync([[1, 2, 3]]), (e) => !/wrap it/.test((e as Error).message));
  } finally {
    cleanup();
  }
});

test(
  "writable and appendFrom split chunks across shards; NumPy reads every shard",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const streamed = join(dir, "streamed");
      const w = await NpyStackWriter.open(streamed, { descr: "<i2", shape: [2], shardRows: 3 });
      await new ReadableStream<Int16Array | number[][]>({
        start(c) {
          c.enqueue(Int16Array.of(0, 1, 2, 3));
          c.enqueue([[4, 5], [6, 7], [8, 9]]); // crosses into shard 1
          c.enqueue(Int16Array.of(10, 11));
          c.close();
        },
      }).pipeTo(w.writable); // closing the stream closes the writer
      assert.equal(w.closed, true);
      assert.deepEqual(w.shardRows, [3, 3]);
      const from = join(dir, "from");
      const f = await NpyStackWriter.open(from, { descr: "<f4", shape: [], shardRows: 4 });
      const produce = async function* () {
        yield Float32Array.of(0, 1, 2);
        yield [3, 4, 5, 6, 7];
        yield Float32Array.of(8);
      };
      assert.equal(await f.appendFrom(produce()), 9);
      assert.equal(await f.appendFrom([[9.5]]), 1); // a sync iterable too
      await f.close();
      assert.deepEqual(f.shardRows, [4, 4, 2]);
      const shards = runPython<Record<string, number[][]>>(
        `import os
out = {}
for d in json.load(sys.stdin):
    n = len([f for f in os.listdir(d) if f.endswith(".npy")])
    out[os.path.basename(d)] = [np.load(os.path.join(d, "%d.npy" % i), mmap_mode="r").tolist()
                                for i in range(n)]
print(json.dumps(out))`,
        [streamed, from],
      );
      assert.deepEqual(shards.streamed, [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]);
      assert.deepEqual(shards.from, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9.5]]);
    } finally {
      cleanup();
    }
  },
);

test(
  "the stack reader, mergeStacks and recoverStack refuse unknown option keys by name",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const a = join(dir, "a");
      NpyStackWriter.openSync(a, { descr: "<f8", shape: [] }).closeSync();
      const before = snapshot(dir);
      const unknown = (key: string, near: string) =>
        new RegExp(`unknown option "${key}": did you mean "${near}"\\?`);
      assert.throws(
        () => NpyStackReader.openSync(a, { layuot: "columns" } as never),
        (e) => e instanceof TypeError && unknown("layuot", "layout").test(e.message),
      );
      await assert.rejects(
        NpyStackReader.open(a, { registy: undefined } as never),
        (e) => e instanceof TypeError && unknown("registy", "registry").test(e.message),
      );
      await assert.rejects(
        mergeStacks(join(dir, "m"), [a], { mvoe: true } as never),
        (e) => e instanceof TypeError && unknown("mvoe", "move").test(e.message),
      );
      assert.throws(
        () => mergeStacksSync(join(dir, "m"), [a], { lck: false } as never),
        (e) => e instanceof TypeError && unknown("lck", "lock").test(e.message),
      );
      await assert.rejects(
        recoverStack(a, { zerofill: true } as never),
        (e) => e instanceof TypeError && unknown("zerofill", "zeroFill").test(e.message),
      );
      assert.throws(
        () => recoverStackSync(a, { lock: false, regstry: undefined } as never),
        (e) => e instanceof TypeError && unknown("regstry", "registry").test(e.message),
      );
      assert.deepEqual(snapshot(dir), before, "a refused call changes nothing");
    } finally {
      cleanup();
    }
  },
);

test(
  "modes: create refuses a stack, overwrite replaces it, append adds shards and never changes closed ones",
  SLOW,
  () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const first = NpyStackWriter.openSync(dir, {
        mode: "create",
        descr: "<u2",
        shape: [],
        shardRows: 2,
      });
      first.appendSync(Uint16Array.of(1, 2, 3));
      first.closeSync();
      const closed = snapshot(dir);
      assert.throws(
        () => NpyStackWriter.openSync(dir, { mode: "create", descr: "<u2", shape: [] }),
        (e) =>
          (e as { code?: string }).code === "EEXIST" && /mode "create"/.test((e as Error).message),
      );
      assert.deepEqual(snapshot(dir), closed);
      assert.throws(
        () => NpyStackWriter.openSync(dir, { descr: "<u4", shape: [] }),
        NpyDtypeError,
      );
      assert.throws(
        () => NpyStackWriter.openSync(dir, { descr: "<u2", shape: [2] }),
        NpyShapeError,
      );
      assert.deepEqual(snapshot(dir), closed);
      const again = NpyStackWriter.openSync(dir, { shardRows: 2 }); // mode "append"
      assert.equal(again.rows, 3);
      again.appendSync(Uint16Array.of(4, 5, 6));
      again.closeSync();
      assert.deepEqual(again.shardRows, [2, 1, 2, 1]); // new rows went into new shards
      for (const name of ["0.npy", "1.npy"]) {
        assert.equal(snapshot(dir)[join(dir, name)], closed[join(dir, name)]);
      }
      {
        using r = NpyStackReader.openSync(dir);
        assert.deepEqual(r.readSync().data, Uint16Array.of(1, 2, 3, 4, 5, 6));
      }
      const fresh = NpyStackWriter.openSync(dir, { mode: "overwrite", descr: "|b1", shape: [] });
      fresh.appendSync([true, false]);
      fresh.closeSync();
      assert.deepEqual(readdirSync(dir).sort(), ["0.npy", "info", "stack.json"]);
      using r = NpyStackReader.openSync(dir);
      assert.equal(r.descr, "|b1");
      assert.deepEqual(r.readSync().data, Uint8Array.of(1, 0));
    } finally {
      cleanup();
    }
  },
);

test("a second writer of a stack gets NpyLockError naming the holder", SLOW, async () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    const w = await NpyStackWriter.open(dir, { descr: "<f8", shape: [] });
    await assert.rejects(
      NpyStackWriter.open(dir),
      (e) => e instanceof NpyLockError && e.message.includes(`pid ${process.pid}`),
    );
    await assert.rejects(mergeStacks(join(dir, "..", "m"), [dir]), NpyLockError);
    await w.close(); // releases the lock
    (await NpyStackWriter.open(dir)).closeSync();
    assert.equal(existsSync(join(dir, "stack.lock")), false);
  } finally {
    cleanup();
  }
});

test(
  "NpyStackReader.read() across shard boundaries equals NumPy's concatenation, every range",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const w = NpyStackWriter.openSync(dir, { descr: ">i4", shape: [2], shardRows: 3 });
      for (const n of [1, 4, 0, 2, 3]) {
        w.appendSync(new Int32Array(n * 2).map((_, i) => w.rows * 2 + i));
      }
      w.closeSync();
      const all = runPython<number[]>(
        `d = json.load(sys.stdin)
info = json.load(open(d + "/stack.json"))
print(json.dumps(np.concatenate([np.load(d + "/%d.npy" % i) for i in range(len(info["shards"]))]).ravel().tolist()))`,
        dir,
      );
      assert.equal(all.length, 20);
      await using r = await NpyStackReader.open(dir);
      assert.deepEqual(r.shardRows, [3, 3, 3, 1]);
      for (let s = 0; s <= 10; s++) {
        for (let e = s; e <= 10; e++) {
          const a = r.readSync(s, e);
          assert.deepEqual(a.shape, [e - s, 2]);
          assert.deepEqual([...(a.data as Int32Array)], all.slice(s * 2, e * 2), `[${s}, ${e})`);
        }
      }
      assert.deepEqual([...((await r.read(2, 8)).data as Int32Array)], all.slice(4, 16));
      assert.deepEqual([...(r.readSync(-3).data as Int32Array)], all.slice(14)); // as a slice
      assert.deepEqual([...(r.readSync(-5, -2).data as Int32Array)], all.slice(10, 16));
      assert.throws(() => r.readSync(-11), RangeError);
      assert.throws(() => r.readSync(0, 11), RangeError);
      assert.throws(() => r.readSync(-1, 2), RangeError);
      const perShard = [];
      for await (const c of r.chunks()) perShard.push(c.shape[0]);
      assert.deepEqual(perShard, [3, 3, 3, 1]);
      assert.deepEqual([...r.chunksSync({ rows: 4, start: 1 })].map((c) => c.shape[0]), [4, 4, 1]);
      assert.deepEqual([...r.chunksSync({ start: 2, end: 7 })].map((c) => c.shape[0]), [1, 3, 1]);
      assert.throws(() => [...r.chunksSync({ rows: 0 })], RangeError);
    } finally {
      cleanup();
    }
  },
);

test("record stacks: values round-trip through NumPy, objects and columns", SLOW, () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    const descr = [["t", "<M8[s]"], ["id", "<i8"], ["name", "|S5"], ["xy", "<f4", [2]]] as const;
    const w = NpyStackWriter.openSync(dir, { descr, shape: [], shardRows: 2 });
    const rows = Array.from({ length: 5 }, (_, i) => ({
      t: BigInt(1_700_000_000 + i),
      id: BigInt(i * 1000),
      name: `n${i}`,
      xy: [i / 2, -i],
    }));
    w.appendSync(rows.slice(0, 3));
    w.appendSync(rows.slice(3));
    w.closeSync();
    const numpy = runPython<unknown[]>(
      `d = json.load(sys.stdin)
a = np.concatenate([np.load(d + "/%d.npy" % i, mmap_mode="r") for i in range(3)])
print(json.dumps([[str(r["t"]), int(r["id"]), r["name"].decode(), r["xy"].tolist()] for r in a]))`,
      dir,
    );
    assert.deepEqual(
      numpy,
      rows.map((_, i) => [
        new Date((1_700_000_000 + i) * 1000).toISOString().slice(0, 19),
        i * 1000,
        `n${i}`,
        [i / 2, -i],
      ]),
    );
    using r = NpyStackReader.openSync(dir, { layout: "columns" });
    const cols = r.readSync(1, 4).data as { id: BigInt64Array; xy: Float32Array };
    assert.deepEqual(cols.id, BigInt64Array.of(1000n, 2000n, 3000n));
    assert.deepEqual([...cols.xy], [0.5, -1, 1, -2, 1.5, -3]);
  } finally {
    cleanup();
  }
});

test(
  "aligned records (padding fields) pickle as NumPy's dict form: np.dtype(info) is the shards' dtype",
  SLOW,
  () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const { descr, itemsize } = runPython<{ descr: Descr; itemsize: number }>(
        `dt = np.dtype([("a", "u1"), ("b", "<f8"), ("c", [("x", "u1"), ("y", "<i4")]), ("d", "<i2", (2,))], align=True)
def js(d):
    return d if isinstance(d, str) else [[f[0], js(f[1])] + ([list(f[2])] if len(f) > 2 else []) for f in d]
print(json.dumps({"descr": js(np.lib.format.dtype_to_descr(dt)), "itemsize": dt.itemsize}))`,
      );
      assert.equal(itemsize, 32);
      const w = NpyStackWriter.openSync(dir, { descr, shape: [], shardRows: 2 });
      const bytes = new Uint8Array(3 * itemsize).map((_, i) => i);
      w.appendSync({ data: new DataView(bytes.buffer), shape: [3], descr });
      w.closeSync();
      const seen = runPython<{ same: boolean[]; names: string[]; a: number[] }>(
        `import pickle
d = json.load(sys.stdin)
info = pickle.load(open(d + "/info", "rb"))
dt = np.dtype(info["dtype"])
parts = [np.load(d + "/%d.npy" % i) for i in range(2)]
print(json.dumps({"same": [p.dtype == dt for p in parts], "names": list(dt.names),
  "a": np.concatenate(parts)["a"].tolist()}))`,
        dir,
      );
      assert.deepEqual(seen, { same: [true, true], names: ["a", "b", "c", "d"], a: [0, 32, 64] });
    } finally {
      cleanup();
    }
  },
);

test("Fortran-order stacks grow along the last axis; Dask's axis is the last one", SLOW, () => {
  const { dir, cleanup } = makeTempDir("npy-stack-");
  try {
    const w = NpyStackWriter.openSync(dir, {
      descr: "<f8",
      shape: [2, 2],
      fortranOrder: true,
      shardRows: 2,
    });
    // C-order chunk of shape (2, 2, 3): element [i, j, k] = 100i + 10j + k.
    const c = new Float64Array(12).map((_, n) =>
      100 * Math.floor(n / 6) + 10 * (Math.floor(n / 3) % 2) + (n % 3)
    );
    w.appendSync({ data: c, shape: [2, 2, 3] });
    w.closeSync();
    const numpy = runPython<{ info: string; whole: number[][][]; fortran: boolean[] }>(
      `import pickle
d = json.load(sys.stdin)
parts = [np.load(d + "/%d.npy" % i) for i in range(2)]
print(json.dumps({"info": repr(pickle.load(open(d + "/info", "rb"))),
  "whole": np.concatenate(parts, axis=2).tolist(),
  "fortran": [bool(p.flags.f_contiguous) for p in parts]}))`,
      dir,
    );
    assert.equal(numpy.info, "{'chunks': ((2,), (2,), (2, 1)), 'dtype': '<f8', 'axis': 2}");
    assert.deepEqual(numpy.whole, [[[0, 1, 2], [10, 11, 12]], [[100, 101, 102], [110, 111, 112]]]);
    assert.deepEqual(numpy.fortran, [true, true]);
    using r = NpyStackReader.openSync(dir);
    assert.equal(r.axis, 2);
    assert.deepEqual(r.shape, [2, 2, 3]);
    const a = r.readSync(1, 3); // across the boundary: column-major, shape (2, 2, 2)
    assert.deepEqual(a.shape, [2, 2, 2]);
    assert.equal(a.fortranOrder, true);
    assert.deepEqual([...(a.data as Float64Array)], [1, 101, 11, 111, 2, 102, 12, 112]);
  } finally {
    cleanup();
  }
});

test(
  "mergeStacks() hard-links shards in order: no data copied, the inputs intact",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      for (const [name, start, n] of [["a", 0, 5], ["b", 100, 3], ["c", 200, 4]] as const) {
        using w = NpyStackWriter.openSync(join(dir, name), {
          descr: "<i4",
          shape: [],
          shardRows: 2,
        });
        w.appendSync(new Int32Array(n).map((_, i) => start + i));
      }
      const inputs = ["a", "b", "c"].map((n) => join(dir, n));
      const before = snapshot(dir);
      const result = await mergeStacks(join(dir, "all"), inputs);
      assert.deepEqual(result, { rows: 12, shardRows: [2, 2, 1, 2, 1, 2, 2] });
      assert.equal(statSync(join(dir, "all", "5.npy")).ino, statSync(join(dir, "c", "0.npy")).ino);
      for (const [path, bytes] of Object.entries(before)) assert.equal(snapshot(dir)[path], bytes);
      const seen = runPython<{ info: string; values: number[] }>(
        `import pickle
d = json.load(sys.stdin)
print(json.dumps({"info": repr(pickle.load(open(d + "/info", "rb"))),
  "values": np.concatenate([np.load(d + "/%d.npy" % i) for i in range(7)]).tolist()}))`,
        join(dir, "all"),
      );
      assert.equal(seen.info, "{'chunks': ((2, 2, 1, 2, 1, 2, 2),), 'dtype': '<i4', 'axis': 0}");
      assert.deepEqual(seen.values, [0, 1, 2, 3, 4, 100, 101, 102, 200, 201, 202, 203]);
      // move: the shards are renamed, the inputs left without shards or listing.
      mergeStacksSync(join(dir, "moved"), [join(dir, "all")], { move: true });
      assert.deepEqual(readdirSync(join(dir, "all")), []);
      using r = NpyStackReader.openSync(join(dir, "moved"));
      assert.equal(r.rows, 12);
    } finally {
      cleanup();
    }
  },
);

test(
  "mergeStacks() refuses mismatched stacks with typed errors and changes nothing",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      const make = (name: string, options: Parameters<typeof NpyStackWriter.openSync>[1]) => {
        NpyStackWriter.openSync(join(dir, name), { shardRows: 2, ...options }).closeSync();
      };
      make("f4x3", { descr: "<f4", shape: [3] });
      make("f4x3b", { descr: "<f4", shape: [3] });
      make("f8x3", { descr: "<f8", shape: [3] });
      make("f4x4", { descr: "<f4", shape: [4] });
      make("f4x3F", { descr: "<f4", shape: [3], fortranOrder: true });
      make("rec", { descr: [["a", "<f4"]], shape: [3] });
      const before = snapshot(dir);
      const out = join(dir, "out");
      const refuse = async (
        names: string[],
        type: new (...a: never[]) => Error,
        pattern: RegExp,
      ) => {
        await assert.rejects(mergeStacks(out, names.map((n) => join(dir, n))), (e) => {
          assert.ok(e instanceof type, `${(e as Error).name}: ${(e as Error).message}`);
          assert.match((e as Error).message, pattern);
          return true;
        });
        assert.deepEqual(snapshot(dir), before);
        assert.equal(existsSync(out), false);
      };
      await refuse(["f4x3", "f8x3"], NpyDtypeError, /descr '<f8', but .* has '<f4'/);
      await refuse(["f4x3", "rec"], NpyDtypeError, /descr \[\('a', '<f4'\)\]/);
      await refuse(["f4x3", "f4x3b", "f4x4"], NpyShapeError, /rows of shape \(4,\), but .* \(3,\)/);
      await refuse(["f4x3", "f4x3F"], NpyShapeError, /Fortran order/);
      await refuse(["f4x3", "f4x3"], Error, /given twice/);
      await refuse(["f4x3", "missing"], Error, /no such directory/);
      mkdirSync(join(dir, "notastack"));
      writeFileSync(join(dir, "notastack", "0.npy"), "x");
      const withJunk = snapshot(dir);
      await assert.rejects(mergeStacks(out, [join(dir, "notastack")]), NpyFormatError);
      assert.deepEqual(snapshot(dir), withJunk);
      // An output holding a stack already is refused too.
      await assert.rejects(
        mergeStacks(join(dir, "f4x3b"), [join(dir, "f4x3")]),
        (e) => (e as { code?: string }).code === "EEXIST",
      );
      assert.deepEqual(snapshot(dir), withJunk);
    } finally {
      cleanup();
    }
  },
);

test(
  "a shard left open by a stopped writer: append refuses it until recovered; recoverStack adopts its rows",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      {
        using w = NpyStackWriter.openSync(dir, { descr: "<i8", shape: [2], shardRows: 4 });
        w.appendSync(new BigInt64Array(8).map((_, i) => BigInt(i)));
      }
      // What a killed writer leaves: shard 1 written (its header claims 3 rows), half a row more.
      {
        using open = NpyAppendArray.openSync(join(dir, "1.npy"), { descr: "<i8", shape: [2] });
        open.appendSync(new BigInt64Array(6).map((_, i) => BigInt(8 + i)));
      }
      writeFileSync(join(dir, "1.npy"), new Uint8Array(8), { flag: "a" });
      {
        using r = NpyStackReader.openSync(dir);
        assert.equal(r.rows, 4);
        assert.deepEqual(r.unlistedShards, [1]);
      }
      const before = snapshot(dir);
      assert.throws(
        () => NpyStackWriter.openSync(dir),
        (e) => e instanceof NpyRecoveryError && /recoverStack/.test(e.message),
      );
      await assert.rejects(mergeStacks(join(dir, "m"), [dir]), NpyRecoveryError);
      assert.deepEqual(snapshot(dir), before);
      const result = await recoverStack(dir);
      assert.deepEqual(result, { rows: 7, shardRows: [4, 3], adopted: [1] });
      assert.deepEqual(await recoverStack(dir), { rows: 7, shardRows: [4, 3], adopted: [] });
      {
        using w = NpyStackWriter.openSync(dir); // appends into shard 2
        w.appendSync([[14n, 15n]]);
      }
      const values = runPython<number[]>(
        `d = json.load(sys.stdin)
print(json.dumps(np.concatenate([np.load(d + "/%d.npy" % i) for i in range(3)]).ravel().tolist()))`,
        dir,
      );
      assert.deepEqual(values, Array.from({ length: 16 }, (_, i) => i));
    } finally {
      cleanup();
    }
  },
);

test(
  "npy info DIR describes a stack; npy stack merge joins stacks; npy concat takes a stack",
  SLOW,
  async () => {
    const { dir, cleanup } = makeTempDir("npy-stack-");
    try {
      for (const [name, start] of [["a", 0], ["b", 10]] as const) {
        using w = NpyStackWriter.openSync(join(dir, name), {
          descr: "<f8",
          shape: [2],
          shardRows: 2,
        });
        w.appendSync(new Float64Array(6).map((_, i) => start + i));
      }
      const info = await cli(["info", join(dir, "a")]);
      assert.equal(info.code, 0, info.err);
      assert.match(info.out, /stack +npy-stack \(stack\.json\)/);
      assert.match(info.out, /shape +\(3, 2\)/);
      assert.match(info.out, /shards +2 \(1 to 2 rows each\)/);
      const json = await cli(["info", "--json", join(dir, "a")]);
      const [report] = JSON.parse(json.out);
      assert.equal(report.rows, 3);
      assert.deepEqual(report.shardRows, [2, 1]);
      assert.equal(report.stack, "npy-stack");
      const merged = await cli(["stack", "merge", join(dir, "m"), join(dir, "a"), join(dir, "b")]);
      assert.equal(merged.code, 0, merged.err);
      assert.match(merged.out, /6 rows in 4 shards \(hard-linked, no data copied\)/);
      const concat = await cli([
        "concat",
        join(dir, "all.npy"),
        join(dir, "m"),
        join(dir, "a", "0.npy"),
      ]);
      assert.equal(concat.code, 0, concat.err);
      // The inputs are counted as given: a stack of 4 shards and a file, not "5 files".
      assert.match(concat.out, / 8 rows from 2 inputs \(4 shards of 1 stack, 1 file\), shape/);
      const two = await cli(["concat", join(dir, "ab.npy"), join(dir, "a"), join(dir, "b")]);
      assert.match(two.out, / 6 rows from 2 inputs \(4 shards of 2 stacks\), shape/);
      const values = runPython<number[]>(
        `print(json.dumps(np.load(json.load(sys.stdin)).ravel().tolist()))`,
        join(dir, "all.npy"),
      );
      assert.deepEqual(values, [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3]);
      const bad = await cli(["stack", "merge", join(dir, "x"), join(dir, "a"), join(dir, "nope")]);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /^npy stack: Cannot merge into .*no such directory\n$/);
      assert.equal((await cli(["stack", "split", "x", "y"])).code, 2);
      assert.equal((await cli(["stack", "merge", "x"])).code, 2);
      saveNpySync(join(dir, "i4.npy"), Int32Array.of(1, 2));
      const mismatch = await cli([
        "concat",
        join(dir, "z.npy"),
        join(dir, "m"),
        join(dir, "i4.npy"),
      ]);
      assert.equal(mismatch.code, 1);
      assert.equal(existsSync(join(dir, "z.npy")), false);
      mkdirSync(join(dir, "empty"));
      const empty = await cli(["info", join(dir, "empty")]);
      assert.equal(empty.code, 1);
      assert.match(empty.err, /is a directory, neither a \.npy file nor a stack/);
      truncateSync(join(dir, "a", "0.npy"), 100);
      const cut = await cli(["info", join(dir, "a")]);
      assert.equal(cut.code, 1);
    } finally {
      cleanup();
    }
  },
);
