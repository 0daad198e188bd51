/**
 * The NumPy side of the benchmarks: `python3 bench/numpy_baseline.py` as a child process
 * that runs one NumPy trial per request, so the suite interleaves NumPy's trials with its
 * own (same machine load for both). Absent when python3 cannot import NumPy.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository root (from bench/ or from a compiled copy of it). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (
      existsSync(candidate) &&
      JSON.parse(readFileSync(candidate, "utf8")).name === "npy-append-array"
    ) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the repository root from ${import.meta.url}`);
    dir = parent;
  }
}

/** A running `numpy_baseline.py`. */
export class NumpyServer {
  readonly #child: ChildProcess;
  #buffer = "";
  readonly #waiting: Array<(line: string) => void> = [];
  #exited: Error | undefined;
  /** Python and NumPy versions, and which npy-append-array the "append" trials run. */
  info: { python: string; numpy: string; npa: string } = { python: "?", numpy: "?", npa: "?" };

  /** Whether the "append" trials run the real Python package (not the re-implementation). */
  get realPackage(): boolean {
    return this.info.npa.includes("the real package");
  }

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => {
      this.#buffer += text;
      let at: number;
      while ((at = this.#buffer.indexOf("\n")) >= 0) {
        const line = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + 1);
        this.#waiting.shift()?.(line);
      }
    });
    child.on("exit", (code) => {
      this.#exited = new Error(`Cannot use the NumPy baseline: python3 exited (${code})`);
      for (const w of this.#waiting.splice(0)) w("");
    });
  }

  /**
   * Starts the server with its temp files in `dir`; `undefined` when python3 with NumPy is
   * missing or `BENCH_NUMPY=0`.
   */
  static async start(dir: string, quick: boolean): Promise<NumpyServer | undefined> {
    if (process.env.BENCH_NUMPY === "0") return undefined;
    const probe = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
    if (probe.status !== 0) return undefined;
    const script = join(repoRoot(), "bench", "numpy_baseline.py");
    // The real Python package, when its copy is beside the repository (or BENCH_NPA_PATH).
    const npa = process.env.BENCH_NPA_PATH ??
      join(repoRoot(), "..", "shared", "anchors", "npy-append-array-0.9.19");
    const env = { ...process.env };
    if (existsSync(join(npa, "npy_append_array"))) {
      env.PYTHONPATH = [npa, env.PYTHONPATH].filter(Boolean).join(delimiter);
    }
    const child = spawn("python3", [script, dir, ...(quick ? ["--quick"] : [])], {
      stdio: ["pipe", "pipe", "inherit"],
      env,
    });
    const server = new NumpyServer(child);
    server.info = JSON.parse(await server.#next());
    return server;
  }

  #next(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.#exited) return reject(this.#exited);
      this.#waiting.push((line) => (this.#exited ? reject(this.#exited) : resolve(line)));
    });
  }

  /** Sends one request and returns the parsed answer. */
  request<T = Record<string, number>>(request: Record<string, unknown>): Promise<T> {
    const answer = this.#next();
    this.#child.stdin!.write(JSON.stringify(request) + "\n");
    return answer.then((line) => JSON.parse(line) as T);
  }

  /** Asks the server to quit and waits for it. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const done = new Promise((resolve) => this.#child.once("exit", resolve));
    this.#child.stdin!.write(JSON.stringify({ op: "quit" }) + "\n");
    this.#child.stdin!.end();
    await done;
  }
}
