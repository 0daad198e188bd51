/**
 * Helpers for the writer tests: checking many files against NumPy in one `python3` call, and
 * spawning a child of the current runtime (deno, bun or node) that uses the writer.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { ROOT, runPython } from "./_util.ts";

/** One file to check: NumPy loads `path` (also with mmap) and compares with `expect`. */
export interface NumpyCheck {
  /** A name for messages. */
  name: string;
  /** The `.npy` file. */
  path: string;
  /** A Python expression (NumPy as `np`) giving the expected array, dtype included. */
  expect: string;
  /** Also require the loaded array to be Fortran-contiguous. */
  fortran?: boolean;
}

const CHECK = `
cases = json.load(sys.stdin)
out = []
for c in cases:
    try:
        e = eval(c["expect"])
        bad = []
        for mm in (None, "r"):
            a = np.load(c["path"], mmap_mode=mm)
            if a.dtype != e.dtype: bad.append(f"dtype {a.dtype!r} != {e.dtype!r}")
            if a.shape != e.shape: bad.append(f"shape {a.shape} != {e.shape}")
            elif e.dtype.names is None and e.dtype.kind in "fcmM":
                if not np.array_equal(a, e, equal_nan=True): bad.append(f"values {a!r}")
            elif not np.array_equal(a, e): bad.append(f"values {a!r}")
            if c.get("fortran") and a.ndim > 1 and not a.flags.f_contiguous:
                bad.append("not Fortran-contiguous")
            del a
        out.append("; ".join(bad) or None)
    except Exception as ex:
        out.append(f"{type(ex).__name__}: {ex}")
print(json.dumps(out))
`;

/** Checks every file in one NumPy call; fails naming every mismatch. */
export function checkWithNumpy(checks: NumpyCheck[]): void {
  const results = runPython<(string | null)[]>(CHECK, checks);
  const failures = checks
    .map((c, i) => results[i] === null ? undefined : `${c.name}: ${results[i]}`)
    .filter((x) => x !== undefined);
  assert.deepEqual(failures, []);
}

/** The runtime running the tests: `deno`, `bun` or `node`. */
export const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/**
 * The URL of an entry point for a child to import (`"mod"`, `"cli"`): the .ts source, or the
 * .js build under node. (Not a lib/ module: the entry points install the built-in dtypes.)
 */
export function entryModuleUrl(entry: "mod" | "core" | "cli"): string {
  const here = fileURLToPath(import.meta.url);
  const built = here.endsWith(".js");
  return "file://" + (built ? join(ROOT, "dist", `${entry}.js`) : join(ROOT, `${entry}.ts`));
}

/** Command and arguments that run `script` (a .mjs file) with the current runtime. */
export function childCommand(script: string): [string, string[]] {
  if (RUNTIME === "deno") return [process.execPath, ["run", "-A", script]];
  return [process.execPath, [script]];
}

/** Writes `code` as a module in `dir` and runs it to the end; returns its stdout. */
export function runChild(dir: string, name: string, code: string): string {
  const script = join(dir, name);
  writeFileSync(script, code);
  const [cmd, args] = childCommand(script);
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * Starts `code` as a module in `dir`; resolves once it prints `ready` with the child and a
 * function that kills it (SIGKILL) and waits for it to exit.
 */
export function startChild(
  dir: string,
  name: string,
  code: string,
): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = join(dir, name);
  writeFileSync(script, code);
  const [cmd, args] = childCommand(script);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let out = "", err = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("ready")) {
        resolve({
          pid: child.pid!,
          kill: () => {
            child.kill("SIGKILL");
            return exited;
          },
        });
      }
    });
    child.stderr!.on("data", (d) => err += d);
    child.on("exit", (code) => reject(new Error(`child exited (${code}): ${out} ${err}`)));
  });
}

/** The repository's own copy of a runtime binary (node_modules/.bin), if installed. */
export function localBin(name: "deno" | "bun"): string | undefined {
  const path = join(ROOT, "node_modules", ".bin", name);
  return existsSync(path) ? path : undefined;
}
