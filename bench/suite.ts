/**
 * The throughput suite for one runtime: appends (every chunk size, dtype, API and header
 * policy), encoding of inputs that are not zero-copy, and reading — each group timed
 * against a raw `writeSync`/`readSync` loop of the same bytes, interleaved trial by trial.
 * Every contender's output is checked before anything is timed, and after every trial.
 *
 * Usage (bench/run.mjs runs it under Deno, Bun and Node and prints the combined table):
 *   deno run -A bench/suite.ts [--quick] [--out=results.json] [--only=append,encode,read]
 *   bun bench/suite.ts …;  node .tmp/bench-node/bench/suite.js … (after tsc, see run.mjs)
 *
 * @module
 */

import * as fs from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type Descr,
  formatDescr,
  NpyAppendArray,
  type NpyAppendArrayOptions,
  type NpyChunk,
  NpyReader,
  parseHeader,
  peekHeaderLength,
} from "../mod.ts";
import { NumpyServer } from "./_numpy.ts";
import {
  type Contender,
  fillPattern,
  interleave,
  makeTempDir,
  median,
  progress,
  QUICK,
  runtimeInfo,
  touch,
  TRIALS,
} from "./_harness.ts";

/** One group of contenders timed against each other; `baseline` names the raw I/O loop. */
export interface GroupResult {
  /** What is measured, e.g. `append <f4 (16,) x 1 row`. */
  group: string;
  kind: "append" | "encode" | "read";
  /** A short stable key, e.g. `f4x16/1` or `readRows/1024`. */
  key: string;
  /** Rows per operation. */
  rows: number;
  /** Payload bytes per operation. */
  bytesPerOp: number;
  /** The contender every other one is divided by. */
  baseline: string;
  /** Further reference contenders by role: NumPy per-append, np.save, NumPy reading. */
  refs: { npa?: string; save?: string; np?: string };
  /** Operations per second, one entry per trial (trial i of every contender adjacent). */
  results: Record<string, number[]>;
  /** Why the group was not measured. */
  skipped?: string;
}

/** What the suite prints (as JSON) for one runtime. */
export interface SuiteOutput {
  runtime: ReturnType<typeof runtimeInfo>;
  quick: boolean;
  trials: typeof TRIALS;
  bufferSize: number;
  /** Python and NumPy versions, when NumPy contenders ran. */
  numpy?: { python: string; numpy: string; npa: string } | undefined;
  groups: GroupResult[];
  seconds: number;
}

const args = process.argv.slice(2);
const outArg = args.find((a) => a.startsWith("--out="))?.slice(6);
const onlyArg = args.find((a) => a.startsWith("--only="))?.slice(7);
const only = onlyArg === undefined ? undefined : new Set(onlyArg.split(","));
/** `--filter=REGEX` (or `BENCH_FILTER`): only the groups whose name matches, e.g. `x 1$`. */
const filterArg = args.find((a) => a.startsWith("--filter="))?.slice(9) ??
  process.env.BENCH_FILTER;
const filter = filterArg === undefined ? undefined : new RegExp(filterArg);
/** `bufferSize` of the buffered contenders (bytes). */
const BUFFER_SIZE = Number(process.env.BENCH_BUFFER_SIZE ?? 1 << 20);
/** Appends per timed call for small chunks: amortizes the timer, as a user's loop would. */
const BATCH_BYTES = 64 << 10;
const MAX_BATCH = 1024;

const RECORD: Descr = [["t", "<i8"], ["x", "<f4"], ["y", "<f4"]];

const { dir, cleanup } = makeTempDir();
const groups: GroupResult[] = [];
let numpy: NumpyServer | undefined;

/** A NumPy contender: one trial per request to the python3 child. */
function numpyContender(name: string, request: Record<string, unknown>): Contender {
  const unused = () => {
    throw new Error("unreachable");
  };
  return {
    name,
    opsPerCall: 1,
    bytesPerOp: 0,
    async: true,
    before: unused,
    call: unused,
    after: unused,
    external: async (ms: number) =>
      (await numpy!.request<{ opsPerSec: number }>({ ...request, seconds: ms / 1000 }))
        .opsPerSec,
  };
}

