/**
 * Internal helpers shared by the built-in dtype plugins: descr canonicalisation, NumPy's
 * casting table, byte swapping and value checks. (What a TypedArray holds is in
 * lib/_typed.ts, which the chunk code asks too.)
 * Never exported from `mod.ts`. Pure: no I/O, no side effects on import.
 *
 * @module
 */

import {
  type Descr,
  HOST_ORDER,
  numpyNameOf,
  parseTypestr,
  tryNormalizeTypestr,
  type Typestr,
  unknownDescrError,
} from "../lib/descr.ts";
import { NpyDtypeError } from "../lib/errors.ts";
import type { Casting, Dtype, DtypePlugin, EncodeOptions } from "../lib/registry.ts";

/** A typestr taken apart with its byte order made explicit (`<`, `>`, or `|` for 1 byte). */
export interface CanonicalTypestr extends Typestr {
  /** The canonical descr string, as NumPy's `dtype.str` spells it. */
  readonly canonical: string;
  /** `true` when the data is little-endian (also for 1-byte and byte-order-free kinds). */
  readonly littleEndian: boolean;
  /** `true` when the bytes are in host order (always for 1-byte and byte-free kinds). */
  readonly native: boolean;
}

/**
 * A plugin for simple (type string) descrs: `make` returns the codec for a canonical typestr
 * it handles, or `undefined`. Codecs are built once per descr spelling and cached. `cast`
 * is the plugin's {@link DtypePlugin.cast} (the built-ins pass dtypes/_cast.ts's engine).
 */
export function typestrPlugin(
  name: string,
  make: (t: CanonicalTypestr) => Dtype | undefined,
  cast: NonNullable<DtypePlugin["cast"]>,
): DtypePlugin {
  const cache = new Map<string, Dtype | null>();
  return {
    name,
    cast,
    resolve(descr) {
      if (typeof descr !== "string") return undefined;
      let codec = cache.get(descr);
      if (codec === undefined) {
        let t;
        try {
          t = canonicalTypestr(descr);
        } catch {
          return undefined; // not a NumPy type string: another plugin's, or an error later
        }
        codec = make(t) ?? null;
        cache.set(descr, codec);
      }
      return codec ?? undefined;
    },
  };
}

/**
 * Parses a typestr and spells it as NumPy's `dtype.str` does: `'<i1'` → `'|i1'`, `'=f4'` →
 * `'<f4'` on little-endian hosts, `'?'` → `'|b1'`, `'|U3'` → `'<U3'`; NumPy's names
 * (`'float32'`) too, through the one normalisation in lib/descr.ts.
 */
export function canonicalTypestr(descr: string): CanonicalTypestr {
  const text = tryNormalizeTypestr(descr);
  if (text === undefined) throw unknownDescrError(descr);
  const t = parseTypestr(text);
  const order = text[0];
  return {
    ...t,
    canonical: text,
    littleEndian: order === "|" || order === "<",
    native: order === "|" || order === HOST_ORDER,
  };
}

/** NumPy's casting rules from strictest to loosest: a cast's level is an index here. */
export const CASTINGS: readonly Casting[] = ["no", "equiv", "safe", "same_kind", "unsafe"];

/**
 * Cast levels: the index in {@link CASTINGS} of the loosest rule a cast needs, and `NEVER`
 * for a cast no rule allows (records with different field counts).
 */
export const LEVEL: {
  readonly NO: number;
  readonly EQUIV: number;
  readonly SAFE: number;
  readonly SAME_KIND: number;
  readonly UNSAFE: number;
  readonly NEVER: number;
} = { NO: 0, EQUIV: 1, SAFE: 2, SAME_KIND: 3, UNSAFE: 4, NEVER: 5 };

/** Rank of NumPy kinds for `same_kind` casting: a cast may go up, never down. */
const KIND_RANK: Record<string, number> = { b: 0, u: 1, i: 2, f: 3, c: 4 };

/** A numeric type in NumPy's terms: kind and itemsize (complex: both parts). */
export interface NumType {
  readonly kind: string;
  readonly size: number;
}

