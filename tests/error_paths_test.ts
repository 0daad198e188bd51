/**
 * System errors name the user's file, never a lock or temp file: each reads
 * `Cannot <verb> "<the user's path>": <reason> (<code>)` and keeps `code` and `cause`. For
 * a missing directory, a directory in the file's place, and (for real, in a child run as
 * the unprivileged user `nobody`, since root may write anything) a read-only file and a
 * read-only directory; through the writer, saveNpy, recover, ensureAppendable and the `npy`
 * command.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import process from "node:process";
import { main } from "../cli.ts";
import {
  encodeHeader,
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
  recover,
  recoverSync,
  saveNpy,
  saveNpySync,
} from "../mod.ts";
import { makeTempDir } from "./_util.ts";
import { childCommand, entryModuleUrl } from "./_writer_util.ts";

type Attempt = [what: string, verb: string, run: () => unknown];

/** Runs each attempt; returns what it threw (or `undefined`), as plain data. */
async function failures(attempts: Attempt[]) {
  const out = [];
  for (const [what, verb, run] of attempts) {
    let error: (Error & { code?: string; cause?: { code?: string } }) | undefined;
    try {
      await run();
    } catch (e) {
      error = e as Error & { code?: string; cause?: { code?: string } };
    }
    out.push({
      what,
      verb,
      message: error?.message,
      code: error?.code,
      causeCode: error?.cause?.code,
    });
  }
  return out;
}

type Failure = Awaited<ReturnType<typeof failures>>[number];

