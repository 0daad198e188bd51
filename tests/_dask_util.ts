/**
 * Finds the python3 that has Dask and distributed (Debian's python3-dask and
 * python3-distributed install them for /usr/bin/python3, which may not be PATH's python3)
 * and runs Python code in it. No Dask is an error, never a skip: CI installs it.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";

const CANDIDATES = [process.env.NPY_DASK_PYTHON, "python3", "/usr/bin/python3"].filter(
  (p): p is string => typeof p === "string" && p.length > 0,
);

let found: string | undefined;

/** The python3 that imports `dask.array` and `distributed`; throws naming what was tried. */
export function daskPython(): string {
  if (found !== undefined) return found;
  const tried: string[] = [];
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ["-c", "import dask.array, distributed, numpy"], {
      encoding: "utf8",
    });
    if (r.status === 0) return (found = python);
    tried.push(
      `${python}: ${(r.error?.message ?? r.stderr.trim().split("\n").at(-1)) || r.status}`,
    );
  }
  throw new Error(
    "Dask is required by the stack tests and no python3 can import it (apt-get install " +
      `python3-dask python3-distributed; .ci/run does). Tried:\n  ${tried.join("\n  ")}`,
  );
}

/**
 * Runs `code` (NumPy as np, dask.array as da, json and sys imported) in {@link daskPython},
 * passing `input` as JSON on stdin; returns what it printed, parsed as JSON.
 */
export function runDask<T = unknown>(code: string, input: unknown = null, args: string[] = []): T {
  const r = spawnSync(
    daskPython(),
    ["-c", "import json, sys\nimport numpy as np\nimport dask, dask.array as da\n" + code, ...args],
    { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 1 << 28 },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${daskPython()} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs a Python script file in {@link daskPython}; returns its JSON output. */
export function runDaskScript<T = unknown>(script: string, args: string[], timeout = 180_000): T {
  const r = spawnSync(daskPython(), [script, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    timeout,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${daskPython()} ${script} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(last) as T;
}
