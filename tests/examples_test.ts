/**
 * Every script in examples/ runs, at a small size, and NumPy verifies what it wrote. Each
 * example checks its own output with python3 and prints a verdict this test looks for.
 * Examples run as subprocesses with the runtime running the tests (`deno run -A`, `bun`);
 * Node 20 cannot run `.ts` files, so under Node one test records that they run under Deno and
 * Bun. Examples with a dedicated test elsewhere (a Deno-only or Bun-only script, or one with
 * a detailed check) are not run twice: this file checks that the dedicated test runs them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { makeTempDir, ROOT } from "./_util.ts";

const runtime = (globalThis as { Deno?: unknown }).Deno
  ? "deno"
  : (globalThis as { Bun?: unknown }).Bun
  ? "bun"
  : "node";

interface Run {
  /** Arguments after the script (`{out}` is a path in a temp dir, `{dir}` the dir). */
  args?: string[];
  /** Environment for a small, quick run. */
  env?: Record<string, string>;
  /** What the example prints once NumPy has verified its output. */
  verdict: RegExp;
}

/** How each example is run here, or the test file that runs it. */
const EXAMPLES: Record<string, Run | { testedBy: string }> = {
  "quickstart.ts": {
    args: ["{out}"],
    verdict: /numpy sees \(10, 2\) float64/,
  },
  "pipe.ts": {
    args: ["{out}"],
    env: { NPY_PIPE_ROWS: "10000" },
    verdict: /NumPy verified \(10000, 8\) float32/,
  },
  "ingest_csv.ts": {
    args: ["{out}"],
    env: { NPY_CSV_ROWS: "20000" },
    verdict: /NumPy verified 20000 rows of \[\('time', '<M8\[ms\]'\), \('sensor', 'S8'\)/,
  },
  "stack_dask.ts": {
    args: ["{dir}"],
    env: { NPY_STACK_ROWS: "20000" },
    verdict: /Dask verified 40000 rows of float32 from 4 shards/,
  },
  "custom_dtype.ts": { testedBy: "examples_custom_dtype_test.ts" },
  "stream_deno.ts": { testedBy: "writer_examples_test.ts" },
  "stream_bun.ts": { testedBy: "writer_examples_test.ts" },
};

const scripts = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts")).sort();

test("every script in examples/ is run by this test or a dedicated one", () => {
  assert.ok(scripts.includes("quickstart.ts"));
  for (const script of scripts) {
    const how = EXAMPLES[script];
    assert.ok(how, `examples/${script} is not run by any test: add it to tests/examples_test.ts`);
    if ("testedBy" in how) {
      const testFile = join(ROOT, "tests", how.testedBy);
      assert.ok(existsSync(testFile), `${how.testedBy} (which runs ${script}) is missing`);
      assert.match(readFileSync(testFile, "utf8"), new RegExp(script.replace(".", "\\.")));
    }
  }
});

function command(script: string): [string, string[]] {
  const g = globalThis as { Deno?: { execPath(): string } };
  if (runtime === "deno") return [g.Deno!.execPath(), ["run", "-A", script]];
  return [process.execPath, [script]];
}

if (runtime === "node") {
  test("examples run under deno and bun, not node 20 (which cannot run .ts files)", () => {
    assert.equal(runtime, "node");
    assert.ok(scripts.length > 0);
  });
} else {
  for (const script of scripts) {
    const how = EXAMPLES[script];
    if (how === undefined || "testedBy" in how) continue;
    test(`examples/${script} runs under ${runtime} and NumPy verifies its output`, {
      timeout: 150_000,
    }, () => {
      const { dir, cleanup } = makeTempDir("npy-example-");
      try {
        const args = (how.args ?? []).map((a) =>
          a.replace("{out}", join(dir, "out.npy")).replace("{dir}", dir)
        );
        const [cmd, pre] = command(join(ROOT, "examples", script));
        const result = spawnSync(cmd, [...pre, ...args], {
          cwd: ROOT,
          encoding: "utf8",
          timeout: 120_000,
          env: { ...process.env, ...how.env, NO_COLOR: "1" },
        });
        const output = `${cmd} ${[...pre, ...args].join(" ")}:\n${result.stdout}\n${result.stderr}`;
        assert.equal(result.status, 0, output);
        assert.match(result.stdout, how.verdict, output);
      } finally {
        cleanup();
      }
    });
  }
}
