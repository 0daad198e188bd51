#!/usr/bin/env node
// Runs every static check and the test suite under Deno, Bun and Node (on the tsc build), in
// order, printing each step's output. The last line is always `N passed, N failed`: a static
// check counts as one test, a runner contributes the counts it reports. Exits non-zero when
// anything failed or a runner ran no tests.
//
// No dependencies: plain Node >= 20, tools from node_modules/.bin. `--help` prints the usage.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(ROOT);

const STEPS = [
  "fmt",
  "lint",
  "check",
  "doc-lint",
  "doc-examples",
  "publish",
  "deno-test",
  "readme",
  "bun-test",
  "tsc",
  "publint",
  "pack",
  "node-test",
];
const QUICK_SKIP = ["publish", "tsc", "publint", "pack", "node-test"];

const USAGE = `Usage: node tests/run_all.mjs [--quick] [--skip=step,step] [--only=step,step]

Runs the static checks and the test suite under Deno, Bun and Node (on the tsc build), and
ends with one line "N passed, N failed". Exits 1 when anything failed.

  --quick          skip the slow packaging steps (${QUICK_SKIP.join(", ")})
  --skip=a,b       skip these steps (the env var RUN_ALL_SKIP=a,b does the same)
  --only=a,b       run only these steps
  -h, --help       print this help and exit

Steps, in order: ${STEPS.join(" ")}`;

function parseArgs(argv) {
  const skip = new Set((process.env.RUN_ALL_SKIP ?? "").split(",").filter(Boolean));
  let only;
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "--quick") QUICK_SKIP.forEach((s) => skip.add(s));
    else if (arg.startsWith("--skip=")) arg.slice(7).split(",").forEach((s) => skip.add(s));
    else if (arg.startsWith("--only=")) only = new Set(arg.slice(7).split(","));
    else {
      console.error(`Cannot run: unknown argument "${arg}" (see --help)`);
      process.exit(2);
    }
  }
  for (const s of [...skip, ...(only ?? [])]) {
    if (!STEPS.includes(s)) {
      console.error(`Cannot run: unknown step "${s}" (steps: ${STEPS.join(" ")})`);
      process.exit(2);
    }
  }
  return (step) => !skip.has(step) && (only === undefined || only.has(step));
}

const enabled = parseArgs(process.argv.slice(2));
const bin = (name) => join(ROOT, "node_modules", ".bin", name);
// deno-lint-ignore no-control-regex
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

// Colours only when a person is watching; logs and the parsers get plain text.
const PLAIN = process.stdout.isTTY ? {} : { NO_COLOR: "1" };

/** Runs a command, echoing its stdout and stderr as they arrive; resolves with both. */
function run(cmd, args, env = {}, cwd = ROOT) {
  return new Promise((done) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...PLAIN, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    // Both streams go to our stdout so that a log keeps each step's output in order.
    child.stderr.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("error", (error) => {
      output += String(error);
      console.error(`Cannot run "${cmd}": ${error.message}`);
      done({ code: 127, output });
    });
    child.on("close", (code, signal) => done({ code: code ?? 128, signal, output }));
  });
}

let passed = 0;
let failed = 0;
const report = [];

function banner(name, cmd, args) {
  const shown = [cmd.startsWith(ROOT) ? cmd.slice(ROOT.length + 1) : cmd, ...args].join(" ");
  console.log(`\n=== ${name}: ${shown}`);
}

/** A static check: one passed when it exits 0, else one failed. */
async function check(name, cmd, args) {
  if (!enabled(name)) return undefined;
  banner(name, cmd, args);
  const t0 = performance.now();
  const { code } = await run(cmd, args);
  const ok = code === 0;
  ok ? passed++ : failed++;
  report.push({ name, ok, detail: ok ? "ok" : `exit ${code}`, ms: performance.now() - t0 });
  return ok;
}

/**
 * A test runner: adds the counts it reports. A non-zero exit that the counts do not explain
 * (a crash, a type error, a file that failed to load) and a run of zero tests add one failure.
 */
async function runner(name, cmd, args, parse, env, cwd) {
  if (!enabled(name)) return;
  banner(name, cmd, args);
  const t0 = performance.now();
  const { code, output } = await run(cmd, args, env, cwd);
  const counts = parse(stripAnsi(output));
  const p = counts?.passed ?? 0;
  let f = counts?.failed ?? 0;
  const notes = [];
  if (counts === undefined) notes.push("no summary found");
  if (code !== 0 && f === 0) {
    f = 1;
    notes.push(`exit ${code}`);
  }
  if (p + f === 0) {
    f = 1;
    notes.push("ran 0 tests");
  }
  passed += p;
  failed += f;
  const detail = `${p} passed, ${f} failed${notes.length ? ` (${notes.join(", ")})` : ""}`;
  report.push({ name, ok: f === 0, detail, ms: performance.now() - t0 });
}

