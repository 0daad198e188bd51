#!/usr/bin/env node
/**
 * The `npy` command: inspect, print, repair and join NumPy `.npy` files from a shell.
 *
 * ```sh
 * npx npy info data.npy            # bunx npy … / deno run -A jsr:@npy/append-array/cli …
 * npx npy tail -n 3 data.npy
 * npx npy concat all.npy shard-*.npy
 * npx npy stack merge all/ producer-1/ producer-2/
 * ```
 *
 * Run `npy --help` for every command. Exit codes: 0 success, 1 a file could not be
 * processed, 2 usage error, 130 interrupted. Importing this module runs nothing: call
 * {@link main}. The commands live in `cli/`: `main.ts` (the command line), `commands.ts`
 * (the command table), one module per group of commands, and `format.ts`, which prints the
 * values a file's dtype decodes.
 *
 * @module
 */

import process from "node:process";
import { resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { realPathSync } from "./lib/file.ts";
import { EXIT_INTERRUPTED, EXIT_OK } from "./cli/io.ts";
import { main } from "./cli/main.ts";

export { main, type MainOptions } from "./cli/main.ts";

// Run as a program: `node dist/cli.js`, the npm bin symlink, `deno run -A cli.ts`,
// `bun cli.ts`. Imported (tests, `import { main }`), nothing runs.

function isMainModule(): boolean {
  const flag = (import.meta as { main?: boolean }).main;
  if (typeof flag === "boolean") return flag;
  const script = process.argv[1];
  if (script === undefined || !import.meta.url.startsWith("file:")) return false;
  const self = fileURLToPath(import.meta.url);
  return (realPathSync(script) ?? resolvePath(script)) === (realPathSync(self) ?? self);
}

if (isMainModule()) {
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    if (++interrupts > 1) process.exit(EXIT_INTERRUPTED);
    controller.abort(new DOMException("Interrupted", "AbortError"));
  };
  process.on("SIGINT", onInterrupt);
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT_OK);
  });
  const code = await main(process.argv.slice(2), { signal: controller.signal });
  process.off("SIGINT", onInterrupt);
  process.exitCode = code;
}
