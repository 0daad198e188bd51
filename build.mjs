#!/usr/bin/env node
// The npm build: `tsc -p tsconfig.build.json` into dist/, then one fix to the declarations.
//
// Why the fix: `NpyAppendArray` and `NpyReader` implement `Disposable`/`AsyncDisposable`, whose
// types live in TypeScript's `esnext.disposable` lib. A project with a plain `target: "es2022"`
// and `skipLibCheck: false` would get errors inside our `.d.ts` files. The source cannot carry
// `/// <reference lib="esnext.disposable" />` (JSR bans triple-slash directives that change
// globals, and tsc drops it from declarations anyway), so the build adds it to each emitted
// declaration file that needs it. The JavaScript is untouched: Node 20 has both symbols.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = dirname(fileURLToPath(import.meta.url));
const DIST = join(ROOT, "dist");
const REFERENCE = '/// <reference lib="esnext.disposable" />\n';
const NEEDS_LIB = /\b(?:AsyncDisposable|Disposable)\b|Symbol\.(?:asyncDispose|dispose)\b/;

rmSync(DIST, { recursive: true, force: true });
const tsc = resolve(ROOT, "node_modules", "typescript", "bin", "tsc");
const { status } = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (status !== 0) process.exit(status ?? 1);

let patched = 0;
for (const entry of readdirSync(DIST, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, "utf8");
  if (!NEEDS_LIB.test(text) || text.startsWith(REFERENCE)) continue;
  writeFileSync(file, REFERENCE + text);
  patched++;
}
console.log(`build: dist/ written; ${patched} declaration files reference lib esnext.disposable`);