const lastInt = (text, re) => {
  const all = [...text.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : undefined;
};

/** deno: `ok | 12 passed (3 steps) | 0 failed (1s)`; steps (describe/it children) not added. */
function parseDeno(text) {
  const all = [
    ...text.matchAll(/^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/gm),
  ];
  if (all.length === 0) return undefined;
  const m = all[all.length - 1];
  return { passed: Number(m[1]), failed: Number(m[2]) };
}

/** bun: ` 12 pass` / ` 0 fail` lines of its summary. */
function parseBun(text) {
  const p = lastInt(text, /^\s*(\d+) pass$/gm);
  const f = lastInt(text, /^\s*(\d+) fail$/gm);
  return p === undefined && f === undefined ? undefined : { passed: p ?? 0, failed: f ?? 0 };
}

/** node --test (spec or tap reporter): `ℹ pass 12` / `# pass 12`, same for fail. */
function parseNode(text) {
  const p = lastInt(text, /^(?:#|ℹ) pass (\d+)$/gm);
  const f = lastInt(text, /^(?:#|ℹ) fail (\d+)$/gm);
  const c = lastInt(text, /^(?:#|ℹ) cancelled (\d+)$/gm) ?? 0;
  return p === undefined && f === undefined ? undefined : { passed: p ?? 0, failed: (f ?? 0) + c };
}

const existing = (paths) => paths.filter((p) => existsSync(p));
const denoExports = Object.values(JSON.parse(readFileSync("deno.json", "utf8")).exports);
const started = performance.now();

await check("fmt", bin("deno"), ["fmt", "--check"]);
await check("lint", bin("deno"), ["lint"]);
await check("check", bin("deno"), [
  "check",
  "--doc",
  ...existing([
    "mod.ts",
    "core.ts",
    "cli.ts",
    "cli",
    "lib",
    "dtypes",
    "tests",
    "examples",
    "bench",
  ]),
]);
await check("doc-lint", bin("deno"), ["doc", "--lint", ...denoExports]);
// Every exported symbol of the deno.json exports has a runnable @example.
await check("doc-examples", process.execPath, ["tests/check_doc_examples.mjs"]);
await check("publish", bin("deno"), ["publish", "--dry-run", "--allow-dirty", "--no-check"]);
// Files come from deno.json "test.include": tests/*_test.ts plus JSDoc examples (--doc).
await runner("deno-test", bin("deno"), ["test", "-A", "--doc", "--no-check"], parseDeno);
// Every ts code block of the README runs as written, in a scratch folder for the files it makes.
if (enabled("readme")) {
  const scratch = mkdtempSync(join(tmpdir(), "npy-readme-"));
  try {
    const args = [
      "test",
      "-A",
      "--doc",
      "--config",
      join(ROOT, "deno.json"),
      join(ROOT, "README.md"),
    ];
    await runner("readme", bin("deno"), args, parseDeno, {}, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
await runner("bun-test", bin("bun"), ["test", "./tests/"], parseBun);
let built = false;
if (enabled("tsc")) {
  rmSync("dist", { recursive: true, force: true });
  built = await check("tsc", process.execPath, ["build.mjs"]);
} else {
  built = existsSync("dist/mod.js");
}
if (built) {
  await check("publint", process.execPath, [bin("publint"), "--strict"]);
  // The npm tarball, installed into a scratch project: its files, its types under a plain
  // es2022 tsconfig with skipLibCheck off, and an import by package name under Node.
  await check("pack", process.execPath, ["tests/check_pack.mjs"]);
  const dir = "dist/tests";
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith("_test.js")).sort().map((f) => join(dir, f))
    : [];
  if (files.length === 0 && enabled("node-test")) {
    failed++;
    report.push({ name: "node-test", ok: false, detail: `no *_test.js in ${dir}`, ms: 0 });
  } else {
    const args = ["--test", "--test-reporter=spec", ...files];
    await runner("node-test", process.execPath, args, parseNode);
  }
} else {
  for (const name of ["publint", "pack", "node-test"]) {
    if (enabled(name)) {
      report.push({ name, ok: undefined, detail: "skipped: no dist build", ms: 0 });
    }
  }
}

console.log("\n=== summary");
for (const { name, ok, detail, ms } of report) {
  const time = `${(ms / 1000).toFixed(1)}s`.padStart(6);
  const status = ok === undefined ? "skip" : ok ? "ok  " : "FAIL";
  console.log(`${status} ${name.padEnd(12)} ${time}  ${detail}`);
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)}s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
