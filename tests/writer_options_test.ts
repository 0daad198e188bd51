/**
 * NpyAppendArray options and error cases: modes, declared descr/shape, casting, header
 * rewrite policy, buffering, sync, recovery, validation before writing, ordering of
 * concurrent appends, close and disposal, streams. Runs under Deno, Bun and Node.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  BUILTIN_PLUGINS,
  DtypeRegistry,
  encodeHeader,
  NpyAppendArray,
  type NpyChunk,
  NpyDtypeError,
  NpyFormatError,
  NpyIOError,
  NpyRecoveryError,
  NpyShapeError,
  parseHeader,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";
import { checkWithNumpy } from "./_writer_util.ts";

function headerShape(path: string): readonly (number | bigint)[] {
  const fd = openSync(path, "r");
  const head = new Uint8Array(4096);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  return parseHeader(head.subarray(0, n)).shape;
}

/** The data of a `<f8` file, read as raw bytes after the header. */
function dataF8(path: string): number[] {
  const bytes = readFileSync(path);
  const { headerLength } = parseHeader(bytes);
  const data = bytes.subarray(headerLength);
  return [...new Float64Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))];
}

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const { dir, cleanup } = makeTempDir();
    try {
      await fn(dir);
    } finally {
      cleanup();
    }
  };
}

test(
  'mode "create" refuses an existing file; "overwrite" replaces it; "append" appends',
  withDir(async (dir) => {
    const path = join(dir, "m.npy");
    let w = NpyAppendArray.openSync(path, { mode: "create" });
    w.appendSync([1, 2]);
    w.closeSync();
    const before = readFileSync(path);
    await assert.rejects(NpyAppendArray.open(path, { mode: "create" }), (e: Error) => {
      assert.ok(e instanceof NpyIOError);
      assert.match(e.message, /^Cannot create "[^"]*m\.npy": the file exists/);
      assert.equal(e.code, "EEXIST");
      assert.equal(e.path, path);
      return true;
    });
    assert.deepEqual(readFileSync(path), before);
    assert.equal(existsSync(path + ".lock"), false);
    w = NpyAppendArray.openSync(path, { mode: "append" });
    w.appendSync([3]);
    w.closeSync();
    assert.deepEqual(dataF8(path), [1, 2, 3]);
    w = NpyAppendArray.openSync(path, { mode: "overwrite", descr: "<i2" });
    w.appendSync([7]);
    w.closeSync();
    assert.deepEqual(parseHeader(readFileSync(path)).descr, "<i2");
    assert.deepEqual(headerShape(path), [1]);
    assert.throws(
      () => NpyAppendArray.openSync(path, { mode: "bogus" as "append" }),
      /options\.mode is "bogus"/,
    );
  }),
);

test(
  "a descr the registry refuses: the message names the file and whose descr, the registry's reason is the cause",
  withDir((dir) => {
    const path = join(dir, "d.npy");
    const refusal = (whose: string, descr: string, action: RegExp) => (e: unknown) => {
      assert.ok(e instanceof NpyDtypeError, String(e));
      assert.equal(e.path, path);
      assert.match(e.message, action);
      assert.ok(e.message.endsWith(`: the registry has no dtype for ${whose} ${descr}`), e.message);
      assert.ok(e.cause instanceof NpyDtypeError);
      assert.doesNotMatch(e.message, /Cannot resolve/); // the cause's words stay in the cause
      return true;
    };
    // A misspelt options.descr: the suggestion is in the cause.
    assert.throws(
      () => NpyAppendArray.openSync(path, { descr: "flaot32" }),
      (e) => {
        refusal("options.descr", '"flaot32"', /^Cannot open "[^"]*d\.npy" for appending: /)(e);
        assert.match((e as Error & { cause: Error }).cause.message, /did you mean "<f4"/);
        return true;
      },
    );
    assert.equal(existsSync(path), false);
    // A chunk's own descr.
    const w = NpyAppendArray.openSync(path, { descr: "<f8" });
    assert.throws(
      () => w.appendSync({ data: [1], shape: [1], descr: "<q9" }),
      refusal("the chunk's descr", '"<q9"', /^Cannot append to "[^"]*d\.npy": /),
    );
    w.appendSync([1.5]);
    w.closeSync();
    // An existing file's descr that a registry without the float plugin does not know.
    const registry = new DtypeRegistry(BUILTIN_PLUGINS.filter((p) => p.name !== "numeric"));
    assert.throws(
      () => NpyAppendArray.openSync(path, { registry }),
      refusal("the file's descr", "'<f8'", /^Cannot open "[^"]*d\.npy" for appending: /),
    );
    assert.equal(existsSync(path + ".lock"), false);
  }),
);

