#!/usr/bin/env node
// Runs the benchmark suite under Deno, Bun and Node in turn (each with NumPy baselines when
// python3 has NumPy, and the memory checks) and prints one combined table (markdown).
//
// Usage: node bench/run.mjs [--quick] [--runtimes=deno,bun,node] [--only=append,encode,read,memory,loop]
//                           [--mem-size=BYTES] [--no-numpy] [--markdown=FILE] [--json=FILE]
//   npm run bench / bun run bench / deno task bench (bench/main.ts imports this file).
//   --quick (or BENCH_QUICK=1): a smoke run of well under a minute.
//   --mem-size: bytes the memory check appends (default 4 GiB; 256 MiB with --quick).
//   BENCH_DIR: where the temp files go (default: the OS temp dir). BENCH_BUFFER_SIZE: the
//   bufferSize of the buffered contenders (default 1 MiB). BENCH_FILTER=REGEX: only the groups
//   whose name matches. BENCH_TRIALS, BENCH_TIME (ms): trials per contender, time per trial.
// Plain JavaScript, no dependencies: runs under Node >= 20, Deno and Bun.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ALL_RUNTIMES = ["deno", "bun", "node"];
const ALL_PARTS = ["append", "encode", "read", "memory", "loop"];

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
        readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 14)
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

// ---------------------------------------------------------------------------------------
// Run everything