/** Names of the NumPy contenders (they are also the table's row names). */
export const NUMPY = {
  npa: "Python npy-append-array (header per append)",
  noHeader: "Python npy-append-array, rewrite_header_on_append=False",
  npaReimpl: "its re-implementation in bench/ (header per append)",
  noHeaderReimpl: "its re-implementation, rewrite_header_on_append=False",
  save: "NumPy, np.save at the end (all in memory)",
  read: "NumPy, np.load(mmap_mode='r') slice copy",
  load: "NumPy, np.load of the whole file",
} as const;

// ---------------------------------------------------------------------------------------
// Checking output

function readAll(path: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path));
}

/** The header of `path` and the file size; throws unless it claims `rows` rows exactly. */
function checkFile(path: string, rows: number, rowBytes: number): number {
  const fd = fs.openSync(path, "r");
  try {
    const prefix = new Uint8Array(4096);
    const got = fs.readSync(fd, prefix, 0, prefix.length, 0);
    const length = peekHeaderLength(prefix.subarray(0, got));
    const header = parseHeader(prefix.subarray(0, length));
    const size = fs.fstatSync(fd).size;
    const claimed = header.shape.length === 0 ? 1 : header.shape[0];
    if (claimed !== rows || size !== length + rows * rowBytes) {
      throw new Error(
        `Cannot accept "${path}": header claims ${claimed} rows and the file has ${size} ` +
          `bytes; expected ${rows} rows = ${length + rows * rowBytes} bytes`,
      );
    }
    return length;
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws unless the data of `path` is `expected` repeated `times` times. */
function checkContent(path: string, expected: Uint8Array, times: number, rowBytes: number) {
  const rows = (expected.length / rowBytes) * times;
  const length = checkFile(path, rows, rowBytes);
  const bytes = readAll(path);
  for (let t = 0; t < times; t++) {
    const at = length + t * expected.length;
    for (let i = 0; i < expected.length; i++) {
      if (bytes[at + i] !== expected[i]) {
        throw new Error(
          `Cannot accept "${path}": data byte ${t * expected.length + i} is ${
            bytes[at + i]
          }, expected ${expected[i]}`,
        );
      }
    }
  }
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

// ---------------------------------------------------------------------------------------
// Contenders

/** The ceiling: `fs.writeSync` of the same bytes after a 128-byte stand-in header. */
function rawWriteContender(path: string, bytes: Uint8Array, k: number, rowBytes: number) {
  let fd = -1;
  const header = new Uint8Array(128);
  return {
    name: "writeSync loop",
    opsPerCall: k,
    bytesPerOp: bytes.length,
    async: false,
    before() {
      touch(bytes);
      fd = fs.openSync(path, "w");
      fs.writeSync(fd, header);
    },
    call() {
      for (let i = 0; i < k; i++) fs.writeSync(fd, bytes);
    },
    after(ops: number) {
      const size = fs.fstatSync(fd).size;
      fs.closeSync(fd);
      fs.rmSync(path);
      if (size !== 128 + ops * bytes.length) {
        throw new Error(`Cannot accept the writeSync loop: ${size} bytes written`);
      }
      void rowBytes;
    },
  } satisfies Contender;
}

interface WriterSpec {
  name: string;
  async: boolean;
  options: NpyAppendArrayOptions;
}

/** The writer appending `chunk` (`rows` rows, `bytes` once encoded) `k` times per call. */
function writerContender(
  path: string,
  spec: WriterSpec,
  chunk: NpyChunk,
  touchMe: ArrayBufferView | undefined,
  rows: number,
  bytes: number,
  k: number,
) {
  let w: NpyAppendArray | undefined;
  const rowBytes = bytes / rows;
  const call = spec.async
    ? k === 1 ? () => w!.append(chunk) : async () => {
      for (let i = 0; i < k; i++) await w!.append(chunk);
    }
    : () => {
      for (let i = 0; i < k; i++) w!.appendSync(chunk);
    };
  return {
    name: spec.name,
    opsPerCall: k,
    bytesPerOp: bytes,
    async: spec.async,
    before() {
      if (touchMe !== undefined) touch(touchMe);
      w = NpyAppendArray.openSync(path, { ...spec.options, mode: "overwrite", durability: "none" });
    },
    call,
    after(ops: number) {
      w!.closeSync();
      checkFile(path, ops * rows, rowBytes);
      fs.rmSync(path);
    },
  } satisfies Contender;
}

/** Appends `chunk` 3 times with `spec` (its API) and checks the bytes against `expected`. */
async function precheck(
  path: string,
  spec: WriterSpec,
  chunk: NpyChunk,
  expected: Uint8Array,
  rowBytes: number,
): Promise<void> {
  const options = { ...spec.options, mode: "overwrite", durability: "none" } as const;
  if (spec.async) {
    const w = await NpyAppendArray.open(path, options);
    for (let i = 0; i < 3; i++) await w.append(chunk);
    await w.close();
  } else {
    const w = NpyAppendArray.openSync(path, options);
    for (let i = 0; i < 3; i++) w.appendSync(chunk);
    w.closeSync();
  }
  checkContent(path, expected, 3, rowBytes);
  fs.rmSync(path);
}

function batchFor(bytes: number): number {
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_BYTES / bytes)));
}