test(
  "options.descr / shape / fortranOrder must match an existing file",
  withDir((dir) => {
    const path = join(dir, "x.npy");
    const w = NpyAppendArray.openSync(path, { descr: "<f4", shape: [2] });
    w.closeSync();
    assert.throws(() => NpyAppendArray.openSync(path, { descr: "<i4" }), (e) => {
      assert.ok(e instanceof NpyDtypeError);
      assert.match(e.message, /options\.descr '<i4' does not match the file's '<f4'/);
      return true;
    });
    assert.throws(() => NpyAppendArray.openSync(path, { shape: [3] }), NpyShapeError);
    assert.throws(() => NpyAppendArray.openSync(path, { fortranOrder: true }), NpyShapeError);
    // Equivalent spellings are accepted.
    NpyAppendArray.openSync(path, { descr: "f4", shape: [0, 2], fortranOrder: false }).closeSync();
    assert.equal(existsSync(path + ".lock"), false);
  }),
);

test(
  "invalid chunks throw typed errors naming the file, and leave it unchanged byte for byte",
  withDir(async (dir) => {
    const path = join(dir, "v.npy");
    const w = NpyAppendArray.openSync(path, { descr: "<i4", shape: [2] });
    w.appendSync([[1, 2]]);
    const before = readFileSync(path);
    const cases: [unknown, new (...a: never[]) => Error, RegExp][] = [
      [
        [[1, 2, 3]],
        NpyShapeError,
        /shape \(1, 3\) does not fit the file's rows of shape \(2,\): expected \(k, 2\)/,
      ],
      [[1, 2], NpyShapeError, /shape \(2,\) does not fit/],
      [[[1, 2], [3]], NpyShapeError, /ragged: the item at \[1\] is an array of 1 where /],
      [[[1, 2], [3, [4]]], NpyShapeError, /the item at \[1\]\[1\] is an array of 1 where/],
      [[[1, 2], 3], NpyShapeError, /the item at \[1\] is not an array where the first/],
      [[[1, Int32Array.of(2)]], NpyShapeError, /the item at \[0\]\[1\] is an array of 1/],
      [Int32Array.of(1, 2, 3), NpyShapeError, /flat chunk of 3 elements is not whole rows/],
      [Float64Array.of(1, 2), NpyDtypeError, /dtype '<i4' under casting "same_kind"/],
      [[[1.5, 2]], NpyDtypeError, /v\.npy/],
      [[[2 ** 40, 1]], NpyDtypeError, /v\.npy/],
      [[["a", "b"]], NpyDtypeError, /v\.npy/],
      ["junk", NpyShapeError, /v\.npy/],
      [null, NpyShapeError, /v\.npy/],
      [{ data: Int32Array.of(1, 2, 3), shape: [2, 2] }, NpyShapeError, /holds 3 elements/],
      [{ data: Int32Array.of(1, 2), shape: [1, -2] }, NpyShapeError, /not a list/],
    ];
    for (const [chunk, type, message] of cases) {
      assert.throws(() => w.appendSync(chunk as NpyChunk), (e) => {
        assert.ok(e instanceof type, `${JSON.stringify(chunk)}: ${e}`);
        assert.match((e as Error).message, /^Cannot append to "[^"]*v\.npy"/);
        // The message says what failed for the file; an inner error (the cause) says why.
        const cause = (e as Error).cause as Error | undefined;
        assert.match(`${(e as Error).message} ${cause?.message ?? ""}`, message);
        assert.equal((e as { path?: string }).path, path);
        return true;
      });
      await assert.rejects(w.append(chunk as NpyChunk), type);
    }
    assert.throws(() => w.appendSync([[1, 2, 3]]), (e) => {
      assert.ok(e instanceof NpyShapeError);
      assert.deepEqual(e.expected, [0, 2]);
      assert.deepEqual(e.actual, [1, 3]);
      return true;
    });
    assert.deepEqual(readFileSync(path), before);
    assert.equal(w.rows, 1);
    // Still usable after refusals; unsafe casting lets a float through.
    w.appendSync([[3, 4]]);
    w.closeSync();
    const u = NpyAppendArray.openSync(path, { casting: "unsafe" });
    u.appendSync(Float64Array.of(5.9, 6.1));
    u.closeSync();
    checkWithNumpy([{ name: "v", path, expect: "np.array([[1,2],[3,4],[5,6]], dtype='<i4')" }]);
  }),
);

test(
  "the first chunk decides; a lone value is one row; junk first chunks are refused",
  withDir((dir) => {
    const zero = join(dir, "zero.npy");
    const w = NpyAppendArray.openSync(zero);
    w.appendSync(42); // a lone number: one row of a 1-D file, never a 0-d array
    assert.deepEqual(w.shape, [1]);
    w.appendSync(43);
    w.appendSync([44, 45]);
    assert.deepEqual(w.shape, [4]);
    w.closeSync();
    const again = NpyAppendArray.openSync(zero);
    again.appendSync(46);
    again.closeSync();
    for (const [i, junk] of [undefined, Symbol("s"), () => 1, {}, [], [[]]].entries()) {
      const path = join(dir, `junk-${i}.npy`);
      const j = NpyAppendArray.openSync(path);
      assert.throws(() => j.appendSync(junk as NpyChunk), NpyDtypeError);
      assert.equal(j.descr, undefined);
      j.closeSync();
      // Nothing was ever written: the empty file is not left behind.
      assert.equal(existsSync(path), false);
    }
    // Raw bytes with a descr, and a DataView once the dtype is known.
    const raw = join(dir, "raw.npy");
    const r = NpyAppendArray.openSync(raw);
    r.appendSync({ data: new Uint8Array(Float32Array.of(1, 2).buffer), shape: [2], descr: "<f4" });
    r.appendSync(new DataView(Float32Array.of(3).buffer));
    r.closeSync();
    checkWithNumpy([
      { name: "lone values", path: zero, expect: "np.arange(42.0, 47.0)" },
      { name: "raw", path: raw, expect: "np.array([1, 2, 3], dtype='<f4')" },
    ]);
  }),
);

test(
  'un-awaited appends land in call order, never interleaved (also with durability: "append")',
  withDir(async (dir) => {
    for (const sync of ["none", "append"] as const) {
      const path = join(dir, `order-${sync}.npy`);
      const w = await NpyAppendArray.open(path, { durability: sync, descr: "<f8", shape: [3] });
      const pending: Promise<void>[] = [];
      const n = sync === "append" ? 40 : 2000;
      for (let i = 0; i < n; i++) {
        const rows = (i % 3) + 1;
        const chunk = new Float64Array(rows * 3);
        for (let k = 0; k < chunk.length; k++) chunk[k] = i;
        pending.push(i % 2 ? w.append(chunk) : w.append([...Array(rows)].map(() => [i, i, i])));
      }
      // A refused chunk in the middle rejects alone.
      const bad = w.append([[1, 2]]);
      pending.push(w.append([[n, n, n]]));
      await assert.rejects(bad, NpyShapeError);
      await Promise.all(pending);
      await w.close();
      const data = dataF8(path);
      const expected: number[] = [];
      for (let i = 0; i < n; i++) for (let k = 0; k < ((i % 3) + 1) * 3; k++) expected.push(i);
      expected.push(n, n, n);
      assert.deepEqual(data, expected);
      assert.equal(headerShape(path)[0], expected.length / 3);
    }
  }),
);

test(
  "rewriteHeaderOnAppend: false writes the header only at flush and close",
  withDir(async (dir) => {
    const path = join(dir, "lazy.npy");
    const w = await NpyAppendArray.open(path, { rewriteHeaderOnAppend: false });
    await w.append([[1, 2]]);
    assert.deepEqual(headerShape(path), [0, 2]); // valid, shows no rows yet
    await w.append([[3, 4]]);
    assert.deepEqual(headerShape(path), [0, 2]);
    await w.flush();
    assert.deepEqual(headerShape(path), [2, 2]);
    w.appendSync([[5, 6]]);
    assert.deepEqual(headerShape(path), [2, 2]);
    await w.close();
    assert.deepEqual(headerShape(path), [3, 2]);
    assert.deepEqual(dataF8(path), [1, 2, 3, 4, 5, 6]);
  }),
);

test(
  "bufferSize coalesces small appends; the header never claims unwritten rows",
  withDir(async (dir) => {
    const path = join(dir, "buf.npy");
    const w = await NpyAppendArray.open(path, { bufferSize: 64, descr: "<f8", shape: [2] });
    const header = statSync(path).size;
    await w.append([[1, 2]]); // 16 bytes, buffered
    await w.append([[3, 4]]);
    assert.equal(statSync(path).size, header);
    assert.deepEqual(headerShape(path), [0, 2]);
    assert.deepEqual(w.shape, [2, 2]);
    await w.append([[5, 6], [7, 8]]); // fills the 64 bytes: written, then the header
    assert.equal(statSync(path).size, header + 64);
    assert.deepEqual(headerShape(path), [4, 2]);
    await w.append([[9, 10]]);
    w.appendSync(new Float64Array(16).fill(11)); // 128 bytes: buffer first, then this
    assert.deepEqual(headerShape(path), [13, 2]);
    await w.append([[12, 12]]);
    await w.flush();
    assert.deepEqual(headerShape(path), [14, 2]);
    await w.close();
    const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...Array(16).fill(11), 12, 12];
    assert.deepEqual(dataF8(path), expected);
    // Buffered with sync "append" and rewriteHeaderOnAppend false.
    const p2 = join(dir, "buf2.npy");
    const w2 = NpyAppendArray.openSync(p2, {
      bufferSize: 40,
      durability: "append",
      rewriteHeaderOnAppend: false,
    });
    for (let i = 0; i < 10; i++) w2.appendSync([[i, i]]);
    w2.closeSync();
    assert.deepEqual(headerShape(p2), [10, 2]);
    checkWithNumpy([
      { name: "buf", path, expect: `np.array(${JSON.stringify(expected)}, '<f8').reshape(14, 2)` },
      { name: "buf2", path: p2, expect: "np.repeat(np.arange(10.0), 2).reshape(10, 2)" },
    ]);
  }),
);

