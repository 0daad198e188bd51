/**
 * Custom dtypes: two plugins registered in a registry of our own (the shared
 * `defaultRegistry` is left alone), used to append rows with {@link NpyAppendArray} and read
 * them back, then shown to NumPy.
 *
 * (a) `Tick`, a named record type `[('t', '<M8[ns]'), ('price', '<f8'), ('size', '<u4'),
 *     ('side', '|S1')]` with a typed codec: `Tick` objects (a `Date` time, a `"B" | "S"`
 *     side) in and out. It delegates the bytes to the built-in record plugin, so it only maps
 *     objects; NumPy reads the file as an ordinary structured array.
 * (b) `bfloat16`, a type NumPy has no descr for. It is stored as its raw 16 bits under the
 *     descr `'<u2'`: NumPy (and any tool) opens the file as uint16 and gets floats back with
 *     `(a.astype('<u4') << 16).view('<f4')` (or `a.view(ml_dtypes.bfloat16)`). Claiming
 *     `'<u2'` is why this plugin lives in a registry used only for such files: everywhere
 *     else `'<u2'` stays plain uint16. (A `'|V2'` descr would also work, but NumPy would show
 *     opaque bytes; `'<u2'` keeps the bits usable as numbers.)
 *
 * Run: `npx deno run -A examples/custom_dtype.ts` or `npx bun examples/custom_dtype.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BUILTIN_PLUGINS,
  type Descr,
  descrEquals,
  type Dtype,
  type DtypePlugin,
  DtypeRegistry,
  loadNpySync,
  NAT,
  NpyAppendArray,
  NpyDtypeError,
  type RecordColumns,
  recordPlugin,
} from "../mod.ts";

// (a) A named record type with a typed codec ----------------------------------------------

/** One trade. */
export interface Tick {
  /** When it happened (millisecond precision here; stored as nanoseconds). */
  time: Date;
  price: number;
  size: number;
  side: "B" | "S";
}

/** The descr NumPy sees. */
export const TICK_DESCR: Descr = [
  ["t", "<M8[ns]"],
  ["price", "<f8"],
  ["size", "<u4"],
  ["side", "|S1"],
];

/** Encodes and decodes `Tick[]`; the bytes are the built-in record codec's. */
export const tickPlugin: DtypePlugin = {
  name: "tick",
  resolve(descr, registry) {
    if (!descrEquals(descr, TICK_DESCR)) return undefined;
    const record = recordPlugin.resolve(descr, registry)!;
    const toRecords = (ticks: readonly Tick[]) =>
      ticks.map((k, i) => {
        if (k.side !== "B" && k.side !== "S") {
          throw new NpyDtypeError(`Cannot encode tick ${i}: side must be "B" or "S"`, {
            descr,
          });
        }
        const ms = k.time.getTime();
        return {
          t: Number.isNaN(ms) ? NAT : BigInt(ms) * 1_000_000n,
          price: k.price,
          size: k.size,
          side: k.side,
        };
      });
    const dtype: Dtype<Tick[]> = {
      descr: record.descr,
      itemsize: record.itemsize,
      isElement: (v) => typeof v === "object" && v !== null && "time" in v && "price" in v,
      count: (values) => {
        if (!Array.isArray(values)) {
          throw new NpyDtypeError("Cannot encode ticks: expected an array of Tick", { descr });
        }
        return values.length;
      },
      encodeInto: (ticks, target, options) => record.encodeInto(toRecords(ticks), target, options),
      decode: (bytes) => {
        // Columns are the fast way out: one typed array per field.
        const c = record.decode(bytes, { layout: "columns" }) as RecordColumns & {
          t: BigInt64Array;
          price: Float64Array;
          size: Uint32Array;
          side: string[];
        };
        return Array.from(c.t, (t, i) => ({
          time: new Date(t === NAT ? NaN : Number(t / 1_000_000n)),
          price: c.price[i]!,
          size: c.size[i]!,
          side: c.side[i] as "B" | "S",
        }));
      },
    };
    return dtype;
  },
};

