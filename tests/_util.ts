/**
 * Shared test helpers: the repository root (from `tests/` or `dist/tests/`), temp dirs, and
 * running NumPy in a `python3` child. Runs unchanged under Deno, Bun and Node.
 */
import { AssertionError } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (
      existsSync(candidate) &&
      JSON.parse(readFileSync(candidate, "utf8")).name === "npy-append-array"
    ) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("Cannot find the repository root from " + import.meta.url);
    dir = parent;
  }
}

/** The repository root: the folder with this package's package.json. */
export const ROOT: string = findRoot();

/** A fresh temp directory and a function that removes it. */
export function makeTempDir(prefix = "npy-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs `code` in `python3` (NumPy imported as np), passing `input` as JSON on stdin, and
 * returns what the script printed, parsed as JSON. Throws with python's stderr on failure.
 */
export function runPython<T = unknown>(code: string, input: unknown = null): T {
  const result = spawnSync(
    "python3",
    ["-c", "import json, sys\nimport numpy as np\n" + code],
    { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 1 << 28 },
  );
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`python3 failed (${result.status}):\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** `value`, asserted present (a test's own data, indexed where the index is known to exist). */
export function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new AssertionError({ message: `${what} is missing` });
  return value;
}