test(
  'sync "none", "close" and "append" all produce the same file',
  withDir(async (dir) => {
    for (const sync of ["none", "close", "append"] as const) {
      const path = join(dir, `${sync}.npy`);
      const w = await NpyAppendArray.open(path, { durability: sync });
      await w.append(Float32Array.of(1, 2));
      w.appendSync(Float32Array.of(3));
      await w.flush();
      w.flushSync();
      await w.close();
      assert.deepEqual(headerShape(path), [3]);
    }
    assert.throws(() => NpyAppendArray.openSync(join(dir, "s.npy"), { durability: "x" as "none" }));
  }),
);

test(
  'onRecovery: "error" refuses a file whose data does not match; "truncate" and "zeroFill" fix it',
  withDir((dir) => {
    const make = (name: string) => {
      const path = join(dir, name);
      const w = NpyAppendArray.openSync(path, { descr: "<f8", shape: [2] });
      w.appendSync([[1, 2], [3, 4]]);
      w.closeSync();
      // A crash after writing a row and a half, before the header rewrite.
      appendFileSync(path, new Uint8Array(Float64Array.of(5, 6, 7).buffer));
      return path;
    };
    const a = make("a.npy");
    const before = readFileSync(a);
    assert.throws(() => NpyAppendArray.openSync(a), (e) => {
      assert.ok(e instanceof NpyRecoveryError);
      assert.equal(e.expectedBytes, 32);
      assert.equal(e.actualBytes, 56);
      assert.match(e.message, /onRecovery/);
      return true;
    });
    assert.deepEqual(readFileSync(a), before);
    assert.equal(existsSync(a + ".lock"), false);
    let w = NpyAppendArray.openSync(a, { onRecovery: "truncate" });
    assert.deepEqual(w.shape, [3, 2]);
    w.appendSync([[8, 9]]);
    w.closeSync();
    const b = make("b.npy");
    w = NpyAppendArray.openSync(b, { onRecovery: "zeroFill" });
    assert.deepEqual(w.shape, [4, 2]);
    w.closeSync();
    checkWithNumpy([
      { name: "truncate", path: a, expect: "np.array([[1,2],[3,4],[5,6],[8,9]], '<f8')" },
      { name: "zerofill", path: b, expect: "np.array([[1,2],[3,4],[5,6],[7,0]], '<f8')" },
    ]);
    // Not a .npy file at all.
    const junk = join(dir, "junk.npy");
    writeFileSync(junk, "hello, world");
    assert.throws(() => NpyAppendArray.openSync(junk), NpyFormatError);
  }),
);

