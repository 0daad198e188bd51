#!/usr/bin/env node
// Fails when an exported symbol has no runnable example: every symbol that `deno doc` lists for
// the entry points of deno.json "exports" needs an `@example` tag, or a ```ts block in its
// doc, so that `deno test --doc` runs it (house style, see STYLE.md). Lists the ones without.
//
// Usage: node tests/check_doc_examples.mjs
// No dependencies: plain Node >= 20, deno from node_modules/.bin.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(ROOT);

const exportsField = JSON.parse(readFileSync("deno.json", "utf8")).exports;
const entries = typeof exportsField === "string" ? [exportsField] : Object.values(exportsField);

const deno = join(ROOT, "node_modules", ".bin", "deno");
const result = spawnSync(deno, ["doc", "--json", ...entries], {
  encoding: "utf8",
  maxBuffer: 256 << 20,
  env: { ...process.env, NO_COLOR: "1" },
});
if (result.error !== undefined || result.status !== 0) {
  process.stderr.write(result.stderr ?? "");
  const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
  console.error(`Cannot check doc examples: "deno doc --json" failed (${why})`);
  process.exit(1);
}

/** Whether a declaration's JSDoc carries a runnable example. */
function hasExample(declaration) {
  const jsDoc = declaration.jsDoc ?? {};
  if ((jsDoc.tags ?? []).some((tag) => tag.kind === "example")) return true;
  return /^\s*```ts\b/m.test(jsDoc.doc ?? "");
}

const where = (location) => {
  const file = location.filename.startsWith("file://")
    ? relative(ROOT, fileURLToPath(location.filename))
    : location.filename;
  return `${file}:${location.line + 1}`; // deno doc counts lines from 0
};

const seen = new Set();
const missing = [];
// A symbol an entry point re-exports from another entry point (./mod.ts re-exports ./core.ts)
// is a "reference" there: it is checked where it is declared, which must be listed too.
const declared = new Set();
const references = [];
for (const node of Object.values(JSON.parse(result.stdout).nodes ?? {})) {
  for (const symbol of node.symbols ?? []) {
    const first = symbol.declarations[0];
    if (symbol.declarations.every((d) => d.kind === "reference")) {
      references.push(symbol);
      continue;
    }
    const key = `${symbol.name} ${where(first.location)}`;
    declared.add(key);
    if (seen.has(key)) continue; // re-exported by more than one entry point
    seen.add(key);
    if (!symbol.declarations.some(hasExample)) {
      missing.push(`  ${first.kind} ${symbol.name} (${where(first.location)})`);
    }
  }
}
for (const symbol of references) {
  const target = symbol.declarations[0].def?.target;
  const key = target === undefined ? undefined : `${symbol.name} ${where(target)}`;
  if (key === undefined || !declared.has(key)) {
    missing.push(
      `  reference ${symbol.name} (${where(symbol.declarations[0].location)}): ` +
        "its declaration is in no entry point",
    );
  }
}

console.log(
  `${seen.size} exported symbols of ${entries.join(", ")}; ${missing.length} without @example`,
);
if (missing.length > 0) {
  console.log(missing.join("\n"));
  process.exitCode = 1;
}