function fmtRate(x: number): string {
  return x >= 1e6
    ? `${(x / 1e6).toFixed(2)}M`
    : x >= 1e3
    ? `${(x / 1e3).toFixed(1)}k`
    : x.toFixed(1);
}

function report(g: GroupResult): void {
  const base = median(g.results[g.baseline] ?? []);
  const parts = Object.entries(g.results).map(([name, r]) => {
    const m = median(r);
    return `${name} ${fmtRate(m)}/s (${(m / base).toFixed(2)}x)`;
  });
  progress(`  ${g.group}: ${parts.join(", ")}`);
}

async function runGroup(
  group: Omit<GroupResult, "results" | "baseline" | "refs">,
  contenders: Contender[],
  refs: GroupResult["refs"] = {},
): Promise<void> {
  if (filter !== undefined && !filter.test(group.group)) return;
  const results = Object.fromEntries(await interleave(contenders));
  const names = new Set(contenders.map((c) => c.name));
  const present = Object.fromEntries(Object.entries(refs).filter(([, n]) => names.has(n!)));
  const baseline = contenders[0]?.name ?? "";
  const g: GroupResult = { ...group, baseline, refs: present, results };
  groups.push(g);
  report(g);
}

// ---------------------------------------------------------------------------------------
// Append throughput

interface AppendCase {
  key: string;
  label: string;
  descr: Descr;
  rowShape: number[];
  rows: number;
  /** A zero-copy chunk of `rows` rows and its bytes. */
  make(rows: number): { chunk: NpyChunk; bytes: Uint8Array; touchMe: ArrayBufferView };
}

function typed<T extends ArrayBufferView>(view: T) {
  fillPattern(view);
  return { chunk: view as NpyChunk, bytes: bytesOf(view), touchMe: view as ArrayBufferView };
}

function appendCases(): AppendCase[] {
  const f4 = (rows: number): AppendCase => ({
    key: `f4x16/${rows}`,
    label: `<f4 (16,) x ${rows}`,
    descr: "<f4",
    rowShape: [16],
    rows,
    make: (n) => typed(new Float32Array(n * 16)),
  });
  const i8 = (rows: number): AppendCase => ({
    key: `i8x16/${rows}`,
    label: `<i8 (16,) x ${rows}`,
    descr: "<i8",
    rowShape: [16],
    rows,
    make: (n) => typed(new BigInt64Array(n * 16)),
  });
  const c16 = (rows: number): AppendCase => ({
    key: `c16x16/${rows}`,
    label: `<c16 (16,) x ${rows}`,
    descr: "<c16",
    rowShape: [16],
    rows,
    make: (n) => typed(new Float64Array(n * 32)),
  });
  const rec = (rows: number): AppendCase => ({
    key: `rec/${rows}`,
    label: `record t<i8,x<f4,y<f4 x ${rows}`,
    descr: RECORD,
    rowShape: [],
    rows,
    make: (n) => {
      const data = new Uint8Array(n * 16);
      fillPattern(data);
      return { chunk: { data, shape: [n], descr: RECORD }, bytes: data, touchMe: data };
    },
  });
  const sizes = QUICK ? [1, 1024, 16384] : [1, 16, 1024, 16384, 262144];
  return [...sizes.map(f4), i8(1), i8(1024), c16(1), c16(1024), rec(1), rec(1024)];
}

