#!/usr/bin/env node
// Runs the benchmark suite under Deno, Bun and Node in turn (plus the NumPy baselines when
// python3 has NumPy, and the memory checks) and prints one combined table (markdown).
//
// Usage: node bench/run.mjs [--quick] [--runtimes=deno,bun,node] [--only=append,encode,read,memory]
//                           [--mem-size=BYTES] [--no-numpy] [--markdown=FILE] [--json=FILE]
//   npm run bench / bun run bench / deno task bench (bench/main.ts imports this file).
//   --quick (or BENCH_QUICK=1): a smoke run of well under a minute.
//   --mem-size: bytes the memory check appends (default 4 GiB; 256 MiB with --quick).
//   BENCH_DIR: where the temp files go (default: the OS temp dir). BENCH_BUFFER_SIZE: the
//   bufferSize of the buffered contenders (default 1 MiB).
// Plain JavaScript, no dependencies: runs under Node >= 20, Deno and Bun.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ALL_RUNTIMES = ["deno", "bun", "node"];
const ALL_PARTS = ["append", "encode", "read", "memory"];

function parseArgs(argv) {
  const o = {
    quick: process.env.BENCH_QUICK === "1",
    runtimes: ALL_RUNTIMES,
    parts: ALL_PARTS,
    memSize: undefined,
    numpy: true,
    markdown: undefined,
    json: undefined,
  };
  for (const arg of argv) {
    const [key, value] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (key === "--help" || key === "-h") {
      console.log(
        readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 12)
          .map((l) => l.replace(/^\/\/ ?/, "")).join("\n"),
      );
      process.exit(0);
    } else if (key === "--quick") o.quick = true;
    else if (key === "--no-numpy") o.numpy = false;
    else if (key === "--runtimes") o.runtimes = value.split(",");
    else if (key === "--only") o.parts = value.split(",");
    else if (key === "--mem-size") o.memSize = Number(value);
    else if (key === "--markdown") o.markdown = value;
    else if (key === "--json") o.json = value;
    else fail(`unknown argument "${arg}"`);
  }
  for (const r of o.runtimes) if (!ALL_RUNTIMES.includes(r)) fail(`unknown runtime "${r}"`);
  for (const p of o.parts) if (!ALL_PARTS.includes(p)) fail(`unknown part "${p}"`);
  return o;
}

