/**
 * Runs examples/custom_dtype.ts (a named Tick record type and a bfloat16 plugin, checked by
 * NumPy) with the runtime running the tests: Deno and Bun run it directly; under Node (which
 * does not run .ts files on v20) the repository's pinned Deno runs it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "./_util.ts";

function command(file: string): [string, string[]] {
  const g = globalThis as { Deno?: { execPath(): string }; Bun?: unknown };
  if (g.Deno) return [g.Deno.execPath(), ["run", "-A", file]];
  if (g.Bun) return [process.execPath, [file]];
  return [join(ROOT, "node_modules", ".bin", "deno"), ["run", "-A", file]];
}

test("examples/custom_dtype.ts runs and NumPy reads both files", () => {
  const [cmd, args] = command(join(ROOT, "examples", "custom_dtype.ts"));
  const result = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, `${cmd} ${args.join(" ")}:\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /NumPy ticks: \[\('t', '<M8\[ns\]'\), \('price', '<f8'\)/);
  assert.match(result.stdout, /2024-03-01T09:30:00\.125000000 101\.25 300 b'B'/);
  assert.match(result.stdout, /NumPy bfloat16 bits: uint16 .* -> \[1\.0, -2\.5, 3\.140625/);
});