/** Whether NumPy's `can_cast(from, to, "safe")` holds for these two numeric types. */
export function canCastSafe(from: NumType, to: NumType): boolean {
  if (from.kind === to.kind && from.size <= to.size) return true;
  if (from.kind === "b") return to.kind in KIND_RANK;
  const { kind: fk, size: fs } = from;
  const { kind: tk, size: ts } = to;
  if (fk === "u" && tk === "i") return ts > fs;
  if (fk === "u" || fk === "i") {
    // Smallest float that holds every value: f2 for 1 byte, f4 for 2, f8 beyond.
    const needed = fs === 1 ? 2 : fs === 2 ? 4 : 8;
    if (tk === "f") return ts >= needed;
    if (tk === "c") return ts / 2 >= needed;
    return false;
  }
  if (fk === "f" && tk === "c") return ts / 2 >= fs;
  return false;
}

/**
 * NumPy's `can_cast(from, to, casting)` for numeric types (bool, ints, floats, complex).
 * `sameOrder` says whether both sides have the same byte order (for `"no"`).
 */
export function canCastNumeric(
  from: NumType,
  to: NumType,
  casting: Casting,
  sameOrder: boolean,
): boolean {
  switch (casting) {
    case "unsafe":
      return true;
    case "no":
      return from.kind === to.kind && from.size === to.size && sameOrder;
    case "equiv":
      return from.kind === to.kind && from.size === to.size;
    case "safe":
      return canCastSafe(from, to);
    case "same_kind":
      return canCastSafe(from, to) ||
        (from.kind in KIND_RANK && to.kind in KIND_RANK &&
          KIND_RANK[from.kind]! <= KIND_RANK[to.kind]!);
    default:
      throw new NpyDtypeError(
        `Cannot cast: unknown casting rule ${JSON.stringify(casting)} ` +
          `(expected "no", "equiv", "safe", "same_kind" or "unsafe")`,
      );
  }
}

/** The casting option, checked. */
export function castingOf(options?: EncodeOptions): Casting {
  return options?.casting ?? "same_kind";
}

/** NumPy's name for a numeric type, e.g. `float64`, for messages. */
export function numpyName(t: NumType): string {
  return numpyNameOf(`${t.size === 1 ? "|" : "<"}${t.kind}${t.size}`);
}

/**
 * Reverses the byte order of every `unit`-byte word of `bytes` in place (`unit` 2, 4 or 8).
 * Uses 16/32-bit word operations when `bytes` is aligned, a byte loop otherwise.
 */