test(
  "close is idempotent, appends after close throw, using and await using close",
  withDir(async (dir) => {
    const path = join(dir, "c.npy");
    const w = await NpyAppendArray.open(path);
    await w.append([1]);
    const p1 = w.close();
    const p2 = w.close();
    await Promise.all([p1, p2]);
    w.closeSync();
    assert.equal(w.closed, true);
    await assert.rejects(w.append([2]), /Cannot append to "[^"]*c\.npy": the writer is closed/);
    assert.throws(() => w.appendSync([2]), /the writer is closed/);
    await w.flush();
    {
      await using a = await NpyAppendArray.open(path);
      await a.append([2]);
    }
    {
      using s = NpyAppendArray.openSync(path);
      s.appendSync([3]);
    }
    assert.deepEqual(dataF8(path), [1, 2, 3]);
    assert.equal(existsSync(path + ".lock"), false);
  }),
);

test(
  "writable streams chunks with backpressure; appendFrom takes (async) iterables",
  withDir(async (dir) => {
    const path = join(dir, "s.npy");
    const w = await NpyAppendArray.open(path, { descr: "<f8", shape: [2] });
    async function* gen() {
      for (let i = 0; i < 5; i++) yield [[i, i]];
    }
    assert.equal(await w.appendFrom(gen()), 5);
    assert.equal(await w.appendFrom([Float64Array.of(5, 5, 6, 6)]), 2);
    assert.equal(w.writable, w.writable);
    const writer = w.writable.getWriter();
    for (let i = 7; i < 10; i++) {
      await writer.ready;
      await writer.write([[i, i]]);
    }
    await writer.close();
    assert.equal(w.closed, true);
    assert.deepEqual(headerShape(path), [10, 2]);
    // A refused chunk errors the stream.
    const p2 = join(dir, "s2.npy");
    const w2 = await NpyAppendArray.open(p2, { descr: "<f8", shape: [2] });
    await assert.rejects(
      new ReadableStream({
        start(c) {
          c.enqueue([[1, 2]]);
          c.enqueue([[1, 2, 3]]);
          c.close();
        },
      }).pipeTo(w2.writable),
      NpyShapeError,
    );
    await w2.close();
    assert.deepEqual(headerShape(p2), [1, 2]);
  }),
);

