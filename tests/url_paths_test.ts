/**
 * Every function that takes a file's path also takes a `file:` URL
 * (`new URL("./x.npy", import.meta.url)`), with the lock, temp files and messages on the
 * file-system path it names; other URLs and non-paths are refused with a TypeError.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ensureAppendable,
  ensureAppendableSync,
  isAppendable,
  isAppendableSync,
  loadNpy,
  loadNpySync,
  mergeStacks,
  mergeStacksSync,
  needsRecovery,
  needsRecoverySync,
  NpyAppendArray,
  NpyReader,
  NpyStackReader,
  NpyStackWriter,
  recover,
  recoverStack,
  recoverStackSync,
  recoverSync,
  saveNpy,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir, runPython } from "./_util.ts";

test("file: URLs work wherever a path does; NumPy reads what was written through them", async () => {
  const { dir, cleanup } = makeTempDir("npy-url-");
  try {
    // A directory name with a space and a non-ASCII letter: the URL percent-encodes both.
    const path = join(dir, "dé part", "x.npy");
    await import("node:fs").then((fs) => fs.mkdirSync(join(dir, "dé part")));
    const url = pathToFileURL(path);
    assert.match(url.href, /d%C3%A9%20part/);
    {
      await using w = await NpyAppendArray.open(url, { mode: "overwrite" });
      assert.equal(w.path, path, "the writer reports the file-system path");
      await w.append([[1, 2], [3, 4]]);
      assert.ok(existsSync(path + ".lock"), "the lock is beside the file, not a URL text");
    }
    {
      using w = NpyAppendArray.openSync(url);
      w.appendSync([[5, 6]]);
    }
    assert.equal(existsSync(path + ".lock"), false);
    {
      await using r = await NpyReader.open(url);
      assert.equal(r.path, path);
      assert.deepEqual(r.shape, [3, 2]);
    }
    NpyReader.openSync(url).closeSync();
    assert.deepEqual((await loadNpy(url)).data, Float64Array.of(1, 2, 3, 4, 5, 6));
    assert.deepEqual(loadNpySync(url).shape, [3, 2]);
    assert.equal(await isAppendable(url), true);
    assert.equal(isAppendableSync(url), true);
    assert.equal(await needsRecovery(url), false);
    // Repair through URLs.
    truncateSync(path, readFileSync(path).length - 3);
    assert.equal(needsRecoverySync(url), true);
    assert.deepEqual((await recover(url, { dryRun: true })).rows, 2);
    assert.equal(recoverSync(url).rows, 2);
    assert.equal((await recover(url)).rows, 2);
    assert.equal((await ensureAppendable(url)).changed, false);
    assert.equal(ensureAppendableSync(url).changed, false);
    // saveNpy through a URL, then NumPy checks both files.
    const saved = join(dir, "dé part", "s.npy");
    await saveNpy(pathToFileURL(saved), Int16Array.of(7, 8));
    saveNpySync(pathToFileURL(saved + "2.npy"), Int16Array.of(9));
    const got = runPython<number[][]>(
      `d = json.load(sys.stdin)
print(json.dumps([np.load(p).ravel().tolist() for p in d]))`,
      [path, saved, saved + "2.npy"],
    );
    assert.deepEqual(got, [[1, 2, 3, 4], [7, 8], [9]]);
    // Stacks too.
    const stack = pathToFileURL(join(dir, "dé part", "stack"));
    {
      await using s = await NpyStackWriter.open(stack, { descr: "<i4", shape: [], shardRows: 2 });
      await s.append(Int32Array.of(1, 2, 3));
    }
    {
      await using s = await NpyStackReader.open(stack);
      assert.equal(s.rows, 3);
    }
    NpyStackReader.openSync(stack).closeSync();
  } finally {
    cleanup();
  }
});

test("mergeStacks and recoverStack take file: URLs as every other path API does", async () => {
  const { dir, cleanup } = makeTempDir("npy-url-");
  try {
    const root = join(dir, "dé part");
    await import("node:fs").then((fs) => fs.mkdirSync(root));
    const url = (name: string) => pathToFileURL(join(root, name));
    for (const [name, first] of [["a", 0], ["b", 10]] as const) {
      using w = NpyStackWriter.openSync(url(name), { descr: "<i4", shape: [], shardRows: 2 });
      w.appendSync(Int32Array.of(first, first + 1, first + 2));
    }
    // A writer that stopped mid-shard: shard 1.npy of "c", present but not listed.
    NpyStackWriter.openSync(url("c"), { descr: "<i4", shape: [], shardRows: 2 }).closeSync();
    {
      using open = NpyAppendArray.openSync(url("c/1.npy"), { descr: "<i4", shape: [] });
      open.appendSync(Int32Array.of(20, 21));
    }
    assert.deepEqual(await recoverStack(url("c")), { rows: 2, shardRows: [0, 2], adopted: [1] });
    assert.deepEqual(recoverStackSync(url("c")).adopted, []);
    const merged = await mergeStacks(url("ab"), [url("a"), url("b")]);
    assert.deepEqual(merged, { rows: 6, shardRows: [2, 1, 2, 1] });
    // Mixed strings and URLs; the messages and the stack carry file-system paths.
    assert.equal(mergeStacksSync(join(root, "abc"), [url("ab"), join(root, "c")]).rows, 8);
    await assert.rejects(mergeStacks(url("x"), [url("a"), url("missing")]), (e) => {
      assert.match((e as Error).message, new RegExp(`${"dé part"}.*no such directory`));
      assert.doesNotMatch((e as Error).message, /file:|%20/);
      return true;
    });
    assert.throws(
      () => mergeStacksSync(url("y"), [new URL("https://example.invalid/a")]),
      TypeError,
    );
    assert.throws(() => recoverStackSync(new URL("https://example.invalid/a")), TypeError);
    const values = runPython<number[]>(
      `import os
d = json.load(sys.stdin)
n = len([f for f in os.listdir(d) if f.endswith(".npy")])
print(json.dumps(np.concatenate([np.load(os.path.join(d, "%d.npy" % i)) for i in range(n)]).tolist()))`,
      join(root, "abc"),
    );
    assert.deepEqual(values, [0, 1, 2, 10, 11, 12, 20, 21]);
  } finally {
    cleanup();
  }
});

test("a URL that is not file:, or a value that is not a path, is a TypeError", async () => {
  const web = new URL("https://example.invalid/x.npy");
  await assert.rejects(NpyAppendArray.open(web), (e) => {
    assert.ok(e instanceof TypeError);
    assert.match((e as Error).message, /only file: URLs are files/);
    return true;
  });
  assert.throws(() => NpyReader.openSync(web), TypeError);
  assert.throws(() => loadNpySync(web), TypeError);
  assert.throws(() => recoverSync(42 as unknown as string), /expected a string or a file: URL/);
});