const WRITERS: WriterSpec[] = [
  { name: "append, header each", async: true, options: {} },
  {
    name: "append, buffered",
    async: true,
    options: { rewriteHeaderOnAppend: false, bufferSize: BUFFER_SIZE },
  },
  {
    name: "append, flushInterval 10",
    async: true,
    options: { rewriteHeaderOnAppend: false, bufferSize: BUFFER_SIZE, flushInterval: 10 },
  },
  { name: "appendSync, header each", async: false, options: {} },
  {
    name: "appendSync, buffered",
    async: false,
    options: { rewriteHeaderOnAppend: false, bufferSize: BUFFER_SIZE },
  },
];

async function appendGroups(): Promise<void> {
  progress(`append throughput (bufferSize ${BUFFER_SIZE} for the buffered contenders)`);
  for (const c of appendCases()) {
    const path = join(dir, `append-${c.key.replace("/", "-")}.npy`);
    const { chunk, bytes, touchMe } = c.make(c.rows);
    const rowBytes = bytes.length / c.rows;
    const k = batchFor(bytes.length);
    const shape = [0, ...c.rowShape];
    const specs = WRITERS.map((s) => ({
      ...s,
      options: { ...s.options, descr: c.descr, shape },
    }));
    for (const s of specs) await precheck(path, s, chunk, bytes, rowBytes);
    const contenders: Contender[] = [
      rawWriteContender(path, bytes, k, rowBytes),
      ...specs.map((s) => writerContender(path, s, chunk, touchMe, c.rows, bytes.length, k)),
    ];
    if (numpy !== undefined && (filter === undefined || filter.test(`append ${c.label}`))) {
      const { key } = c;
      await numpy.request({
        op: "case",
        key,
        descr: formatDescr(c.descr),
        rowShape: c.rowShape,
        rows: c.rows,
      });
      contenders.push(
        numpyContender(NUMPY.npa, { op: "trial", key, name: "append" }),
        numpyContender(NUMPY.noHeader, { op: "trial", key, name: "appendNoHeader" }),
        numpyContender(NUMPY.save, { op: "trial", key, name: "save" }),
      );
      // Both, when the real package runs: the re-implementation is the fallback elsewhere,
      // and the table shows where the two differ.
      if (numpy.realPackage) {
        contenders.push(
          numpyContender(NUMPY.npaReimpl, { op: "trial", key, name: "appendReimpl" }),
          numpyContender(NUMPY.noHeaderReimpl, {
            op: "trial",
            key,
            name: "appendNoHeaderReimpl",
          }),
        );
      }
    }
    await runGroup(
      {
        group: `append ${c.label}`,
        kind: "append",
        key: c.key,
        rows: c.rows,
        bytesPerOp: bytes.length,
      },
      contenders,
      { npa: NUMPY.npa, save: NUMPY.save },
    );
  }
}

// ---------------------------------------------------------------------------------------
// Encoding: inputs that are not zero-copy, against the zero-copy input of the same bytes

interface EncodeInput {
  name: string;
  chunk: NpyChunk;
}

async function encodeGroup(
  label: string,
  descr: Descr,
  rowShape: number[],
  rows: number,
  expected: Uint8Array,
  inputs: EncodeInput[],
): Promise<void> {
  const path = join(dir, `encode.npy`);
  const rowBytes = expected.length / rows;
  const k = batchFor(expected.length);
  const spec = (name: string): WriterSpec => ({
    name,
    async: true,
    options: { descr, shape: [0, ...rowShape] },
  });
  for (const input of inputs) {
    await precheck(path, spec(input.name), input.chunk, expected, rowBytes);
  }
  const contenders: Contender[] = [
    rawWriteContender(path, expected, k, rowBytes),
    ...inputs.map((input) =>
      writerContender(path, spec(input.name), input.chunk, undefined, rows, expected.length, k)
    ),
  ];
  await runGroup(
    { group: `encode ${label}`, kind: "encode", key: label, rows, bytesPerOp: expected.length },
    contenders,
  );
}

