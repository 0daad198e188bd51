/**
 * The streaming examples run, at a small size, under a small memory cap, and NumPy checks
 * what they wrote (examples/stream_deno.ts under Deno, examples/stream_bun.ts under Bun).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "./_util.ts";
import { localBin } from "./_writer_util.ts";

const RUNS: [string, "deno" | "bun", string[]][] = [
  ["stream_deno.ts", "deno", ["run", "-A", "--v8-flags=--max-old-space-size=64"]],
  ["stream_bun.ts", "bun", ["--smol"]],
];

for (const [script, runtime, flags] of RUNS) {
  test(`examples/${script} streams 6 MiB under a memory cap and NumPy checks it`, () => {
    const bin = localBin(runtime);
    if (bin === undefined) return; // runtime not installed
    const r = spawnSync(bin, [...flags, join(ROOT, "examples", script)], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NPY_STREAM_MB: "6", NO_COLOR: "1" },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /wrote 24576 rows \(6 MiB\)/);
    assert.match(r.stdout, /numpy ok \(24576, 64\)/);
  });
}
