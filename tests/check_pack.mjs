#!/usr/bin/env node
// The npm tarball as a user gets it. Packs the package (dist/ must be built), installs the
// tarball into a scratch project with no network, and checks:
//   - every relative link of README.md points at a file the tarball holds;
//   - the shipped .d.ts files type-check in a plain `target: "es2022"` project with
//     `skipLibCheck: false` and no @types/node, and `await using` type-checks once the project
//     adds the `esnext.disposable` lib as the README says, with `@types/node` (a Node or Bun
//     project) or with the `dom` lib (no Node types at all);
//   - the compiled user code runs under Node, importing the package by its name, and the `npy`
//     bin answers `--help`.
// Exits 1 with the reason on the first failure. Used by tests/run_all.mjs (step "pack").
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  return { code: r.status ?? 128, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ?? ""}` };
}

function fail(message, output = "") {
  console.error(`pack: ${message}${output ? `\n${output.trimEnd()}` : ""}`);
  process.exit(1);
}

if (!existsSync(join(ROOT, "dist", "mod.js"))) fail("dist/ is not built (run npm run build)");
const scratch = mkdtempSync(join(tmpdir(), "npy-pack-"));
try {
  // 1. Pack without running prepack again: dist/ was just built by the tsc step.
  const packed = run(
    NPM,
    ["pack", "--ignore-scripts", "--json", "--pack-destination", scratch],
    ROOT,
  );
  if (packed.code !== 0) fail("npm pack failed", packed.out);
  const info = JSON.parse(packed.out.slice(packed.out.indexOf("[")))[0];
  const files = new Set(info.files.map((f) => f.path));
  const tarball = join(scratch, info.filename);

  // 2. README links that a reader of the npm page follows must resolve inside the tarball.
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((href) => !/^[a-z]+:/i.test(href));
  for (const href of new Set(links)) {
    if (!files.has(href.replace(/^\.\//, ""))) {
      fail(`README links to "${href}", which the tarball does not contain`);
    }
  }
  for (const needed of ["LICENSE", "README.md", "dist/mod.d.ts", "dist/cli.js"]) {
    if (!files.has(needed)) fail(`the tarball does not contain ${needed}`);
  }
  if ([...files].some((f) => f.startsWith("dist/tests/"))) fail("the tarball ships dist/tests/");

  // 3. A user project: install the tarball offline (the package has no dependencies).
  const project = join(scratch, "project");
  const json = (path, value) => writeFileSync(path, JSON.stringify(value, null, 2));
  run("mkdir", ["-p", project]);
  json(join(project, "package.json"), { name: "user-project", private: true, type: "module" });
  const installed = run(NPM, ["install", "--offline", "--no-audit", "--no-fund", tarball], project);
  if (installed.code !== 0) fail("npm install of the tarball failed", installed.out);

  const base = {
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    strict: true,
    skipLibCheck: false,
    types: [],
  };
  // Plain es2022: no `using`, close in finally, as the README shows for plain JS on Node 20.
  writeFileSync(
    join(project, "plain.ts"),
    `import { NpyAppendArray, NpyReader, loadNpy } from "npy-append-array";
const w = await NpyAppendArray.open("plain.npy", { mode: "overwrite" });
try {
  await w.append(Float32Array.of(1, 2, 3));
} finally {
  await w.close();
}
const r = await NpyReader.open("plain.npy");
try {
  if (r.shape[0] !== 3) throw new Error("expected 3 rows, got " + r.shape[0]);
} finally {
  await r.close();
}
const { data } = await loadNpy("plain.npy");
if ((data as Float32Array)[2] !== 3) throw new Error("wrong data");
console.log("plain ok");
`,
  );
  json(join(project, "tsconfig.plain.json"), {
    compilerOptions: { ...base, outDir: "out-plain" },
    files: ["plain.ts"],
  });
  // With the lib the README names, `await using` type-checks against the shipped types.
  writeFileSync(
    join(project, "disposable.ts"),
    `import { NpyAppendArray } from "npy-append-array";
{
  await using w = await NpyAppendArray.open("using.npy", { mode: "overwrite" });
  await w.append([[1, 2], [3, 4]]);
}
console.log("using ok");
`,
  );
  const disposable = ["es2022", "esnext.disposable"];
  json(join(project, "tsconfig.node-types.json"), {
    compilerOptions: {
      ...base,
      lib: disposable,
      typeRoots: [join(ROOT, "node_modules", "@types")],
      types: ["node"],
      noEmit: true,
    },
    files: ["disposable.ts"],
  });
  json(join(project, "tsconfig.dom.json"), {
    compilerOptions: { ...base, lib: [...disposable, "dom"], noEmit: true },
    files: ["disposable.ts"],
  });
  for (const config of ["tsconfig.plain.json", "tsconfig.node-types.json", "tsconfig.dom.json"]) {
    const checked = run(process.execPath, [TSC, "-p", config], project);
    if (checked.code !== 0) fail(`tsc -p ${config} in the user project failed`, checked.out);
  }

  // 4. The compiled user code runs under Node against the installed package.
  const ran = run(process.execPath, [join("out-plain", "plain.js")], project);
  if (ran.code !== 0 || !ran.out.includes("plain ok")) fail("the user program failed", ran.out);
  const bin = run(join(project, "node_modules", ".bin", "npy"), ["--help"], project);
  if (bin.code !== 0 || !bin.out.includes("npy")) {
    fail("npy --help from the tarball failed", bin.out);
  }

  console.log(
    `pack: ${info.filename} (${files.size} files, ${info.size} bytes) installs offline; its ` +
      `types check under es2022 with skipLibCheck off; README links resolve; node runs it`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