async function encodeGroups(): Promise<void> {
  progress("encoding cost (append, header each, async)");
  // number[] into <f4: one row of 16 and 1024 rows; values exact in float32.
  for (const rows of [1, 1024]) {
    const n = rows * 16;
    const flat = Array.from({ length: n }, (_, i) => (i % 1000) * 0.25);
    const f32 = Float32Array.from(flat);
    const nested = Array.from({ length: rows }, (_, r) => flat.slice(r * 16, r * 16 + 16));
    await encodeGroup(`number[] -> <f4 (16,) x ${rows}`, "<f4", [16], rows, bytesOf(f32), [
      { name: "Float32Array (zero-copy)", chunk: f32 },
      { name: "{ data: Float32Array, shape }", chunk: { data: f32, shape: [rows, 16] } },
      { name: "{ data: number[], shape }", chunk: { data: flat, shape: [rows, 16] } },
      { name: "nested number[][]", chunk: nested },
    ]);
  }
  // objects into a record.
  {
    const rows = 1024;
    const expected = new Uint8Array(rows * 16);
    const dv = new DataView(expected.buffer);
    const objects = Array.from({ length: rows }, (_, i) => {
      const o = { t: 1_700_000_000_000 + i, x: i * 0.5, y: -i * 0.25 };
      dv.setBigInt64(i * 16, BigInt(o.t), true);
      dv.setFloat32(i * 16 + 8, o.x, true);
      dv.setFloat32(i * 16 + 12, o.y, true);
      return o;
    });
    await encodeGroup(`objects -> record x ${rows}`, RECORD, [], rows, expected, [
      { name: "raw bytes (zero-copy)", chunk: { data: expected, shape: [rows], descr: RECORD } },
      { name: "objects {t,x,y}", chunk: objects },
    ]);
  }
  // Float64Array into >f8 (byte swap) against the same into <f8.
  {
    const rows = 1024;
    const f64 = Float64Array.from({ length: rows * 16 }, (_, i) => i * 1.5);
    const little = bytesOf(f64);
    const big = new Uint8Array(little.length);
    for (let i = 0; i < little.length; i += 8) {
      for (let j = 0; j < 8; j++) big[i + j] = little[i + 7 - j] ?? 0;
    }
    await encodeGroup(`Float64Array -> >f8 (16,) x ${rows}`, ">f8", [16], rows, big, [
      { name: "raw >f8 bytes (zero-copy)", chunk: { data: big, shape: [rows, 16], descr: ">f8" } },
      { name: "Float64Array (swapped)", chunk: f64 },
    ]);
  }
  // string[] into <U16.
  {
    const rows = 1024;
    const strings = Array.from({ length: rows }, (_, i) => `sensor-${i}`.padEnd(8 + (i % 9), "x"));
    const expected = new Uint8Array(rows * 64);
    const dv = new DataView(expected.buffer);
    strings.forEach((s, i) => {
      for (let j = 0; j < s.length; j++) dv.setUint32(i * 64 + j * 4, s.charCodeAt(j), true);
    });
    await encodeGroup(`string[] -> <U16 x ${rows}`, "<U16", [], rows, expected, [
      { name: "raw bytes (zero-copy)", chunk: { data: expected, shape: [rows], descr: "<U16" } },
      { name: "string[]", chunk: strings },
    ]);
  }
}

// ---------------------------------------------------------------------------------------
// Reading

/** Rows of the file the read benchmarks use (16 x <f4, 64 B each), as the NumPy one. */
export const READ_ROWS: number = QUICK ? 1 << 18 : 1 << 20;
/** Row counts of the `read(start, end)` benchmarks. */
export const READ_RANGES: number[] = [1, 1024, 65536];

