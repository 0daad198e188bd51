/**
 * The `./core` entry point works on bytes alone: its whole import graph (followed from the
 * source, every `import`/`export … from`) holds no `node:` module and nothing outside this
 * package, it exports a subset of the main entry point, and it runs in a Web Worker where
 * the runtime has one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as core from "../core.ts";
import * as main from "../mod.ts";
import { makeTempDir, ROOT } from "./_util.ts";
import { childCommand, entryModuleUrl, localBin, runChild } from "./_writer_util.ts";

/**
 * The specifiers `file` imports: `import … from "x"`, `import "x"`, `export … from "x"` and
 * `import("x")`; with `types`, `import type` / `export type` too (which the runtime never
 * loads, verbatimModuleSyntax). Lines of doc comments (` * import …` in an example) are not
 * code and do not count.
 */
function importsOf(file: string, types: boolean): string[] {
  const text = readFileSync(file, "utf8");
  const typeGuard = types ? "" : "(?!type\\s)";
  const specifiers = text.matchAll(
    new RegExp(
      `(?:^|\\n)\\s*(?:import|export)\\s${typeGuard}[^;]*?from\\s*["']([^"']+)["']|` +
        `(?:^|\\n)\\s*import\\s*["']([^"']+)["']|\\bimport\\(\\s*["']([^"']+)["']\\s*\\)`,
      "g",
    ),
  );
  return [...specifiers].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every module `entry` reaches, and every specifier that is not a relative path. */
function importGraph(entry: string): { modules: string[]; outside: string[] } {
  const seen = new Set<string>();
  const outside = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file, false)) {
      if (spec.startsWith(".")) pending.push(resolve(dirname(file), spec));
      else outside.add(`${relative(ROOT, file)}: ${spec}`);
    }
  }
  return { modules: [...seen].map((f) => relative(ROOT, f)).sort(), outside: [...outside] };
}

test("./core imports no node: module and nothing outside the package", () => {
  const { modules, outside } = importGraph(join(ROOT, "core.ts"));
  assert.deepEqual(outside, [], "specifiers that are not this package's files");
  for (const expected of ["lib/header.ts", "lib/npy.ts", "lib/registry.ts", "dtypes/mod.ts"]) {
    assert.ok(modules.includes(expected), `${expected} is in the graph`);
  }
  for (const io of ["lib/file.ts", "lib/writer.ts", "lib/reader.ts", "lib/_lock.ts"]) {
    assert.ok(!modules.includes(io), `${io} (file system) is not`);
  }
  // The check itself sees node: imports where there are some.
  assert.ok(importGraph(join(ROOT, "mod.ts")).outside.some((s) => s.endsWith(": node:fs")));
});

test("./core exports a subset of the main entry point, the same values", () => {
  const names = Object.keys(core);
  assert.ok(names.length >= 30, `${names.length} names`);
  for (const name of names) {
    assert.equal(
      (main as Record<string, unknown>)[name],
      (core as Record<string, unknown>)[name],
      name,
    );
  }
  for (const io of ["NpyAppendArray", "NpyReader", "saveNpy", "recover", "NpyStackWriter"]) {
    assert.ok(!names.includes(io), `${io} is not in ./core`);
  }
});

test("./core runs in a Web Worker: encodeNpy, parseNpy and a header round trip", async () => {
  // The Web Worker API, typed here (Node's types have none).
  interface WebWorker {
    onmessage: ((e: { data: unknown }) => void) | null;
    onerror: ((e: { message: string; preventDefault?(): void }) => void) | null;
    terminate(): void;
  }
  const Worker = (globalThis as { Worker?: new (url: string, o?: object) => WebWorker }).Worker;
  if (Worker === undefined) {
    // Node 20 has no Web Worker: the import graph test above covers it there.
    console.log("./core worker test: this runtime has no global Worker");
    return;
  }
  const coreUrl = pathToFileURL(join(ROOT, "core.ts")).href;
  const source = `
    import { encodeNpy, encodeHeader, parseHeader, parseNpy } from ${JSON.stringify(coreUrl)};
    const bytes = encodeNpy({ data: Int16Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] });
    const back = parseNpy(bytes);
    const header = parseHeader(encodeHeader({ descr: "<f8", fortranOrder: false, shape: [5] }));
    postMessage({ shape: back.shape, data: [...back.data], headerShape: header.shape });
  `;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const message = await new Promise<unknown>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault?.();
        reject(new Error(e.message));
      };
      setTimeout(() => reject(new Error("no answer from the worker in 30 s")), 30_000);
    });
    assert.deepEqual(message, { shape: [2, 3], data: [1, 2, 3, 4, 5, 6], headerShape: [5] });
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

