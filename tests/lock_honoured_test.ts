/**
 * Every path that writes honours the writer lock of a live `NpyAppendArray` in another
 * process: the `npy` commands that write (`concat --force`, `append`, `recover`,
 * `ensure-appendable`) exit 1 naming the holder, and `saveNpy` / `saveNpySync` throw
 * `NpyLockError`, with the file byte-identical and no temp file left; the writer's rows,
 * before and after, all survive, as NumPy sees. Children run the current runtime (deno,
 * bun, or node on the build).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../cli.ts";
import { NpyLockError, recover, saveNpy, saveNpySync } from "../mod.ts";
import { makeTempDir } from "./_util.ts";
import { checkWithNumpy, childCommand, entryModuleUrl } from "./_writer_util.ts";

/**
 * A child holding a live writer on `path` (`<i8` rows of 2, the header rewritten only at
 * close, so the file looks cut while it runs): it appends rows 0..2, prints `ready`, waits
 * for the file `go`, appends rows 3..4, closes and prints `done`.
 */
function holderCode(moduleUrl: string, path: string, go: string): string {
  return `
import { existsSync } from "node:fs";
import { NpyAppendArray } from ${JSON.stringify(moduleUrl)};
const w = await NpyAppendArray.open(${JSON.stringify(path)}, {
  descr: "<i8",
  shape: [2],
  rewriteHeaderOnAppend: false,
});
await w.append(BigInt64Array.of(0n, 1n, 2n, 3n, 4n, 5n));
console.log("ready " + process.pid);
const timer = setInterval(async () => {
  if (!existsSync(${JSON.stringify(go)})) return;
  clearInterval(timer);
  await w.append(BigInt64Array.of(6n, 7n, 8n, 9n));
  await w.close();
  console.log("done");
}, 20);
`;
}

interface Holder {
  pid: number;
  /** Lets the child append its last rows and close; resolves when it printed `done`. */
  finish(): Promise<void>;
}

function startHolder(dir: string, path: string): Promise<Holder> {
  const script = join(dir, "holder.mjs");
  const go = join(dir, "go");
  writeFileSync(
    script,
    `import process from "node:process";\n` + holderCode(entryModuleUrl("mod"), path, go),
  );
  const [cmd, args] = childCommand(script);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  child.stderr!.on("data", (d) => err += d);
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const ready = /ready (\d+)/.exec(out);
      if (ready && !out.includes("done")) {
        resolve({
          pid: Number(ready[1]),
          finish: async () => {
            writeFileSync(go, "");
            const code = await exited;
            assert.equal(code, 0, `holder exited ${code}: ${out} ${err}`);
            assert.match(out, /done/);
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`holder exited early (${code}): ${out} ${err}`)));
  });
}

async function npy(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await main(args, {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    isTTY: false,
  });
  return { code, out, err };
}

test(
  "npy commands that write and saveNpy refuse a file a live writer in another process holds",
  { timeout: 120_000 },
  async () => {
    const { dir, cleanup } = makeTempDir("npy-held-");
    try {
      const out = join(dir, "out.npy");
      const a = join(dir, "a.npy"), b = join(dir, "b.npy");
      saveNpySync(a, { data: BigInt64Array.of(100n, 101n), shape: [1, 2] });
      saveNpySync(b, { data: BigInt64Array.of(200n, 201n, 202n, 203n), shape: [2, 2] });
      const holder = await startHolder(dir, out);
      const before = readFileSync(out);
      const holderText = new RegExp(`another writer holds the file: pid ${holder.pid} \\(`);
      const commands = [
        ["concat", "--force", out, a, b],
        ["append", out, a],
        ["recover", out],
        ["recover", "--zero-fill", out],
        ["ensure-appendable", out],
        ["ensure-appendable", "--in-place", out],
      ];
      for (const args of commands) {
        const run = await npy(args);
        const what = `npy ${args.join(" ")}`;
        assert.equal(run.code, 1, `${what}: exit ${run.code} ${run.out} ${run.err}`);
        assert.equal(run.out, "", what);
        assert.equal(run.err.split("\n").length, 2, `${what}: one line: ${run.err}`);
        assert.match(run.err, new RegExp(`^npy ${args[0]}: Cannot .*"${out}"`), what);
        assert.match(run.err, holderText, what);
        assert.deepEqual(readFileSync(out), before, `${what} changed the file`);
      }
      // A dry run writes nothing: it reports, and needs no lock.
      const dry = await npy(["recover", "--dry-run", out]);
      assert.equal(dry.code, 0, dry.err);
      for (const save of [() => saveNpySync(out, [1, 2]), () => saveNpy(out, [1, 2])]) {
        await assert.rejects(async () => await save(), (e) => {
          assert.ok(e instanceof NpyLockError);
          assert.equal(e.holder?.pid, holder.pid);
          assert.match(e.message, /^Cannot write ".*out\.npy": another writer holds the file/);
          return true;
        });
      }
      await assert.rejects(recover(out), NpyLockError);
      assert.deepEqual(readFileSync(out), before);
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(".tmp")), []);
      // The writer goes on and closes: every row it appended is in the file.
      await holder.finish();
      assert.equal(existsSync(out + ".lock"), false);
      checkWithNumpy([{
        name: "held",
        path: out,
        expect: "np.arange(10, dtype='<i8').reshape(5, 2)",
      }]);
      // Once released, the commands work again.
      const appended = await npy(["append", out, a]);
      assert.equal(appended.code, 0, appended.err);
      const joined = await npy(["concat", "--force", out, out, b]);
      assert.equal(joined.code, 0, joined.err);
      checkWithNumpy([{
        name: "after",
        path: out,
        expect: "np.concatenate([np.arange(10).reshape(5, 2), [[100, 101]], " +
          "np.arange(200, 204).reshape(2, 2)]).astype('<i8')",
      }]);
    } finally {
      cleanup();
    }
  },
);