function checkWorded(f: Failure, path: string, code: string): void {
  const quoted = JSON.stringify(path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  assert.ok(f.message !== undefined, `${f.what}: did not fail`);
  assert.match(f.message, new RegExp(`^Cannot ${f.verb} ${quoted}.*: .*\\(${code}\\)$`), f.what);
  assert.doesNotMatch(f.message, /\.lock|\.tmp/, `${f.what} names a lock or temp file`);
  assert.equal(f.code, code, `${f.what}: code`);
  assert.equal(f.causeCode, code, `${f.what}: cause`);
}

async function npy(args: string[]) {
  let err = "";
  const code = await main(args, { stdout: () => {}, stderr: (t) => void (err += t) });
  return { code, err };
}

test("a missing directory: the error names the user's file and the directory, not the lock", async () => {
  const { dir, cleanup } = makeTempDir("npy-nodir-");
  try {
    const path = join(dir, "no", "such", "x.npy");
    const results = await failures([
      ["open()", "open", () => NpyAppendArray.open(path)],
      ["openSync()", "open", () => NpyAppendArray.openSync(path, { descr: "<f8" })],
      ["open({ lock: false })", "open", () => NpyAppendArray.open(path, { lock: false })],
      ["overwrite", "open", () => NpyAppendArray.openSync(path, { mode: "overwrite" })],
      ["saveNpy()", "write", () => saveNpy(path, [1, 2])],
      ["saveNpySync()", "write", () => saveNpySync(path, [1, 2])],
      ["recover()", "recover", () => recover(path)],
      ["recoverSync()", "recover", () => recoverSync(path)],
      ["ensureAppendable()", "make", () => ensureAppendable(path)],
      ["ensureAppendableSync()", "make", () => ensureAppendableSync(path)],
      ["NpyReader.open()", "read", () => NpyReader.open(path)],
      ["loadNpySync()", "read", () => loadNpySync(path)],
      ["isAppendable()", "read", () => isAppendable(path)],
      ["needsRecoverySync()", "read", () => needsRecoverySync(path)],
    ]);
    for (const f of results) {
      checkWorded(f, path, "ENOENT");
      assert.match(f.message!, /the directory ".*no[/\\]such" does not exist|no such file/);
    }
    assert.match(results[0]?.message ?? "", /for appending: the directory ".*such" does not exist/);
    assert.equal(existsSync(join(dir, "no")), false);
    // The command: one line naming OUT.
    const a = join(dir, "a.npy");
    saveNpySync(a, [1, 2]);
    for (const args of [["concat", path, a], ["append", path, a], ["recover", path]]) {
      const run = await npy(args);
      assert.equal(run.code, 1);
      assert.match(run.err, new RegExp(`^npy ${args[0]}: Cannot \\w+ ${JSON.stringify(path)}`));
      assert.doesNotMatch(run.err, /\.lock|\.tmp/);
      assert.match(run.err, /\(ENOENT\)\n$/);
    }
  } finally {
    cleanup();
  }
});

test("a directory in the file's place: EISDIR naming it, no lock or temp file left", async () => {
  const { dir, cleanup } = makeTempDir("npy-isdir-");
  try {
    const path = join(dir, "d.npy");
    mkdirSync(path);
    const results = await failures([
      ["open()", "open", () => NpyAppendArray.open(path)],
      ["openSync({ lock: false })", "open", () => NpyAppendArray.openSync(path, { lock: false })],
      ["saveNpy()", "write", () => saveNpy(path, [1, 2])],
      ["saveNpySync()", "write", () => saveNpySync(path, [1, 2])],
      ["recover()", "recover", () => recover(path)],
      ["ensureAppendableSync()", "make", () => ensureAppendableSync(path)],
      ["NpyReader.openSync()", "read", () => NpyReader.openSync(path)],
      ["loadNpy()", "read", () => loadNpy(path)],
      ["isAppendableSync()", "read", () => isAppendableSync(path)],
      ["needsRecovery()", "read", () => needsRecovery(path)],
    ]);
    for (const f of results) checkWorded(f, path, "EISDIR");
    const a = join(dir, "a.npy");
    saveNpySync(a, [1, 2]);
    const run = await npy(["concat", "--force", path, a]);
    assert.equal(run.code, 1);
    assert.match(run.err, /^npy concat: Cannot write ".*d\.npy": is a directory \(EISDIR\)\n$/);
    assert.deepEqual(readdirSync(dir).sort(), ["a.npy", "d.npy"]);
  } finally {
    cleanup();
  }
});

/** Whether this process may run a child as `nobody` (root, with setpriv). */
function canDropPrivileges(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  return spawnSync("setpriv", ["--version"]).status === 0;
}

test(
  "a read-only file and a read-only directory, for real (a child run as nobody): EACCES naming the file",
  {
    skip: canDropPrivileges() ? false : "needs root and setpriv to run a child as nobody",
    timeout: 120_000,
  },
  () => {
    const { dir, cleanup } = makeTempDir("npy-eacces-");
    const library = makeTempDir("npy-eacces-library-");
    try {
      chmodSync(dir, 0o755);
      chmodSync(library.dir, 0o755);
      const file = join(dir, "ro.npy"); // root's, 0644: nobody may read it, not write it
      saveNpySync(file, { data: Float64Array.of(1, 2, 3, 4), shape: [2, 2] });
      writeFileSync(join(dir, "cut.npy"), Buffer.concat([readFileSync(file), Buffer.of(1, 2)]));
      const before = readFileSync(file);
      mkdirSync(join(dir, "work"), { mode: 0o777 });
      chmodSync(join(dir, "work"), 0o777);
      const newFile = join(dir, "new.npy"); // in a directory nobody may not write to
      const inWork = join(dir, "work", "ro.npy"); // read-only, in a directory nobody may write
      saveNpySync(inWork, { data: Float64Array.of(1, 2), shape: [1, 2] });
      const own = join(dir, "work", "own.npy"); // nobody's own file, made read-only (0444)
      saveNpySync(own, { data: Float64Array.of(3, 4), shape: [1, 2] });
      chownSync(own, 65534, 65534);
      chmodSync(own, 0o444);
      const ownBefore = readFileSync(own);
      const inWorkBefore = readFileSync(inWork);
      // The child imports a copy of the library in a folder `nobody` may read: the checkout
      // may sit in one it may not (a `mktemp -d` clone is 0700).
      const source = (url: string) => fileURLToPath(url);
      const from = dirname(source(entryModuleUrl("mod")));
      const copy = join(library.dir, "library");
      for (const name of readdirSync(from)) {
        if (/^(mod|core|cli)\.(ts|js)$/.test(name) || ["cli", "lib", "dtypes"].includes(name)) {
          cpSync(join(from, name), join(copy, name), { recursive: true });
        }
      }
      writeFileSync(join(copy, "package.json"), JSON.stringify({ type: "module" }));
      const inCopy = (url: string) => pathToFileURL(join(copy, basename(source(url)))).href;
      const modUrl = inCopy(entryModuleUrl("mod"));
      const cliUrl = inCopy(entryModuleUrl("cli"));
      const script = join(dir, "work", "child.mjs");
      writeFileSync(
        script,
        `
import * as lib from ${JSON.stringify(modUrl)};
import { main } from ${JSON.stringify(cliUrl)};
const attempts = [
  ["open() a read-only file", ${JSON.stringify(file)}, () => lib.NpyAppendArray.open(${
          JSON.stringify(file)
        }, { lock: false })],
  ["open() a read-only file, locked", ${JSON.stringify(inWork)}, () => lib.NpyAppendArray.open(${
          JSON.stringify(inWork)
        })],
  ["overwrite a read-only file", ${JSON.stringify(file)}, () => lib.NpyAppendArray.openSync(${
          JSON.stringify(file)
        }, { mode: "overwrite", lock: false })],
  ["recover() a read-only file", ${JSON.stringify(join(dir, "cut.npy"))}, () => lib.recover(${
          JSON.stringify(join(dir, "cut.npy"))
        }, { lock: false })],
  ["saveNpy() into a read-only directory", ${JSON.stringify(newFile)}, () => lib.saveNpy(${
          JSON.stringify(newFile)
        }, [1])],
  ["saveNpySync() over a file in a read-only directory", ${
          JSON.stringify(file)
        }, () => lib.saveNpySync(${JSON.stringify(file)}, [1])],
  ["saveNpySync() over a read-only file", ${JSON.stringify(inWork)}, () => lib.saveNpySync(${
          JSON.stringify(inWork)
        }, [1])],
  ["saveNpy() over a read-only file of its own (0444)", ${JSON.stringify(own)}, () => lib.saveNpy(${
          JSON.stringify(own)
        }, [1])],
  ["saveNpySync() over a read-only file of its own (0444)", ${
          JSON.stringify(own)
        }, () => lib.saveNpySync(${JSON.stringify(own)}, [1])],
];
const out = [];
for (const [what, path, run] of attempts) {
  try {
    await run();
    out.push({ what, path });
  } catch (e) {
    out.push({ what, path, message: e.message, code: e.code, causeCode: e.cause?.code });
  }
}
let err = "";
const code = await main(["concat", ${JSON.stringify(newFile)}, ${
          JSON.stringify(file)
        }], { stdout: () => {}, stderr: (t) => void (err += t) });
out.push({ what: "npy concat", code, err });
for (const target of [${JSON.stringify(inWork)}, ${JSON.stringify(own)}]) {
  let forced = "";
  const code = await main(["concat", "--force", target, ${
          JSON.stringify(file)
        }], { stdout: () => {}, stderr: (t) => void (forced += t) });
  out.push({ what: "npy concat --force", code, err: forced });
}
console.log(JSON.stringify(out));
`,
      );
      const [cmd, args] = childCommand(script);
      const home = join(dir, "work");
      const r = spawnSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", cmd, ...args],
        {
          encoding: "utf8",
          cwd: home,
          env: { ...process.env, HOME: home, DENO_DIR: join(home, ".deno"), NO_COLOR: "1" },
        },
      );
      assert.equal(r.status, 0, `child failed (${r.status}): ${r.stderr}`);
      const results = JSON.parse(r.stdout.trim().split("\n").pop()!);
      const verbs: Record<string, string> = {
        "open() a read-only file": "open",
        "open() a read-only file, locked": "open",
        "overwrite a read-only file": "open",
        "recover() a read-only file": "recover",
        "saveNpy() into a read-only directory": "write",
        "saveNpySync() over a file in a read-only directory": "write",
        "saveNpySync() over a read-only file": "write",
        "saveNpy() over a read-only file of its own (0444)": "write",
        "saveNpySync() over a read-only file of its own (0444)": "write",
      };
      const cli = results.filter((r: { what: string }) => r.what.startsWith("npy "));
      for (const f of results.filter((r: { what: string }) => !r.what.startsWith("npy "))) {
        checkWorded({ ...f, verb: verbs[f.what] }, f.path, "EACCES");
        assert.match(f.message, /: permission denied \(EACCES\)$/);
      }
      assert.deepEqual(cli.map((r: { code: number }) => r.code), [1, 1, 1]);
      assert.match(
        cli[0].err,
        /^npy concat: Cannot write ".*new\.npy": permission denied \(EACCES\)\n$/,
      );
      assert.match(
        cli[1].err,
        /^npy concat: Cannot write ".*ro\.npy": permission denied \(EACCES\)\n$/,
      );
      assert.match(
        cli[2].err,
        /^npy concat: Cannot write ".*own\.npy": permission denied \(EACCES\)\n$/,
      );
      // As np.save: a read-only file is refused, not replaced, its mode as it was.
      assert.deepEqual(readFileSync(inWork), inWorkBefore);
      assert.deepEqual(readFileSync(own), ownBefore);
      assert.equal(statSync(own).mode & 0o777, 0o444);
      assert.deepEqual(readdirSync(join(dir, "work")).filter((n) => n.endsWith(".tmp")), []);
      assert.deepEqual(readFileSync(file), before);
      assert.equal(existsSync(newFile), false);
      assert.deepEqual(readdirSync(dir).sort(), ["cut.npy", "ro.npy", "work"]);
      assert.equal(existsSync(inWork + ".lock"), false); // taken, and released on the error
      assert.equal(existsSync(own + ".lock"), false);
    } finally {
      cleanup();
      library.cleanup();
    }
  },
);

