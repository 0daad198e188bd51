/**
 * Package metadata parity: `deno.json` (JSR) and `package.json` (npm) must describe the same
 * package; npm's description and keywords are there; `tests/run_all.mjs --help` works as the
 * README says. Runs unchanged under `deno test`, `bun test` and `node --test dist/tests/`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "npy-append-array";

/** Walks up from this file (in `tests/` or `dist/tests/`) to the repository root. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate) && readJson(candidate).name === PACKAGE_NAME) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`Cannot find the repository root: no package.json named "${PACKAGE_NAME}"`);
    }
    dir = parent;
  }
}

// deno-lint-ignore no-explicit-any
function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}

const ROOT = findRoot();
const pkg = readJson(join(ROOT, "package.json"));
const deno = readJson(join(ROOT, "deno.json"));

/** `"./mod.ts"` -> `"./dist/mod"`: where tsc puts the build of a source entry point. */
function distStem(source: string): string {
  assert.match(source, /^\.\/[\w/.-]+\.ts$/, `deno.json export ${JSON.stringify(source)}`);
  return "./dist/" + source.slice(2, -3);
}

test("deno.json and package.json carry the same version", () => {
  assert.match(pkg.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.equal(deno.version, pkg.version);
});

test("deno.json and package.json export the same keys", () => {
  assert.deepEqual(Object.keys(deno.exports).sort(), Object.keys(pkg.exports).sort());
});

test("package.json exports point at the tsc build of deno.json's entry points", () => {
  for (const [key, source] of Object.entries<string>(deno.exports)) {
    const stem = distStem(source);
    assert.deepEqual(pkg.exports[key], { types: `${stem}.d.ts`, default: `${stem}.js` }, key);
  }
  assert.equal(pkg.types, pkg.exports["."].types);
});

test("package.json has no runtime dependencies", () => {
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    assert.equal(pkg[field], undefined, `package.json must not have "${field}"`);
  }
});

test("package.json pins every devDependency to an exact version", () => {
  const entries = Object.entries<string>(pkg.devDependencies);
  assert.ok(entries.length > 0);
  for (const [name, version] of entries) {
    assert.match(version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, `${name}@${version} is not exact`);
  }
});

test("package.json requires Node >=20; only the entry points are kept for their side effect", () => {
  assert.equal(pkg.engines?.node, ">=20");
  assert.equal(pkg.type, "module");
  // dtypes/mod installs the built-in dtypes as lib/'s default registry (lib/ does not import
  // dtypes/), and the entry points import it: a bundler must not drop them (core_test.ts
  // bundles both entry points to show it). Every other module is free of side effects.
  assert.deepEqual(pkg.sideEffects, [
    "./dist/mod.js",
    "./dist/core.js",
    "./dist/dtypes/mod.js",
    "./mod.ts",
    "./core.ts",
    "./dtypes/mod.ts",
  ]);
});

test("package.json files ship the build but not the compiled tests", () => {
  const files: string[] = pkg.files;
  assert.ok(files.some((f) => f.startsWith("dist/mod")), "dist/mod.* must be published");
  assert.ok(!files.some((f) => f === "dist" || f.startsWith("dist/tests")), "dist/tests leaks");
});

test("deno.json has the JSR name and keeps tests out of the published files", () => {
  assert.equal(deno.name, "@npy/append-array");
  assert.ok(deno.publish.exclude.includes("tests/"));
});

test("package.json has a description and keywords for npm search", () => {
  assert.equal(typeof pkg.description, "string");
  assert.ok(pkg.description.length >= 20 && pkg.description.length <= 160, pkg.description);
  assert.match(pkg.description, /NumPy/);
  assert.match(pkg.description, /\.npy/);
  const keywords: unknown = pkg.keywords;
  assert.ok(Array.isArray(keywords) && keywords.length >= 3, "keywords: a list");
  for (const k of keywords) assert.match(k, /^[a-z0-9][a-z0-9-]*$/, `keyword ${JSON.stringify(k)}`);
  assert.equal(new Set(keywords).size, keywords.length, "keywords repeat");
  for (const k of ["numpy", "npy", "append"]) assert.ok(keywords.includes(k), k);
});

test("node tests/run_all.mjs --help prints the usage and exits 0; a bad argument exits 2", () => {
  const script = join(ROOT, "tests", "run_all.mjs");
  for (const flag of ["--help", "-h"]) {
    const run = spawnSync("node", [script, flag], { encoding: "utf8", cwd: ROOT });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Usage: node tests\/run_all\.mjs \[--quick\]/);
    assert.match(run.stdout, /--quick/);
    assert.match(run.stdout, /Steps, in order: fmt /);
    assert.equal(run.stderr, "");
  }
  const bad = spawnSync("node", [script, "--frob"], { encoding: "utf8", cwd: ROOT });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown argument "--frob" \(see --help\)/);
  assert.equal(bad.stdout, "", "nothing ran");
});