// (b) bfloat16 stored as its 16 bits under '<u2' ----------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bfloat16 bits of `x`, rounded to nearest even (NaN stays a quiet NaN). */
export function toBfloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if (Number.isNaN(x)) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** Reads bfloat16 from `'<u2'` and writes it from numbers / Float32Array / Float64Array. */
export const bfloat16Plugin: DtypePlugin = {
  name: "bfloat16",
  resolve(descr, registry) {
    if (descr !== "<u2") return undefined;
    // The byte order is the built-in uint16 codec's business.
    const u2 = new DtypeRegistry(BUILTIN_PLUGINS).resolve("<u2");
    void registry;
    const dtype: Dtype<Float32Array> = {
      descr: "<u2",
      itemsize: 2,
      count: (values) => (values as ArrayLike<number>).length,
      encodeInto(values, target, options) {
        const bits = new Uint16Array(values.length);
        for (let i = 0; i < bits.length; i++) bits[i] = toBfloat16Bits(values[i]!);
        return u2.encodeInto(bits, target, options);
      },
      decode(bytes) {
        const bits = u2.decode(bytes) as Uint16Array;
        const out = new Float32Array(bits.length);
        const raw = new Uint32Array(out.buffer);
        for (let i = 0; i < bits.length; i++) raw[i] = bits[i]! << 16;
        return out;
      },
    };
    return dtype;
  },
};

// Use them ------------------------------------------------------------------------------

const registry = new DtypeRegistry(BUILTIN_PLUGINS).register(tickPlugin);
const bf16Registry = new DtypeRegistry(BUILTIN_PLUGINS).register(bfloat16Plugin);

const dir = mkdtempSync(join(tmpdir(), "npy-custom-dtype-"));
try {
  const ticksPath = join(dir, "ticks.npy");
  const ticks: Tick[] = [
    { time: new Date("2024-03-01T09:30:00.125Z"), price: 101.25, size: 300, side: "B" },
    { time: new Date("2024-03-01T09:30:00.250Z"), price: 101.5, size: 10, side: "S" },
  ];
  {
    await using w = await NpyAppendArray.open(ticksPath, {
      descr: TICK_DESCR,
      registry,
      mode: "overwrite",
    });
    await w.append(ticks);
    await w.append([{ time: new Date("2024-03-01T09:31:00Z"), price: 99, size: 1, side: "B" }]);
  }
  const back = loadNpySync(ticksPath, { registry }).data as Tick[];
  assert.equal(back.length, 3);
  assert.deepEqual(back.slice(0, 2), ticks);

  const bfPath = join(dir, "bf16.npy");
  {
    await using w = await NpyAppendArray.open(bfPath, {
      descr: "<u2",
      registry: bf16Registry,
      mode: "overwrite",
    });
    await w.append(Float32Array.of(1, -2.5, 3.140625, 1e38, Infinity));
  }
  const bf = loadNpySync(bfPath, { registry: bf16Registry }).data as Float32Array;
  assert.deepEqual([...bf], [1, -2.5, 3.140625, 9.969209968386869e37, Infinity]);

  console.log("Tick rows read back:", back.map((k) => `${k.time.toISOString()} ${k.side}`));
  console.log("bfloat16 read back:", [...bf]);

  // What NumPy sees.
  const python = `
import sys, numpy as np
t = np.load(sys.argv[1], mmap_mode="r")
print("NumPy ticks:", t.dtype.descr, t.shape)
for row in t: print("  ", row["t"], row["price"], row["size"], row["side"])
assert t["t"][0] == np.datetime64("2024-03-01T09:30:00.125", "ns") and t["size"].sum() == 311
b = np.load(sys.argv[2])
f = (b.astype("<u4") << 16).view("<f4")
print("NumPy bfloat16 bits:", b.dtype, b.tolist(), "->", f.tolist())
assert f[1] == -2.5 and np.isinf(f[4])
`;
  console.log(execFileSync("python3", ["-c", python, ticksPath, bfPath], { encoding: "utf8" }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