export function swapInPlace(bytes: Uint8Array, unit: number): void {
  const n = bytes.length;
  if (unit === 1 || n === 0) return;
  const off = bytes.byteOffset;
  if (unit === 2) {
    if (off % 2 === 0) {
      const w = new Uint16Array(bytes.buffer, off, n >>> 1);
      for (let i = 0; i < w.length; i++) {
        const x = w[i]!;
        w[i] = ((x & 0xff) << 8) | (x >>> 8);
      }
      return;
    }
    for (let i = 0; i < n; i += 2) {
      const a = bytes[i]!;
      bytes[i] = bytes[i + 1]!;
      bytes[i + 1] = a;
    }
    return;
  }
  if (off % 4 === 0) {
    const w = new Uint32Array(bytes.buffer, off, n >>> 2);
    if (unit === 4) {
      for (let i = 0; i < w.length; i++) w[i] = bswap32(w[i]!);
      return;
    }
    if (unit === 8) {
      for (let i = 0; i < w.length; i += 2) {
        const lo = w[i]!;
        w[i] = bswap32(w[i + 1]!);
        w[i + 1] = bswap32(lo);
      }
      return;
    }
  }
  for (let i = 0; i < n; i += unit) {
    for (let a = i, b = i + unit - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** A copy of `bytes` with every `unit`-byte word reversed, in a fresh (aligned) buffer. */
export function swappedCopy(bytes: Uint8Array, unit: number): Uint8Array {
  const n = bytes.length;
  if (bytes.byteOffset % 4 !== 0 || (unit !== 4 && unit !== 8) || n % unit !== 0) {
    const out = bytes.slice();
    swapInPlace(out, unit);
    return out;
  }
  // One pass: read words from the source, write them swapped into the new buffer.
  const out = new Uint8Array(n);
  const src = new Uint32Array(bytes.buffer, bytes.byteOffset, n >>> 2);
  const dst = new Uint32Array(out.buffer, 0, n >>> 2);
  if (unit === 4) {
    for (let i = 0; i < src.length; i++) dst[i] = bswap32(src[i]!);
  } else {
    for (let i = 0; i < src.length; i += 2) {
      dst[i] = bswap32(src[i + 1]!);
      dst[i + 1] = bswap32(src[i]!);
    }
  }
  return out;
}

/** Quotes a descr for messages: `'<f4'`. */
export function quoteDescr(descr: Descr): string {
  return typeof descr === "string" ? `'${descr}'` : JSON.stringify(descr);
}

/** Throws when `target` cannot take `nbytes`. */
export function checkTarget(target: Uint8Array, nbytes: number, descr: Descr): void {
  if (target.length < nbytes) {
    throw new RangeError(
      `Cannot encode as ${quoteDescr(descr)}: the target holds ${target.length} bytes, ` +
        `${nbytes} are needed`,
    );
  }
}

/** Throws when `bytes.length` is not a whole number of elements. */
export function checkWhole(bytes: Uint8Array, itemsize: number, descr: Descr): number {
  if (itemsize === 0) return 0;
  if (bytes.length % itemsize !== 0) {
    throw new NpyDtypeError(
      `Cannot decode ${bytes.length} bytes as ${quoteDescr(descr)}: not a whole number of ` +
        `${itemsize}-byte elements`,
      { descr },
    );
  }
  return bytes.length / itemsize;
}

// Copies n runs of `width` bytes from a packed column into records of `stride` bytes.
export function scatter(
  src: Uint8Array,
  dst: Uint8Array,
  n: number,
  width: number,
  offset: number,
  stride: number,
): void {
  if (width > 16) {
    for (let i = 0; i < n; i++) {
      dst.set(src.subarray(i * width, (i + 1) * width), i * stride + offset);
    }
    return;
  }
  const words = wordViews(src, dst, width, offset, stride);
  if (words !== undefined) {
    const [from, to] = words;
    const w = width >> 2;
    for (let i = 0, s = 0, d = offset >> 2; i < n; i++, d += stride >> 2) {
      for (let k = 0; k < w; k++) to[d + k] = from[s++]!;
    }
    return;
  }
  for (let i = 0, s = 0, d = offset; i < n; i++, d += stride) {
    for (let k = 0; k < width; k++) dst[d + k] = src[s++]!;
  }
}

/**
 * `src` and `dst` as 32-bit words, when fields of `width` bytes at `offset` in records of
 * `stride` bytes fall on word boundaries in both (the usual `<i8`, `<f4` fields): a copy
 * of 4 bytes at a time instead of 1, a quarter of the loop's turns.
 */
function wordViews(
  src: Uint8Array,
  dst: Uint8Array,
  width: number,
  offset: number,
  stride: number,
): [Uint32Array, Uint32Array] | undefined {
  if (((width | offset | stride | src.byteOffset | dst.byteOffset) & 3) !== 0) return undefined;
  return [
    new Uint32Array(src.buffer, src.byteOffset, src.length >> 2),
    new Uint32Array(dst.buffer, dst.byteOffset, dst.length >> 2),
  ];
}

// Copies the `width`-byte field at `offset` of n records of `stride` bytes into a column.
export function gather(
  src: Uint8Array,
  dst: Uint8Array,
  n: number,
  width: number,
  offset: number,
  stride: number,
): void {
  if (width > 16) {
    for (let i = 0; i < n; i++) {
      const at = i * stride + offset;
      dst.set(src.subarray(at, at + width), i * width);
    }
    return;
  }
  const words = wordViews(src, dst, width, offset, stride);
  if (words !== undefined) {
    const [from, to] = words;
    const w = width >> 2;
    for (let i = 0, d = 0, s = offset >> 2; i < n; i++, s += stride >> 2) {
      for (let k = 0; k < w; k++) to[d++] = from[s + k]!;
    }
    return;
  }
  for (let i = 0, d = 0, s = offset; i < n; i++, s += stride) {
    for (let k = 0; k < width; k++) dst[d++] = src[s + k]!;
  }
}