async function readGroups(): Promise<void> {
  progress(`reading (a file of ${READ_ROWS} rows of 16 x <f4)`);
  const path = join(dir, "read.npy");
  const row = Float32Array.from({ length: 16 }, (_, i) => i);
  {
    const block = new Float32Array(65536 * 16);
    for (let i = 0; i < block.length; i++) block[i] = i % 16;
    const w = NpyAppendArray.openSync(path, {
      mode: "overwrite",
      descr: "<f4",
      shape: [0, 16],
      durability: "none",
    });
    for (let r = 0; r < READ_ROWS; r += 65536) {
      w.appendSync(block.subarray(0, 16 * Math.min(65536, READ_ROWS - r)));
    }
    w.closeSync();
  }
  const headerLength = checkFile(path, READ_ROWS, 64);
  if (numpy !== undefined) await numpy.request({ op: "readFile", rows: READ_ROWS });
  const checkRows = (data: unknown, n: number) => {
    const f = data as Float32Array;
    if (!(f instanceof Float32Array) || f.length !== n * 16 || f[f.length - 1] !== row[15]) {
      throw new Error(`Cannot accept a read of ${n} rows: wrong data`);
    }
  };
  const rng = (() => {
    let s = 7;
    return () => (s = (s * 1103515245 + 12345) & 0x7fffffff);
  })();
  for (const n of READ_RANGES) {
    const starts = Int32Array.from({ length: 4096 }, () => rng() % (READ_ROWS - n + 1));
    let i = 0;
    let fd = -1;
    let r: NpyReader | undefined;
    let last: unknown;
    const k = batchFor(n * 64);
    const raw: Contender = {
      name: "readSync loop",
      opsPerCall: k,
      bytesPerOp: n * 64,
      async: false,
      before: () => void (fd = fs.openSync(path, "r")),
      call() {
        for (let j = 0; j < k; j++) {
          const s = starts[i++ & 4095] ?? 0;
          const buf = new Uint8Array(n * 64);
          fs.readSync(fd, buf, 0, buf.length, headerLength + s * 64);
          last = new Float32Array(buf.buffer);
        }
      },
      after() {
        fs.closeSync(fd);
        checkRows(last, n);
      },
    };
    const readerBefore = async () => {
      r = await NpyReader.open(path);
      if (r.rows !== READ_ROWS) throw new Error("Cannot accept the reader: wrong row count");
    };
    const readerAfter = async () => {
      await r!.close();
      checkRows(last, n);
    };
    const asyncRead: Contender = {
      name: "read",
      opsPerCall: k,
      bytesPerOp: n * 64,
      async: true,
      before: readerBefore,
      async call() {
        for (let j = 0; j < k; j++) {
          const s = starts[i++ & 4095] ?? 0;
          last = (await r!.read(s, s + n)).data;
        }
      },
      after: readerAfter,
    };
    const syncRead: Contender = {
      name: "readSync",
      opsPerCall: k,
      bytesPerOp: n * 64,
      async: false,
      before: readerBefore,
      call() {
        for (let j = 0; j < k; j++) {
          const s = starts[i++ & 4095] ?? 0;
          last = r!.readSync(s, s + n).data;
        }
      },
      after: readerAfter,
    };
    const contenders = [raw, asyncRead, syncRead];
    if (numpy !== undefined) contenders.push(numpyContender(NUMPY.read, { op: "readTrial", n }));
    await runGroup(
      {
        group: `read(start, start + ${n}) <f4 (16,)`,
        kind: "read",
        key: `readRows/${n}`,
        rows: n,
        bytesPerOp: n * 64,
      },
      contenders,
      { np: NUMPY.read },
    );
  }
  // The whole file in chunks of 65536 rows (4 MiB).
  {
    const total = READ_ROWS * 64;
    let fd = -1;
    let r: NpyReader | undefined;
    let seen = 0;
    const raw: Contender = {
      name: "readSync loop",
      opsPerCall: 1,
      bytesPerOp: total,
      async: false,
      before: () => void (fd = fs.openSync(path, "r")),
      call() {
        seen = 0;
        for (let at = 0; at < total; at += 65536 * 64) {
          const buf = new Uint8Array(Math.min(65536 * 64, total - at));
          seen += fs.readSync(fd, buf, 0, buf.length, headerLength + at) / 64;
        }
      },
      after() {
        fs.closeSync(fd);
        if (seen !== READ_ROWS) throw new Error("Cannot accept the readSync loop: short");
      },
    };
    // chunks() and chunksSync(), with a fresh buffer per chunk or one reused buffer.
    const chunked = (async: boolean, reuse: boolean): Contender => {
      const name = `${async ? "chunks" : "chunksSync"}(${reuse ? "{ reuse: true }" : ""})`;
      const options = { rows: 65536, reuse };
      return {
        name,
        opsPerCall: 1,
        bytesPerOp: total,
        async,
        before: async () =>
          void (r = async ? await NpyReader.open(path) : NpyReader.openSync(path)),
        call: async
          ? async () => {
            seen = 0;
            for await (const c of r!.chunks(options)) seen += c.shape[0] ?? 0;
          }
          : () => {
            seen = 0;
            for (const c of r!.chunksSync(options)) seen += c.shape[0] ?? 0;
          },
        after() {
          r!.closeSync();
          if (seen !== READ_ROWS) throw new Error(`Cannot accept ${name}: short`);
        },
      };
    };
    // The ceiling of any reader that leaves the event loop free: the runtime's own
    // off-thread reads of the same chunks into fresh buffers (`fs.read`; under Deno a Deno
    // handle, as lib/_deno_io.ts does it), one chunk at a time.
    const deno = (globalThis as {
      Deno?: {
        openSync(p: string, o: { read: boolean }): {
          seekSync(at: number, whence: number): number;
          read(b: Uint8Array): Promise<number | null>;
          close(): void;
        };
      };
    }).Deno;
    const readChunk = async (buf: Uint8Array, at: number): Promise<number> => {
      if (deno === undefined) {
        return await new Promise((resolve, reject) =>
          fs.read(fd, buf, 0, buf.length, at, (e, n) => e ? reject(e) : resolve(n))
        );
      }
      const handle = deno.openSync(`/proc/self/fd/${fd}`, { read: true });
      try {
        handle.seekSync(at, 0);
        let done = 0;
        while (done < buf.length) done += (await handle.read(buf.subarray(done))) ?? buf.length;
        return done;
      } finally {
        handle.close();
      }
    };
    const rawAsync: Contender = {
      name: "raw off-thread read loop",
      opsPerCall: 1,
      bytesPerOp: total,
      async: true,
      before: () => void (fd = fs.openSync(path, "r")),
      async call() {
        seen = 0;
        for (let at = 0; at < total; at += 65536 * 64) {
          const buf = new Uint8Array(Math.min(65536 * 64, total - at));
          seen += (await readChunk(buf, headerLength + at)) / 64;
        }
      },
      after() {
        fs.closeSync(fd);
        if (seen !== READ_ROWS) throw new Error("Cannot accept the raw off-thread loop: short");
      },
    };
    const contenders = [
      raw,
      rawAsync,
      chunked(true, false),
      chunked(false, false),
      chunked(true, true),
      chunked(false, true),
    ];
    if (numpy !== undefined) {
      contenders.push(numpyContender(NUMPY.load, { op: "readTrial", n: 0 }));
    }
    await runGroup(
      {
        group: `read whole file in chunks of 65536 rows (${total >> 20} MiB)`,
        kind: "read",
        key: "readAll",
        rows: READ_ROWS,
        bytesPerOp: total,
      },
      contenders,
      { np: NUMPY.load },
    );
  }
  fs.rmSync(path);
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const info = runtimeInfo();
  progress(`${info.name} ${info.version} (${info.engine})${QUICK ? ", quick" : ""}`);
  try {
    numpy = await NumpyServer.start(dir, QUICK);
    progress(
      numpy === undefined
        ? "no NumPy contenders (python3 cannot import numpy, or BENCH_NUMPY=0)"
        : `NumPy ${numpy.info.numpy} on Python ${numpy.info.python}, interleaved; ` +
          `npy-append-array: ${numpy.info.npa}`,
    );
    if (only === undefined || only.has("append")) await appendGroups();
    if (only === undefined || only.has("encode")) await encodeGroups();
    if (only === undefined || only.has("read")) await readGroups();
  } finally {
    await numpy?.close();
    cleanup();
  }
  const out: SuiteOutput = {
    runtime: info,
    quick: QUICK,
    trials: TRIALS,
    bufferSize: BUFFER_SIZE,
    numpy: numpy?.info,
    groups,
    seconds: (performance.now() - started) / 1000,
  };
  const text = JSON.stringify(out);
  if (outArg !== undefined) fs.writeFileSync(outArg, text);
  else process.stdout.write(text + "\n");
}

await main();