test(
  "offsets past 4 GiB: appending to a (sparse) 4 GiB file lands at the right place",
  withDir((dir) => {
    const path = join(dir, "big.npy");
    const MiB = 1 << 20;
    const header = encodeHeader({ descr: "|u1", fortranOrder: false, shape: [4100, MiB] });
    writeFileSync(path, header);
    truncateSync(path, header.length + 4100 * MiB); // sparse: no disk used
    // (durability: "none": an fdatasync of a fresh 4 GiB sparse file can take seconds)
    const w = NpyAppendArray.openSync(path, { durability: "none" });
    w.appendSync(new Uint8Array(MiB).fill(7));
    w.closeSync();
    const size = header.length + 4101 * MiB;
    assert.equal(statSync(path).size, size);
    assert.deepEqual(headerShape(path), [4101, MiB]);
    const fd = openSync(path, "r");
    const tail = new Uint8Array(4);
    readSync(fd, tail, 0, 4, size - 4);
    const before = new Uint8Array(1);
    readSync(fd, before, 0, 1, size - MiB - 1);
    closeSync(fd);
    assert.deepEqual([...tail, ...before], [7, 7, 7, 7, 0]);
  }),
);

test(
  'onRecovery: "truncate" on a tight header that must grow: the file is rewritten, then appended',
  withDir((dir) => {
    const path = join(dir, "tight.npy");
    const fields = { descr: "<f8", fortranOrder: false, shape: [3] };
    let header: Uint8Array | undefined;
    for (let n = 40; header === undefined; n++) {
      try {
        header = encodeHeader(fields, { totalLength: n });
      } catch {
        // too short
      }
    }
    // The header claims 3 rows; the data holds 12 (a crash with rewriteHeaderOnAppend off).
    const data = new Float64Array(12).map((_, i) => i);
    writeFileSync(path, new Uint8Array([...header, ...new Uint8Array(data.buffer)]));
    const w = NpyAppendArray.openSync(path, { onRecovery: "truncate" });
    assert.deepEqual(w.shape, [12]);
    w.appendSync([12, 13]);
    w.closeSync();
    checkWithNumpy([{ name: "tight", path, expect: "np.arange(14, dtype='<f8')" }]);
  }),
);