if (opts.runtimes.includes("node")) {
  console.error("compiling bench/ for node (tsc -p bench/tsconfig.node.json)");
  run(NODE, [bin("tsc"), "-p", "bench/tsconfig.node.json"]);
}
if (!opts.numpy) env.BENCH_NUMPY = "0";
const suiteParts = opts.parts.filter((p) => p !== "memory" && p !== "loop");
const suites = {};
const memory = {};
const loop = {};
for (const runtime of opts.runtimes) {
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
  if (opts.parts.includes("loop")) {
    const out = join(work, `${runtime}-loop.json`);
    const [cmd, args] = command(runtime, "loop");
    run(cmd, [...args, `--out=${out}`]);
    loop[runtime] = JSON.parse(readFileSync(out, "utf8"));
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
const fmtMB = (bytesPerSec) => `${fmtN(bytesPerSec / 1e6)} MB/s`;
const fmtX = (x) => `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`;
const fmtBytes = (n) =>
  n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
const mib = (n) => (n === undefined ? "n/a" : `${(n / 2 ** 20).toFixed(1)} MiB`);
/** A signed change in MiB: `+1.5 MiB`, `-0.3 MiB`, `+0.0 MiB` for less than 0.05 MiB. */
const deltaMib = (n) =>
  n === undefined ? "n/a" : `${n <= -0.05 * 2 ** 20 ? "-" : "+"}${mib(Math.abs(n))}`;

const runtimes = opts.runtimes.filter((r) =>
  suites[r] !== undefined || memory[r] !== undefined || loop[r] !== undefined
);
const rtInfo = (r) => suites[r]?.runtime ?? memory[r]?.runtime ?? loop[r]?.runtime;
const rtLabel = (r) => `${r} ${rtInfo(r).version}`;
const numpyInfo = Object.values(suites).find((s) => s.numpy)?.numpy;
const groupsOf = (runtime, kind) => (suites[runtime]?.groups ?? []).filter((g) => g.kind === kind);
const groupByKey = (runtime, kind, key) => groupsOf(runtime, kind).find((g) => g.key === key);

/** Ratios trial by trial (trial i of both ran back to back) of `name` over `ref`. */
function paired(g, name, ref) {
  const a = g.results[name];
  const b = g.results[ref];
  const rs = a.map((x, i) => x / b[i]);
  return { med: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
}
const isNumpy = (name) => name.startsWith("NumPy");

function baselineCell(ops, bytesPerOp) {
  const m = median(ops);
  return `${fmtN(m)}/s [${fmtN(Math.min(...ops))}–${fmtN(Math.max(...ops))}] · ${
    fmtMB(m * bytesPerOp)
  }`;
}

function contenderCell(g, name, refs) {
  const m = median(g.results[name]);
  const p = paired(g, name, g.baseline);
  const parts = [
    `${fmtN(m)}/s`,
    fmtMB(m * g.bytesPerOp),
    `**${fmtX(p.med)}** [${fmtX(p.min)}–${fmtX(p.max)}] ${refs.baseLabel}`,
  ];
  for (const [label, ref] of refs.more) {
    if (ref !== undefined && g.results[ref] && ref !== name) {
      parts.push(`${fmtX(paired(g, name, ref).med)} ${label}`);
    }
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
    numpyInfo
      ? `; NumPy ${numpyInfo.numpy} on Python ${numpyInfo.python}; npa: ${numpyInfo.npa ?? "?"}`
      : ""
  }.`,
);
const anySuite = Object.values(suites)[0];
if (anySuite) {
  const t = anySuite.trials;
  out(
    `Each figure: median of ${t.trials} trials of ${t.time} ms (JS: after ${t.warmupTime} ms ` +
      `of warmup); [min–max] over the trials. Within a group the contenders take turns ` +
      `trial by trial (A B C …, then B C … A), NumPy included (a python3 child serving one ` +
      `trial per request), so all of them see the same machine load; ratios are paired per ` +
      `trial (median [min–max] of trial-i ratios). MB = 10^6 bytes. Buffered contenders: ` +
      `\`rewriteHeaderOnAppend: false, bufferSize: ${anySuite.bufferSize}\`. Writers use ` +
      `\`durability: "none"\` (no fdatasync, like the raw loop); files are in the OS temp dir ` +
      `(ext4 on a virtio disk, page cache).`,
  );
}
out();

// --- Targets
const targetRows = [];
if (runtimes.some((r) => suites[r]) && opts.parts.includes("append")) {
  const vsNumpy = (label, contender, goal) => {
    const cells = runtimes.map((r) => {
      const g = groupByKey(r, "append", "f4x16/1");
      if (!g || !g.refs.npa) return "n/a";
      const p = paired(g, contender, g.refs.npa);
      const judged = r === "node" ? "(stated)" : p.med >= goal ? "✔" : "✘";
      return `${fmtX(p.med)} [${fmtX(p.min)}–${fmtX(p.max)}] ${judged}`;
    });
    targetRows.push([label, ...cells]);
  };
  vsNumpy(
    "1-row awaited `append`, header rewritten each time: ≥ 10× NumPy per-append (npa)",
    "append, header each",
    10,
  );
  vsNumpy(
    "1-row awaited `append`, `rewriteHeaderOnAppend: false` + `bufferSize`: ≥ 100× npa",
    "append, buffered",
    100,
  );
  const sizes = [["f4x16/1024", "64 KiB", 0.9], ["f4x16/16384", "1 MiB", 0.95], [
    "f4x16/262144",
    "16 MiB",
    0.95,
  ]];
  for (const [key, size, goal] of sizes) {
    for (const c of ["append, header each", "appendSync, header each", "append, buffered"]) {
      const [api, how] = c.split(", ");
      targetRows.push([
        `${size} \`${api}\` (${how}): ≥ ${goal}× writeSync loop`,
        ...runtimes.map((r) => {
          const g = groupByKey(r, "append", key);
          if (!g) return "n/a";
          const p = paired(g, c, g.baseline);
          return `${fmtX(p.med)} [${fmtX(p.min)}–${fmtX(p.max)}] ${p.med >= goal ? "✔" : "✘"}`;
        }),
      ]);
    }
  }
  targetRows.push([
    "(for reference) NumPy npa at 64 KiB ÷ the writeSync loop",
    ...runtimes.map((r) => {
      const g = groupByKey(r, "append", "f4x16/1024");
      return g && g.refs.npa ? fmtX(paired(g, g.refs.npa, g.baseline).med) : "n/a";
    }),
  ]);
}
if (runtimes.some((r) => memory[r])) {
  targetRows.push([
    "Zero-copy: peak-RSS growth over 8 appends of one native Float32Array (control: a copy each time)",
    ...runtimes.map((r) => {
      const z = memory[r]?.zeroCopy;
      if (!z) return "n/a";
      const ok = z.writer.hwmDelta !== undefined && z.writer.hwmDelta < z.chunkBytes / 4;
      return `${deltaMib(z.writer.hwmDelta)} with ${mib(z.chunkBytes)} chunks ${
        ok ? "✔" : "✘"
      } (control ${deltaMib(z.copyControl.hwmDelta)})`;
    }),
  ]);
  targetRows.push([
    "Flat memory: peak RSS (VmHWM) while appending",
    ...runtimes.map((r) => {
      const f = memory[r]?.flat;
      if (!f) return "n/a";
      const growth = (f.end.hwm ?? f.rssMax) - f.start.rss;
      return `${mib(f.end.hwm ?? f.rssMax)} for ${fmtBytes(f.bytes)} (${
        deltaMib(growth)
      } over start) ${growth < 32 * 2 ** 20 ? "✔" : "✘"}`;
    }),
  ]);
}
if (runtimes.some((r) => memory[r]?.reading)) {
  targetRows.push([
    "Reading in flat memory: peak RSS over the start, chunks() of the same file (≤ 100 MiB)",
    ...runtimes.map((r) => {
      const g = memory[r]?.reading;
      if (!g) return "n/a";
      const ok = (d) => d !== undefined && d <= 100 * 2 ** 20;
      return `${deltaMib(g.fresh.hwmDelta)} fresh buffers ${ok(g.fresh.hwmDelta) ? "✔" : "✘"}, ${
        deltaMib(g.reuse.hwmDelta)
      } reuse ${ok(g.reuse.hwmDelta) ? "✔" : "✘"} (${fmtBytes(g.bytes)})`;
    }),
  ]);
}
if (runtimes.some((r) => loop[r])) {
  targetRows.push([
    "Large async appends (16 MiB chunks): longest gap of a 1 ms interval probe, median of trials (≤ 5 ms)",
    ...runtimes.map((r) => {
      const l = loop[r]?.large;
      if (!l) return "n/a";
      const gap = median(l.writer.map((t) => t.gapMs));
      return `${gap.toFixed(1)} ms ${gap <= 5 ? "✔" : "✘"} (writeSync loop ${
        median(l.writeSync.map((t) => t.gapMs)).toFixed(0)
      } ms)`;
    }),
  ]);
  targetRows.push([
    "Large async appends: throughput, paired ratio to a writeSync loop of the same bytes (≥ 0.9x)",
    ...runtimes.map((r) => {
      const l = loop[r]?.large;
      if (!l) return "n/a";
      const x = median(l.writer.map((t, i) => l.writeSync[i].seconds / t.seconds));
      // The ceiling: the runtime's own off-thread writes of the same bytes, same trials.
      const ceiling = l.asyncWrite
        ? ` (raw off-thread writes ${
          fmtX(median(l.asyncWrite.map((t, i) => l.writeSync[i].seconds / t.seconds)))
        })`
        : "";
      return `${fmtX(x)} ${x >= 0.9 ? "✔" : "✘"}${ceiling}`;
    }),
  ]);
  targetRows.push([
    "flushInterval 10: a reader sees a buffered row within (max over the probes; ≤ 50 ms)",
    ...runtimes.map((r) => {
      const v = loop[r]?.visibility;
      if (!v) return "n/a";
      const max = Math.max(...v.delaysMs);
      return `${max.toFixed(1)} ms over ${v.delaysMs.length} ${max <= 50 ? "✔" : "✘"}`;
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

// --- Groups
function table(kind, title, legend, refsOf) {
  const keys = [];
  for (const r of runtimes) {
    for (const g of groupsOf(r, kind)) if (!keys.includes(g.group)) keys.push(g.group);
  }
  if (keys.length === 0) return;
  out(`### ${title}`);
  out();
  out(legend);
  out();
  out(`| | contender | ${runtimes.map(rtLabel).join(" | ")} |`);
  out(`|:--|:--|${runtimes.map(() => "--:").join("|")}|`);
  for (const key of keys) {
    const byRt = Object.fromEntries(
      runtimes.map((r) => [r, groupsOf(r, kind).find((g) => g.group === key)]),
    );
    const any = Object.values(byRt).find(Boolean);
    const label = `${key.replace(/^(append|encode|read) /, "")} (${fmtBytes(any.bytesPerOp)})`;
    let first = true;
    const row = (name, cells) => {
      out(`| ${first ? label : ""} | ${name} | ${cells.join(" | ")} |`);
      first = false;
    };
    const names = Object.keys(any.results);
    const baselines = [any.baseline, ...names.filter(isNumpy)];
    for (const name of baselines) {
      row(
        name === any.baseline ? `${name} (baseline)` : name,
        runtimes.map((r) =>
          byRt[r]?.results[name] ? baselineCell(byRt[r].results[name], any.bytesPerOp) : "n/a"
        ),
      );
    }
    for (const name of names) {
      if (baselines.includes(name)) continue;
      row(
        name,
        runtimes.map((r) => {
          const g = byRt[r];
          return g?.results[name] ? contenderCell(g, name, refsOf(g, name)) : "n/a";
        }),
      );
    }
  }
  out();
}

table(
  "append",
  "Appends",
  "Cells: appends/s · MB/s · paired ratio to the writeSync loop of the same bytes in the same " +
    "runtime (**ws**, the ceiling) · to the Python `npy-append-array` package (**npa**: the " +
    "real package when ../shared/anchors has it, else its re-implementation in bench/; `tofile`, " +
    "then the header rewritten in place, per append) · to NumPy `np.save` once at the end " +
    "(**save**: chunks kept in a list, then `np.concatenate` + `np.save`, up to 64 MiB). Small " +
    "chunks are appended in loops of up to 1024 per timed call (≤ 64 KiB per call).",
  (g) => ({ baseLabel: "ws", more: [["npa", g.refs.npa], ["save", g.refs.save]] }),
);
table(
  "encode",
  "Encoding (inputs that are not zero-copy)",
  "Cells: appends/s · MB/s · paired ratio to the writeSync loop of the encoded bytes (**ws**) " +
    "· to the zero-copy input of the same bytes (**0-copy**). All: awaited `append`, header " +
    "rewritten each time.",
  (g) => ({
    baseLabel: "ws",
    more: [["0-copy", Object.keys(g.results).find((n) => n.includes("zero-copy"))]],
  }),
);
table(
  "read",
  "Reading",
  "Cells: reads/s · MB/s · paired ratio to a `readSync` loop of the same byte ranges into " +
    'fresh buffers (**rs**) · to NumPy (**np**: `np.load(mmap_mode="r")`, then ' +
    "`m[s:s+n].copy()`; whole file: `np.load`).",
  (g) => ({ baseLabel: "rs", more: [["np", g.refs.np]] }),
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
      } | ${mib(f.rssMax)} | ${mib(f.end.hwm)} | ${mib(f.end.rss)} | ${
        deltaMib(z.writer.hwmDelta)
      } · ${deltaMib(z.writer.arrayBuffersDelta)} (chunk ${mib(z.chunkBytes)}) | ${
        deltaMib(z.writeSync.hwmDelta)
      } | ${deltaMib(z.copyControl.hwmDelta)} |`,
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
  writeFileSync(opts.json, JSON.stringify({ suites, memory, loop }, null, 1));
}