/** The library's own sources: `mod.ts`, `core.ts`, `lib/*.ts` and `dtypes/*.ts`. */
function librarySources(): string[] {
  const inFolder = (folder: string) =>
    readdirSync(join(ROOT, folder)).filter((f) => f.endsWith(".ts")).map((f) => `${folder}/${f}`);
  return ["mod.ts", "core.ts", ...inFolder("lib"), ...inFolder("dtypes")];
}

test("layers: lib/ imports nothing from dtypes/, and only lib/file.ts imports node:", () => {
  const sources = librarySources();
  assert.ok(sources.includes("lib/file.ts") && sources.includes("dtypes/mod.ts"));
  const upward: string[] = [];
  const system: string[] = [];
  for (const source of sources) {
    for (const spec of importsOf(join(ROOT, source), true)) {
      const target = spec.startsWith(".")
        ? relative(ROOT, resolve(dirname(join(ROOT, source)), spec))
        : spec;
      if (source.startsWith("lib/") && target.startsWith("dtypes/")) {
        upward.push(`${source} imports ${target}`);
      }
      if (spec.startsWith("node:") && source !== "lib/file.ts") {
        system.push(`${source} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(upward, [], "lib/ is below dtypes/: the registry hands plugins down");
  assert.deepEqual(system, [], "only the file-system module talks to the system");
  // The check sees imports where there are some (a doc example's import is not one).
  assert.ok(importsOf(join(ROOT, "lib/file.ts"), true).includes("node:fs"));
  assert.ok(importsOf(join(ROOT, "dtypes/mod.ts"), true).includes("../lib/registry.ts"));
  assert.ok(!importsOf(join(ROOT, "lib/npy.ts"), true).includes("@npy/append-array"));
});

test("the entry points install the built-in dtypes; a lib/ module alone says they are missing", () => {
  const { dir, cleanup } = makeTempDir();
  try {
    // lib/npy.ts on its own (as lib/writer.ts would be): no registry of built-ins below it.
    const lib = entryModuleUrl("core").replace(/core\.(ts|js)$/, "lib/npy.$1");
    const alone = runChild(
      dir,
      "alone.mjs",
      `import { encodeNpy } from ${JSON.stringify(lib)};
      try { encodeNpy(Float32Array.of(1)); console.log("encoded"); }
      catch (e) { for (let c = e; c; c = c.cause) console.log(c.name + ": " + c.message); }`,
    );
    // The chunk's error names what failed; the registry's reason is its cause.
    assert.match(alone, /^NpyDtypeError: Cannot encode the array: .*'<f4'/);
    assert.match(
      alone,
      /\nNpyDtypeError: Cannot resolve descr '<f4': the built-in dtypes are not loaded/,
    );
    // The same, through ./core: the built-ins are there.
    const entry = runChild(
      dir,
      "entry.mjs",
      `import { encodeNpy } from ${JSON.stringify(entryModuleUrl("core"))};
      console.log(encodeNpy(Float32Array.of(1)).length);`,
    );
    assert.equal(entry.trim(), "132");
  } finally {
    cleanup();
  }
});

test("a bundle of either entry point keeps the built-in dtypes (package.json sideEffects)", () => {
  // Bun's bundler prunes modules package.json calls free of side effects, as webpack, Rollup
  // and esbuild do: the modules that install the built-in dtypes must survive that.
  const bun = localBin("bun");
  if (bun === undefined) return; // no bundler here
  const { dir, cleanup } = makeTempDir();
  try {
    const entries = {
      core: `import { encodeNpy } from ${JSON.stringify(join(ROOT, "core.ts"))};
        console.log(encodeNpy([1, 2]).length);`,
      main: `import { NpyAppendArray } from ${JSON.stringify(join(ROOT, "mod.ts"))};
        const w = NpyAppendArray.openSync(${JSON.stringify(join(dir, "b.npy"))});
        w.appendSync([1, 2]);
        w.closeSync();
        console.log(w.rows);`,
    };
    for (const [name, code] of Object.entries(entries)) {
      writeFileSync(join(dir, `${name}.ts`), code);
      const out = join(dir, `${name}.bundle.mjs`);
      const built: { status: number | null; stderr: string } = spawnSync(bun, [
        "build",
        join(dir, `${name}.ts`),
        "--target=node",
        "--outfile",
        out,
      ], {
        encoding: "utf8",
      });
      assert.equal(built.status, 0, built.stderr);
      const [cmd, args] = childCommand(out);
      const run: { status: number | null; stdout: string; stderr: string } = spawnSync(cmd, args, {
        encoding: "utf8",
      });
      assert.equal(run.status, 0, `${name}: ${run.stderr}`);
      assert.equal(run.stdout.trim(), name === "core" ? "144" : "2", name);
    }
  } finally {
    cleanup();
  }
});