test("an ndarray-like's own descr is checked: an unknown one is refused, a known spelling accepted", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "like.npy");
    using w = NpyAppendArray.openSync(path, { descr: "<f8" });
    assert.equal(existsSync(path), false, "no header yet, so no file yet");
    assert.throws(() => w.appendSync({ data: [1, 2], shape: [2], descr: "<q9" }), NpyDtypeError);
    assert.equal(existsSync(path), false, "nothing written");
    w.appendSync({ data: [1, 2], shape: [2], descr: "<f8" });
    w.appendSync({ data: [3, 4], shape: [2], descr: "=f8" });
    assert.equal(w.rows, 4);
  } finally {
    cleanup();
  }
});

test(
  "a lone record or scalar is one row; append never makes a 0-d file; a 0-d file is refused at open",
  withDir(async (dir) => {
    const p = (name: string) => join(dir, name);
    // A record file: lone records are rows, as are arrays of them.
    const rec = await NpyAppendArray.open(p("rec.npy"), {
      descr: [["t", "<i8"], ["x", "<f8", [2]]],
    });
    await rec.append({ t: 1n, x: [1, 2] });
    assert.deepEqual(rec.shape, [1]);
    rec.appendSync({ t: 2n, x: [3, 4] });
    await rec.append([{ t: 3n, x: [5, 6] }, { t: 4n, x: [7, 8] }]);
    await rec.close();
    // Records inferred from a lone plain object, then more of them.
    const inferred = NpyAppendArray.openSync(p("inferred.npy"));
    inferred.appendSync({ a: 1, b: true });
    inferred.appendSync({ a: 2, b: false });
    assert.deepEqual(inferred.shape, [2]);
    inferred.closeSync();
    // Scalars: a number, a bigint, a 0-d ndarray-like, in a new file, C and Fortran order.
    const num = NpyAppendArray.openSync(p("num.npy"));
    num.appendSync(5);
    num.appendSync({ data: Float64Array.of(6), shape: [] });
    num.appendSync([7, 8]);
    assert.deepEqual(num.shape, [4]);
    num.closeSync();
    const big = NpyAppendArray.openSync(p("big.npy"), { fortranOrder: true });
    big.appendSync(9n);
    big.appendSync(BigInt64Array.of(10n, 11n));
    big.closeSync();
    const declared = NpyAppendArray.openSync(p("declared.npy"), { descr: "<i2", shape: [] });
    declared.appendSync(3);
    declared.appendSync(Int16Array.of(4));
    declared.closeSync();
    // A lone value where rows have elements: a clear error, the file unchanged.
    const rows = NpyAppendArray.openSync(p("rows.npy"), { descr: "<f4", shape: [0, 3] });
    rows.appendSync([[1, 2, 3]]);
    const before = readFileSync(p("rows.npy"));
    for (const lone of [5, { data: Float32Array.of(5), shape: [] }]) {
      assert.throws(() => rows.appendSync(lone), (e) => {
        assert.ok(e instanceof NpyShapeError);
        assert.match(
          e.message,
          /^Cannot append to ".*rows\.npy": the chunk is a single value \(shape \(\)\), but the file's rows have shape \(3,\): expected a chunk of shape \(k, 3\)$/,
        );
        assert.deepEqual(e.actual, []);
        return true;
      });
    }
    rows.closeSync();
    assert.deepEqual(readFileSync(p("rows.npy")), before);
    checkWithNumpy([
      {
        name: "records",
        path: p("rec.npy"),
        expect: "np.array([(1, [1, 2]), (2, [3, 4]), (3, [5, 6]), (4, [7, 8])], " +
          "dtype=[('t', '<i8'), ('x', '<f8', (2,))])",
      },
      {
        name: "inferred",
        path: p("inferred.npy"),
        expect: "np.array([(1.0, True), (2.0, False)], dtype=[('a', '<f8'), ('b', '|b1')])",
      },
      { name: "scalars", path: p("num.npy"), expect: "np.array([5., 6., 7., 8.])" },
      { name: "fortran", path: p("big.npy"), expect: "np.array([9, 10, 11], dtype='<i8')" },
      { name: "declared", path: p("declared.npy"), expect: "np.array([3, 4], dtype='<i2')" },
      { name: "rows", path: p("rows.npy"), expect: "np.array([[1, 2, 3]], dtype='<f4')" },
    ]);
    // A 0-d file (only saveNpy writes one; here NumPy): refused at open, unchanged.
    const zero = p("zero.npy");
    runPython(`np.save(json.load(sys.stdin), np.float64(42)); print("null")`, zero);
    const saved = readFileSync(zero);
    assert.throws(() => NpyAppendArray.openSync(zero), (e) => {
      assert.ok(e instanceof NpyShapeError);
      assert.match(e.message, /^Cannot open ".*zero\.npy" for appending: it holds a 0-d array/);
      return true;
    });
    assert.deepEqual(readFileSync(zero), saved);
    assert.equal(existsSync(zero + ".lock"), false);
  }),
);
