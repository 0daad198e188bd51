/**
 * The library and the `npy` command under Deno with read and write permissions alone (no
 * env, sys or run access): real `deno run` subprocesses with `--allow-read --allow-write`
 * and `--allow-read=. --allow-write=.`. Nothing throws `NotCapable`: `NPY_DEBUG` is read
 * only where permitted, the lock records the host name from `/etc/hostname` or as unknown,
 * and a lock whose holder cannot be shown dead is refused with a message saying so. Runs
 * under every runtime (it spawns the repository's deno).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { saveNpySync } from "../mod.ts";
import { makeTempDir, ROOT } from "./_util.ts";
import { checkWithNumpy, localBin, RUNTIME } from "./_writer_util.ts";

const DENO = RUNTIME === "deno" ? process.execPath : localBin("deno");
const skip = DENO === undefined ? "no deno binary in node_modules/.bin" : false;
const CLI = join(ROOT, "cli.ts");

function deno(flags: string[], args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawnSync(DENO!, ["run", "--no-prompt", ...flags, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", NPY_DEBUG: "1", ...env },
  });
}

test(
  "npy under deno --allow-read --allow-write: errors print as one line, commands work",
  { skip, timeout: 120_000 },
  () => {
    const { dir, cleanup } = makeTempDir("npy-perm-cli-");
    try {
      const flags = ["--allow-read", "--allow-write"];
      const missing = deno(flags, [CLI, "head", "missing.npy"], dir);
      assert.equal(missing.status, 1, missing.stderr);
      assert.equal(
        missing.stderr,
        `npy head: Cannot open "missing.npy": no such file or directory (ENOENT)\n`,
      );
      assert.equal(missing.stdout, "");
      // Where env access is granted, NPY_DEBUG is honoured: the stack follows.
      const debug = deno([...flags, "--allow-env=NPY_DEBUG"], [CLI, "head", "missing.npy"], dir);
      assert.equal(debug.status, 1);
      assert.match(debug.stderr, /^npy head: Cannot open .*\n.*Error/s);
      // Every command that writes, with the lock, under these flags alone.
      saveNpySync(join(dir, "a.npy"), { data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] });
      saveNpySync(join(dir, "b.npy"), { data: Float32Array.of(5, 6), shape: [1, 2] });
      for (
        const args of [
          ["concat", "out.npy", "a.npy", "b.npy"],
          ["append", "out.npy", "b.npy"],
          ["recover", "out.npy"],
          ["ensure-appendable", "out.npy"],
          ["info", "out.npy"],
          ["tail", "-n", "1", "out.npy"],
        ]
      ) {
        const run = deno(flags, [CLI, ...args], dir);
        assert.equal(run.status, 0, `npy ${args.join(" ")}: ${run.stderr}`);
        assert.doesNotMatch(run.stderr, /NotCapable|Requires/);
      }
      assert.equal(existsSync(join(dir, "out.npy.lock")), false);
      checkWithNumpy([{
        name: "out",
        path: join(dir, "out.npy"),
        expect: "np.array([[1, 2], [3, 4], [5, 6], [5, 6]], dtype='<f4')",
      }]);
    } finally {
      cleanup();
    }
  },
);

const LIBRARY_SCRIPT = (modUrl: string, deadPid: number) => `
import { readFileSync, writeFileSync } from "node:fs";
import * as lib from ${JSON.stringify(modUrl)};
const out = {};
const w = await lib.NpyAppendArray.open("x.npy");
await w.append([[1, 2], [3, 4]]);
out.lock = JSON.parse(readFileSync("x.npy.lock", "utf8"));
try {
  lib.NpyAppendArray.openSync("x.npy");
} catch (e) {
  out.second = { name: e.name, message: e.message };
}
await w.close();
await lib.saveNpy("y.npy", [1, 2, 3]);
out.recover = await lib.recover("y.npy");
out.ensure = await lib.ensureAppendable("y.npy");
// A lock left by a dead process (on this host, as far as the lock says).
writeFileSync("z.npy.lock", JSON.stringify({
  pid: ${deadPid}, host: out.lock.host, runtime: "deno 0", time: "2000-01-01T00:00:00Z",
}));
try {
  lib.NpyAppendArray.openSync("z.npy");
  out.stale = "taken over";
} catch (e) {
  out.stale = { name: e.name, message: e.message };
}
console.log(JSON.stringify(out));
`;

test(
  "a library script under deno --allow-read=. --allow-write=. and --allow-read --allow-write",
  { skip, timeout: 120_000 },
  () => {
    // A pid that is surely dead: a child that has exited.
    const gone = spawnSync(process.execPath, ["--version"]);
    assert.equal(gone.status, 0);
    const deadPid = gone.pid!;
    const modUrl = "file://" + join(ROOT, "mod.ts");
    for (
      const [flags, host] of [
        [["--allow-read=.", "--allow-write=."], ""],
        [["--allow-read", "--allow-write"], readEtcHostname()],
      ] as const
    ) {
      const { dir, cleanup } = makeTempDir("npy-perm-lib-");
      try {
        writeFileSync(join(dir, "s.mjs"), LIBRARY_SCRIPT(modUrl, deadPid));
        const r = deno([...flags], ["s.mjs"], dir);
        assert.equal(r.status, 0, `${flags.join(" ")}: ${r.stderr}`);
        const out = JSON.parse(r.stdout);
        assert.equal(out.lock.host, host, flags.join(" "));
        assert.equal(out.second.name, "NpyLockError");
        // Its own lock: known alive, so no advice to remove it.
        assert.doesNotMatch(out.second.message, /remove/);
        assert.deepEqual(out.recover, { rows: 3, droppedBytes: 0, addedBytes: 0 });
        assert.equal(out.ensure.changed, false);
        // Without --allow-run the dead holder cannot be told from a live one: refused,
        // with the way out in the message, and the lock left alone.
        assert.equal(out.stale.name, "NpyLockError");
        assert.match(out.stale.message, new RegExp(`pid ${deadPid} .*remove ".*z\\.npy\\.lock"`));
        assert.equal(existsSync(join(dir, "z.npy.lock")), true);
        assert.equal(existsSync(join(dir, "x.npy.lock")), false);
        checkWithNumpy([
          { name: "x", path: join(dir, "x.npy"), expect: "np.array([[1., 2.], [3., 4.]])" },
          { name: "y", path: join(dir, "y.npy"), expect: "np.array([1., 2., 3.])" },
        ]);
        // With --allow-sys=hostname --allow-run as well, the stale lock is taken over.
        if (flags[0] === "--allow-read") {
          const all = deno([...flags, "--allow-sys=hostname", "--allow-run"], ["s.mjs"], dir);
          assert.equal(all.status, 0, all.stderr);
          const o = JSON.parse(all.stdout);
          assert.equal(o.lock.host, hostname());
          assert.equal(o.stale, "taken over");
        }
      } finally {
        cleanup();
      }
    }
  },
);

function readEtcHostname(): string {
  try {
    return readFileSync("/etc/hostname", "utf8").trim();
  } catch {
    return "";
  }
}