function fail(message) {
  console.error(`Cannot run the benchmarks: ${message}`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const isNode = globalThis.Deno === undefined && globalThis.Bun === undefined;
const NODE = isNode ? process.execPath : "node";
const env = { ...process.env, ...(opts.quick ? { BENCH_QUICK: "1" } : {}) };
const work = mkdtempSync(join(tmpdir(), "npy-bench-run-"));
const started = performance.now();

/** Runs a command with stderr shown live; returns stdout. Throws on failure. */
function run(cmd, args, input) {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    env,
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "inherit"],
    maxBuffer: 1 << 28,
    encoding: "utf8",
  });
  if (r.error) throw new Error(`Cannot run "${cmd}": ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    throw new Error(`Cannot run "${cmd} ${args.join(" ")}": exit ${r.status ?? r.signal}`);
  }
  return r.stdout;
}

/** How to run a bench/ TypeScript entry point under each runtime. */
function command(runtime, entry, gc = false) {
  if (runtime === "deno") {
    return [bin("deno"), [
      "run",
      "-A",
      ...(gc ? ["--v8-flags=--expose-gc"] : []),
      `bench/${entry}.ts`,
    ]];
  }
  if (runtime === "bun") return [bin("bun"), [`bench/${entry}.ts`]];
  return [NODE, [
    ...(gc ? ["--expose-gc"] : []),
    join(".tmp", "bench-node", "bench", `${entry}.js`),
  ]];
}

function hasNumpy() {
  const r = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
  return r.status === 0;
}

// ---------------------------------------------------------------------------------------
// Run everything

if (opts.runtimes.includes("node")) {
  console.error("compiling bench/ for node (tsc -p bench/tsconfig.node.json)");
  run(NODE, [bin("tsc"), "-p", "bench/tsconfig.node.json"]);
}
const suiteParts = opts.parts.filter((p) => p !== "memory");
const first = opts.runtimes[0];
const cases = JSON.parse(
  (() => {
    const [cmd, args] = command(first, "suite");
    return run(cmd, [...args, "--cases"]);
  })(),
);
const numpyWanted = opts.numpy && suiteParts.some((p) => p === "append" || p === "read");
const numpyOk = numpyWanted && hasNumpy();
if (numpyWanted && !numpyOk) console.error("python3 with NumPy not found: no NumPy baselines");

const numpyRuns = [];
const suites = {};
const memory = {};
for (const runtime of opts.runtimes) {
  if (numpyOk) {
    // Once before each runtime, so NumPy's trials are spread over the whole run.
    console.error(`numpy baselines (python3), before ${runtime}`);
    const job = {
      dir: work,
      quick: opts.quick,
      trials: opts.quick ? 1 : 2,
      time: opts.quick ? 0.04 : 0.15,
      cases: suiteParts.includes("append") ? cases.cases : [],
      read: suiteParts.includes("read")
        ? { rows: cases.readRows, ranges: cases.readRanges }
        : undefined,
    };
    numpyRuns.push(
      JSON.parse(run("python3", ["bench/numpy_baseline.py"], JSON.stringify(job))),
    );
  }
  if (suiteParts.length > 0) {
    const out = join(work, `${runtime}-suite.json`);
    const [cmd, args] = command(runtime, "suite");
    run(cmd, [...args, `--only=${suiteParts.join(",")}`, `--out=${out}`]);
    suites[runtime] = JSON.parse(readFileSync(out, "utf8"));
  }
  if (opts.parts.includes("memory")) {
    const out = join(work, `${runtime}-memory.json`);
    const [cmd, args] = command(runtime, "memory", true);
    const size = opts.memSize === undefined ? [] : [`--size=${opts.memSize}`];
    run(cmd, [...args, ...size, `--out=${out}`]);
    memory[runtime] = JSON.parse(readFileSync(out, "utf8"));
  }
}
rmSync(work, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------
// Tables

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtN = (x) =>
  x >= 1e9
    ? `${(x / 1e9).toPrecision(3)}G`
    : x >= 1e6
    ? `${(x / 1e6).toPrecision(3)}M`
    : x >= 1e3
    ? `${(x / 1e3).toPrecision(3)}k`
    : x.toPrecision(3);
const fmtMB = (bytesPerSec) => `${fmtN(bytesPerSec / 1e6).replace(/k$/, "k")} MB/s`;
const fmtX = (x) => `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
const fmtBytes = (n) =>
  n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
const mib = (n) => (n === undefined ? "n/a" : `${(n / 2 ** 20).toFixed(1)} MiB`);

// NumPy: trials pooled over its runs (one before each runtime).
const numpy = {};
for (const r of numpyRuns) {
  for (const [key, byName] of Object.entries(r.results)) {
    numpy[key] ??= {};
    for (const [name, res] of Object.entries(byName.append ? byName : { read: byName })) {
      numpy[key][name] ??= { opsPerSec: [], bytesPerOp: res.bytesPerOp };
      numpy[key][name].opsPerSec.push(...res.opsPerSec);
    }
  }
}
const numpyInfo = numpyRuns[0]?.info;
const runtimes = opts.runtimes.filter((r) => suites[r] !== undefined || memory[r] !== undefined);
const rtInfo = (r) => suites[r]?.runtime ?? memory[r]?.runtime;
const rtLabel = (r) => `${r} ${rtInfo(r).version}`;

function groupsOf(runtime, kind) {
  return (suites[runtime]?.groups ?? []).filter((g) => g.kind === kind);
}

/** Paired ratios (trial i over trial i) of a contender over a reference, same runtime. */
function paired(g, name, ref) {
  const a = g.results[name];
  const b = g.results[ref];
  const rs = a.map((x, i) => x / b[i]);
  return { med: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
}

function baselineCell(ops, bytesPerOp) {
  const m = median(ops);
  return `${fmtN(m)}/s [${fmtN(Math.min(...ops))}–${fmtN(Math.max(...ops))}] · ${
    fmtMB(m * bytesPerOp)
  }`;
}

function contenderCell(g, name, extras) {
  const ops = g.results[name];
  const m = median(ops);
  const p = paired(g, name, g.baseline);
  const parts = [
    `${fmtN(m)}/s`,
    fmtMB(m * g.bytesPerOp),
    `**${fmtX(p.med)}** [${fmtX(p.min)}–${fmtX(p.max)}] ${extras.baseLabel}`,
  ];
  for (const [label, ref] of extras.refs) {
    if (ref !== undefined) parts.push(`${fmtX(m / ref)} ${label}`);
  }
  return parts.join(" · ");
}

const lines = [];
const out = (s = "") => lines.push(s);

out(`## Benchmark results${opts.quick ? " (quick mode: smoke figures only)" : ""}`);
out();
const cpu = cpus();
out(
  `Machine: ${cpu.length} × ${cpu[0]?.model?.trim() ?? "?"}, ${
    (totalmem() / 2 ** 30).toFixed(0)
  } GiB RAM, Linux ${release()}; ${new Date().toISOString().slice(0, 10)}.`,
);
out(
  `Runtimes: ${runtimes.map((r) => `${rtLabel(r)} (${rtInfo(r).engine})`).join(", ")}${
    numpyInfo ? `; NumPy ${numpyInfo.numpy} on Python ${numpyInfo.version}` : ""
  }.`,
);
const anySuite = Object.values(suites)[0];
if (anySuite) {
  const t = anySuite.trials;
  out(
    `Each figure: median of ${t.trials} trials of ${t.time} ms (after ${t.warmupTime} ms of ` +
      `warmup), contenders interleaved trial by trial; [min–max] over the trials. Ratios to ` +
      `a baseline of the same runtime are paired per trial (median [min–max]). NumPy: ` +
      `${numpyRuns.length} runs (one before each runtime) pooled. MB = 10^6 bytes. ` +
      `Buffered contenders: rewriteHeaderOnAppend: false, bufferSize: ${
        fmtBytes(anySuite.bufferSize)
      }. Writers use sync: "none" (no fdatasync, like the raw loop).`,
  );
}
out();

// --- Targets
const targetRows = [];
function groupByKey(runtime, kind, key) {
  return groupsOf(runtime, kind).find((g) => g.numpyKey === key);
}
function npaRef(key, name = "append") {
  const n = numpy[key]?.[name];
  return n ? median(n.opsPerSec) : undefined;
}
if (runtimes.some((r) => suites[r]) && opts.parts.includes("append")) {
  const rows = [];
  const npa1 = npaRef("f4x16/1");
  const vsNumpy = (label, contender, goal, stateNode) => {
    const cells = runtimes.map((r) => {
      const g = groupByKey(r, "append", "f4x16/1");
      if (!g || npa1 === undefined) return "n/a";
      const x = median(g.results[contender]) / npa1;
      const judged = r === "node" && stateNode ? "(stated)" : x >= goal ? "✔" : "✘";
      return `${fmtX(x)} ${judged}`;
    });
    rows.push([label, ...cells]);
  };
  vsNumpy(
    "1-row awaited `append`, header rewritten each time: ≥ 10× NumPy per-append",
    "append, header each",
    10,
    true,
  );
  vsNumpy(
    "1-row awaited `append`, `rewriteHeaderOnAppend: false` + `bufferSize`: ≥ 100× NumPy per-append",
    "append, buffered",
    100,
    true,
  );
  const vsCeiling = (label, key, contender, goal) => {
    const cells = runtimes.map((r) => {
      const g = groupByKey(r, "append", key);
      if (!g) return "n/a";
      const p = paired(g, contender, g.baseline);
      return `${fmtX(p.med)} [${fmtX(p.min)}–${fmtX(p.max)}] ${p.med >= goal ? "✔" : "✘"}`;
    });
    rows.push([label, ...cells]);
  };
  for (
    const [key, size, goal] of [["f4x16/1024", "64 KiB", 0.9], ["f4x16/16384", "1 MiB", 0.95], [
      "f4x16/262144",
      "16 MiB",
      0.95,
    ]]
  ) {
    for (const c of ["append, header each", "appendSync, header each", "append, buffered"]) {
      vsCeiling(
        `${size} \`${c.split(",")[0]}\` (${c.split(", ")[1]}): ≥ ${goal}× writeSync loop`,
        key,
        c,
        goal,
      );
    }
  }
  const np64 = npaRef("f4x16/1024");
  if (np64 !== undefined) {
    rows.push([
      "(for reference) NumPy per-append at 64 KiB ÷ the runtime's writeSync loop",
      ...runtimes.map((r) => {
        const g = groupByKey(r, "append", "f4x16/1024");
        return g ? fmtX(np64 / median(g.results[g.baseline])) : "n/a";
      }),
    ]);
  }
  targetRows.push(...rows);
}
if (runtimes.some((r) => memory[r])) {
  targetRows.push([
    "Zero-copy: peak-RSS growth over 8 appends of a native Float32Array (control: a copy each time)",
    ...runtimes.map((r) => {
      const z = memory[r]?.zeroCopy;
      if (!z) return "n/a";
      const ok = z.writer.hwmDelta !== undefined && z.writer.hwmDelta < z.chunkBytes / 4;
      return `+${mib(z.writer.hwmDelta)} of ${mib(z.chunkBytes)} chunks ${
        ok ? "✔" : "✘"
      } (control +${mib(z.copyControl.hwmDelta)})`;
    }),
  ]);
  targetRows.push([
    "Flat memory: peak RSS (VmHWM) while appending",
    ...runtimes.map((r) => {
      const f = memory[r]?.flat;
      if (!f) return "n/a";
      const growth = (f.end.hwm ?? f.rssMax) - f.start.rss;
      return `${mib(f.end.hwm ?? f.rssMax)} for ${fmtBytes(f.bytes)} (+${mib(growth)} over start) ${
        growth < 32 * 2 ** 20 ? "✔" : "✘"
      }`;
    }),
  ]);
}
if (targetRows.length > 0) {
  out("### Targets");
  out();
  out(`| target | ${runtimes.map(rtLabel).join(" | ")} |`);
  out(`|:--|${runtimes.map(() => "--:").join("|")}|`);
  for (const r of targetRows) out(`| ${r.join(" | ")} |`);
  out();
}

// --- Appends
const hasNumpyCol = numpyRuns.length > 0;
function table(kind, title, legend, numpyRows, extraRefs) {
  const keys = [];
  for (const r of runtimes) {
    for (const g of groupsOf(r, kind)) if (!keys.includes(g.group)) keys.push(g.group);
  }
  if (keys.length === 0) return;
  out(`### ${title}`);
  out();
  out(legend);
  out();
  const npCol = hasNumpyCol && numpyRows.length > 0;
  out(
    `| | contender | ${runtimes.map(rtLabel).join(" | ")} |${
      npCol ? ` NumPy ${numpyInfo.numpy} |` : ""
    }`,
  );
  out(`|:--|:--|${runtimes.map(() => "--:").join("|")}|${npCol ? "--:|" : ""}`);
  for (const key of keys) {
    const byRt = Object.fromEntries(
      runtimes.map((r) => [r, groupsOf(r, kind).find((g) => g.group === key)]),
    );
    const any = Object.values(byRt).find(Boolean);
    const label = `${key.replace(/^(append|encode|read) /, "")} (${fmtBytes(any.bytesPerOp)})`;
    let first = true;
    const row = (name, cells, np = "") => {
      out(`| ${first ? label : ""} | ${name} | ${cells.join(" | ")} |${npCol ? ` ${np} |` : ""}`);
      first = false;
    };
    row(
      `${any.baseline} (baseline)`,
      runtimes.map((
        r,
      ) => (byRt[r] ? baselineCell(byRt[r].results[any.baseline], any.bytesPerOp) : "n/a")),
    );
    if (npCol && any.numpyKey && numpy[any.numpyKey]) {
      for (const [name, title] of numpyRows) {
        const n = numpy[any.numpyKey][name];
        if (n) row(title, runtimes.map(() => ""), baselineCell(n.opsPerSec, n.bytesPerOp));
      }
    }
    for (const name of Object.keys(any.results)) {
      if (name === any.baseline) continue;
      row(
        name,
        runtimes.map((r) => {
          const g = byRt[r];
          if (!g || !g.results[name]) return "n/a";
          return contenderCell(g, name, extraRefs(g, name));
        }),
      );
    }
  }
  out();
}

const npRefs = (g) => {
  const refs = [];
  if (g.numpyKey && numpy[g.numpyKey]) {
    for (const name of Object.keys(numpy[g.numpyKey])) {
      if (name === "append") refs.push(["npa", median(numpy[g.numpyKey].append.opsPerSec)]);
      if (name === "save") refs.push(["save", median(numpy[g.numpyKey].save.opsPerSec)]);
      if (name === "read") refs.push(["np", median(numpy[g.numpyKey].read.opsPerSec)]);
    }
  }
  return refs;
};

table(
  "append",
  "Appends",
  "Cells: appends/s · MB/s · ratio to the writeSync loop of the same bytes in the same runtime " +
    "(**ws**, the ceiling) · to NumPy the `npy-append-array` way (**npa**: `tofile` then the " +
    "header rewritten in place, per append) · to NumPy `np.save` once at the end (**save**, " +
    "all chunks kept in memory, then `np.concatenate` + `np.save`). Small chunks are appended " +
    "in loops of up to 1024 per timed call (64 KiB per call).",
  [
    ["append", "NumPy, npy-append-array way (npa)"],
    ["appendNoHeader", "NumPy, same with rewrite_header_on_append=False"],
    ["save", "NumPy, np.save at the end (save)"],
  ],
  (g) => ({ baseLabel: "ws", refs: npRefs(g) }),
);
table(
  "encode",
  "Encoding (inputs that are not zero-copy)",
  "Cells: appends/s · MB/s · ratio to the writeSync loop (**ws**) · to the zero-copy input of " +
    "the same bytes (**0-copy**). All: awaited `append`, header rewritten each time.",
  [],
  (g, name) => {
    const zc = Object.keys(g.results).find((n) => n.includes("zero-copy"));
    return {
      baseLabel: "ws",
      refs: zc && zc !== name ? [["0-copy", median(g.results[zc])]] : [],
    };
  },
);
table(
  "read",
  "Reading",
  "Cells: reads/s · MB/s · ratio to a readSync loop of the same byte ranges into fresh " +
    'buffers (**rs**) · to NumPy (**np**: `np.load(mmap_mode="r")` once, then ' +
    "`m[s:s+n].copy()`; whole file: `np.load`).",
  [["read", "NumPy (np)"]],
  (g) => ({ baseLabel: "rs", refs: npRefs(g) }),
);

if (runtimes.some((r) => memory[r])) {
  out("### Memory");
  out();
  out(
    "Flat RSS: a file appended in 1 MiB chunks (awaited `append`, header each time), temp " +
      "dir, deleted after; RSS sampled every 16 appends, VmHWM reset before. Zero-copy: 8 " +
      "appends (4 async, 4 sync) of one native Float32Array; peak-RSS (VmHWM) and " +
      "`arrayBuffers` growth; the control appends `chunk.slice()` (a copy each time) to show " +
      "that a copy would be seen.",
  );
  out();
  out(
    "| runtime | appended | MiB/s | RSS start | RSS max sampled | VmHWM | RSS end | zero-copy: writer Δpeak · ΔarrayBuffers | writeSync loop Δpeak | control Δpeak |",
  );
  out("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const r of runtimes) {
    const m = memory[r];
    if (!m) continue;
    const f = m.flat;
    const z = m.zeroCopy;
    out(
      `| ${rtLabel(r)} | ${fmtBytes(f.bytes)} | ${(f.bytes / 2 ** 20 / f.seconds).toFixed(0)} | ${
        mib(f.start.rss)
      } | ${mib(f.rssMax)} | ${mib(f.end.hwm)} | ${mib(f.end.rss)} | +${
        mib(z.writer.hwmDelta)
      } · +${mib(z.writer.arrayBuffersDelta)} (chunk ${mib(z.chunkBytes)}) | +${
        mib(z.writeSync.hwmDelta)
      } | +${mib(z.copyControl.hwmDelta)} |`,
    );
  }
  out();
}
const cmd = `npm run bench${opts.quick ? " -- --quick" : ""}`;
out(
  `Reproduce: \`${cmd}\` (or \`deno task bench\`, \`bun run bench\`; \`node bench/run.mjs --help\` ` +
    `lists the options). Total run time: ${
      ((performance.now() - started) / 60000).toFixed(1)
    } min.`,
);

const text = lines.join("\n") + "\n";
process.stdout.write("\n" + text);
if (opts.markdown) writeFileSync(opts.markdown, text);
if (opts.json) {
  writeFileSync(opts.json, JSON.stringify({ suites, memory, numpy: numpyRuns }, null, 1));
}
