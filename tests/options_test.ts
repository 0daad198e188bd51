/**
 * Options objects refuse keys they do not know (a misspelt or renamed option must not run
 * silently with its default), and the "did you mean" behind that message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  encodeNpy,
  ensureAppendable,
  ensureAppendableSync,
  isAppendable,
  isAppendableSync,
  loadNpy,
  loadNpySync,
  needsRecovery,
  needsRecoverySync,
  NpyAppendArray,
  NpyReader,
  parseNpy,
  recover,
  recoverSync,
  saveNpy,
  saveNpySync,
} from "../mod.ts";
import { closest, editDistance } from "../lib/_suggest.ts";
import { makeTempDir } from "./_util.ts";

/** Asserts a TypeError naming the unknown key and, when given, the suggestion. */
function unknownOption(key: string, suggestion?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof TypeError, `a TypeError, got ${err}`);
    assert.match(err.message, new RegExp(`unknown option "${key}"`));
    if (suggestion !== undefined) {
      assert.match(err.message, new RegExp(`did you mean "${suggestion}"\\?`));
    } else {
      assert.doesNotMatch(err.message, /did you mean/);
      assert.match(err.message, /\(options: /);
    }
    return true;
  };
}

test("editDistance() counts insertions, deletions, substitutions and swaps", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("bufferSzie", "bufferSize"), 1); // one swap
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("flaot32", "float32"), 1);
  assert.equal(editDistance("ca", "abc"), 3); // optimal string alignment, not full Damerau
  assert.equal(editDistance("same", "same"), 0);
});

test("closest() suggests only candidates near enough to be meant", () => {
  const keys = ["bufferSize", "mode", "descr", "shape", "rewriteHeaderOnAppend"];
  assert.equal(closest("bufferSzie", keys), "bufferSize");
  assert.equal(closest("buffersize", keys), "bufferSize"); // case does not count
  assert.equal(closest("mdoe", keys), "mode");
  assert.equal(closest("rewriteHeaderOnAppnd", keys), "rewriteHeaderOnAppend");
  assert.equal(closest("zzzzzz", keys), undefined);
  assert.equal(closest("x", []), undefined);
});

test("NpyAppendArray.open/openSync refuse an unknown option before touching the file", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const fresh = join(dir, "fresh.npy");
    const options = { mode: "overwrite", bufferSzie: 1 << 20 } as Record<string, unknown>;
    assert.throws(
      () => NpyAppendArray.openSync(fresh, options),
      unknownOption("bufferSzie", "bufferSize"),
    );
    await assert.rejects(
      NpyAppendArray.open(fresh, options),
      unknownOption("bufferSzie", "bufferSize"),
    );
    assert.equal(existsSync(fresh), false, "no file made");
    assert.equal(existsSync(fresh + ".lock"), false, "no lock taken");
    // An existing file stays byte-identical; a key that is nothing like an option lists them,
    // and the Python package's argument names are named for what they are here.
    const old = join(dir, "old.npy");
    saveNpySync(old, Float32Array.of(1, 2, 3));
    const before = readFileSync(old);
    assert.throws(
      () => NpyAppendArray.openSync(old, { mode: "overwrite", quux: 1 } as Record<string, unknown>),
      unknownOption("quux"),
    );
    assert.throws(
      () =>
        NpyAppendArray.openSync(
          old,
          { rewrite_header_on_append: false } as Record<string, unknown>,
        ),
      /unknown option "rewrite_header_on_append": .*Python.* here it is rewriteHeaderOnAppend/,
    );
    assert.throws(
      () => NpyAppendArray.openSync(old, { sync: "append" } as Record<string, unknown>),
      /unknown option "sync": it is now "durability" \(the same values\)/,
    );
    assert.throws(
      () => NpyAppendArray.openSync(old, { delete_if_exists: true } as Record<string, unknown>),
      (err: unknown) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /unknown option "delete_if_exists": that is the Python/);
        assert.match(err.message, /here it is mode: "overwrite"/);
        return true;
      },
    );
    assert.deepEqual(readFileSync(old), before);
    // Every documented option is accepted.
    const w = NpyAppendArray.openSync(old, {
      mode: "append",
      descr: "<f4",
      shape: [0],
      fortranOrder: false,
      casting: "same_kind",
      rewriteHeaderOnAppend: true,
      durability: "none",
      bufferSize: 0,
      lock: true,
      onRecovery: "error",
      maxHeaderSize: 10_000,
    });
    w.closeSync();
  } finally {
    cleanup();
  }
});