test("every replace keeps the replaced file's permission bits: saveNpy, saveNpySync, npy concat --force, the copying repairs, a writer's overwrite", async () => {
  const { dir, cleanup } = makeTempDir("npy-mode-");
  try {
    const a = join(dir, "a.npy");
    saveNpySync(a, { data: Float64Array.of(1, 2), shape: [1, 2] });
    const old = encodeHeader({ descr: "<f8", fortranOrder: false, shape: [1, 2] }, {
      totalLength: 80, // old NumPy: no room to grow, so ensureAppendable copies
    });
    const replaces: Array<[string, (path: string) => unknown]> = [
      ["saveNpy()", (path) => saveNpy(path, [[5, 6]])],
      ["saveNpySync()", (path) => saveNpySync(path, [[5, 6]])],
      [
        "npy concat --force",
        async (path) => assert.equal((await npy(["concat", "--force", path, a])).code, 0),
      ],
      ["ensureAppendableSync()", (path) => {
        writeFileSync(path, Buffer.concat([old, new Uint8Array(16)]));
        assert.equal(ensureAppendableSync(path).changed, true);
      }],
      ["recover() rewriting the header", (path) => {
        writeFileSync(path, Buffer.concat([old, new Uint8Array(16 * 10)])); // 10 rows: a digit more
        return recover(path);
      }],
      ["a writer's overwrite", (path) => {
        const w = NpyAppendArray.openSync(path, { mode: "overwrite" });
        w.appendSync([[5, 6]]);
        w.closeSync();
      }],
    ];
    for (const mode of [0o600, 0o640, 0o444]) { // 0444: root may write it, as np.save would
      for (const [what, replace] of replaces) {
        const path = join(dir, "m.npy");
        saveNpySync(path, { data: Float64Array.of(1, 2), shape: [1, 2] });
        chmodSync(path, mode);
        await replace(path);
        const after = statSync(path).mode & 0o777;
        assert.equal(
          after.toString(8),
          mode.toString(8),
          `${what} over a ${mode.toString(8)} file`,
        );
        assert.equal(loadNpySync(path).shape[1], 2, what);
        rmSync(path);
      }
    }
  } finally {
    cleanup();
  }
});