test("NpyReader, loadNpy and parseNpy refuse unknown options; read and chunks too", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "a.npy");
    saveNpySync(path, { data: Int16Array.of(1, 2, 3, 4), shape: [4] });
    const bad = { allowTruncate: true } as Record<string, unknown>;
    assert.throws(
      () => NpyReader.openSync(path, bad),
      unknownOption("allowTruncate", "allowTruncated"),
    );
    await assert.rejects(
      NpyReader.open(path, bad),
      unknownOption("allowTruncate", "allowTruncated"),
    );
    assert.throws(
      () => loadNpySync(path, { layuot: "columns" } as Record<string, unknown>),
      unknownOption("layuot", "layout"),
    );
    await assert.rejects(
      loadNpy(path, { maxHeaderSise: 1 } as Record<string, unknown>),
      unknownOption("maxHeaderSise", "maxHeaderSize"),
    );
    assert.throws(
      () => parseNpy(readFileSync(path), bad),
      unknownOption("allowTruncate", "allowTruncated"),
    );
    using r = NpyReader.openSync(path, {
      layout: "objects",
      allowTruncated: false,
      maxHeaderSize: 10_000,
    });
    assert.throws(
      () => r.readSync(0, 1, { layot: "columns" } as Record<string, unknown>),
      unknownOption("layot", "layout"),
    );
    await assert.rejects(
      r.read(0, 1, { rows: 1 } as Record<string, unknown>),
      unknownOption("rows"),
    );
    assert.throws(
      () => [...r.chunksSync({ row: 2 } as Record<string, unknown>)],
      unknownOption("row", "rows"),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of r.chunks({ strat: 1 } as Record<string, unknown>)) { /* none */ }
      })(),
      unknownOption("strat", "start"),
    );
    // The known ones still work.
    assert.deepEqual(
      [...r.chunksSync({ rows: 2, start: 1, end: -1, layout: "objects" })].map((
        c,
      ) => [...(c.data as Int16Array)]),
      [[2, 3]],
    );
  } finally {
    cleanup();
  }
});

test("the repair functions, encodeNpy and saveNpy refuse unknown options too", async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, "r.npy");
    saveNpySync(path, Float32Array.of(1, 2));
    const before = readFileSync(path);
    const bad = (key: string) => ({ [key]: true }) as Record<string, unknown>;
    await assert.rejects(recover(path, bad("zerofill")), unknownOption("zerofill", "zeroFill"));
    assert.throws(() => recoverSync(path, bad("dry_run")), unknownOption("dry_run", "dryRun"));
    assert.throws(
      () => recoverSync(path, bad("zerofill_incomplete")),
      /zerofill_incomplete": that is the Python package's name; here it is zeroFill/,
    );
    await assert.rejects(ensureAppendable(path, bad("inplace")), /here it is inPlace/);
    assert.throws(
      () => ensureAppendableSync(path, bad("inPlce")),
      unknownOption("inPlce", "inPlace"),
    );
    await assert.rejects(
      isAppendable(path, bad("maxHeader")),
      unknownOption("maxHeader", "maxHeaderSize"),
    );
    assert.throws(() => isAppendableSync(path, bad("lock")), unknownOption("lock"));
    await assert.rejects(needsRecovery(path, bad("dryRun")), unknownOption("dryRun"));
    assert.throws(() => needsRecoverySync(path, bad("zeroFill")), unknownOption("zeroFill"));
    assert.throws(() => encodeNpy([1], bad("desc")), unknownOption("desc", "descr"));
    assert.throws(
      () => saveNpySync(path, [1], bad("verison")),
      unknownOption("verison", "version"),
    );
    await assert.rejects(
      saveNpy(path, [1], bad("fortran")),
      unknownOption("fortran", "fortranOrder"),
    );
    assert.deepEqual(readFileSync(path), before, "nothing was written");
  } finally {
    cleanup();
  }
});
