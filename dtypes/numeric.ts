/**
 * The numeric dtype plugin: signed and unsigned integers of 1, 2, 4 and 8 bytes and floats of
 * 2, 4 and 8 bytes, in either byte order. Decoding gives the matching TypedArray (a view of
 * the bytes, no copy, when they are in host order and aligned); encoding takes TypedArrays
 * (strong, checked against the casting rule) and arrays of numbers or bigints (weak, checked
 * value by value, as NumPy's NEP 50 does with Python scalars).
 *
 * @module
 */

import { NpyDtypeError } from "../lib/errors.ts";
import type { Casting, DecodeOptions, Dtype, DtypePlugin, EncodeOptions } from "../lib/registry.ts";
import {
  canCastNumeric,
  canonicalTypestr,
  castingOf,
  checkTarget,
  checkWhole,
  numpyName,
  swapInPlace,
  swappedCopy,
  typestrPlugin,
} from "./_common.ts";
import {
  type AnyTypedArray,
  bytesOf,
  describeValue,
  Float16ArrayCtor,
  type Float16ArrayLike,
  HOST_LITTLE_ENDIAN,
  type TypedInfo,
  typedInfo,
  typedName,
} from "../lib/_typed.ts";
import { floatToHalfBits, halfToFloat32Bits } from "./_half.ts";
import { bigintToFloat32, castBytes } from "./_cast.ts";
import { copyNaNs } from "./_nan.ts";

export type { AnyTypedArray, Float16ArrayLike } from "../lib/_typed.ts";

/**
 * What the numeric dtype decodes to: the TypedArray of the descr's type. `'<f2'` gives a
 * `Float16Array` where the runtime has one (Deno, Bun, Node ≥ 24), else a `Float32Array` of
 * the same values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type NumericArray, type NumericDtype } from "@npy/append-array";
 *
 * const i8 = defaultRegistry.resolve(">i8") as NumericDtype;
 * const bytes = new Uint8Array(16);
 * i8.encodeInto([-1n, 2], bytes);
 * const values: NumericArray = i8.decode(bytes);
 * assert.ok(values instanceof BigInt64Array);
 * assert.deepEqual([...values], [-1n, 2n]);
 * ```
 */
export type NumericArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float16ArrayLike
  | Float32Array
  | Float64Array;

/**
 * What the numeric dtype encodes from: any TypedArray (strong: its element type must cast to
 * the descr under the casting rule) or an array of numbers, bigints or booleans (weak: each
 * value must fit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type NumericDtype, type NumericInput } from "@npy/append-array";
 *
 * const i4 = defaultRegistry.resolve("<i4") as NumericDtype;
 * const inputs: NumericInput[] = [Int16Array.of(-3, 7), [-3, 7n], [-3, 7.0]];
 * const bytes = new Uint8Array(8);
 * for (const input of inputs) {
 *   i4.encodeInto(input, bytes);
 *   assert.deepEqual(i4.decode(bytes), Int32Array.of(-3, 7));
 * }
 * ```
 */
export type NumericInput = AnyTypedArray | ArrayLike<number | bigint | boolean>;

/**
 * The codec the numeric plugin returns for a descr such as `'<f4'` or `'>i8'`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type NumericDtype } from "@npy/append-array";
 *
 * const u2 = defaultRegistry.resolve(">u2") as NumericDtype;
 * assert.deepEqual([u2.kind, u2.itemsize, u2.littleEndian], ["u", 2, false]);
 * const bytes = new Uint8Array(2);
 * u2.encodeInto([258], bytes);
 * assert.deepEqual([...bytes], [1, 2]); // big-endian
 * assert.equal(u2.view(Uint16Array.of(258)), undefined); // not host order: no zero-copy view
 * ```
 */
export interface NumericDtype extends Dtype<NumericArray> {
  /** The canonical descr, e.g. `"<f4"`, `"|u1"`. */
  readonly descr: string;
  /** NumPy's kind: `"i"` signed, `"u"` unsigned, `"f"` float. */
  readonly kind: "i" | "u" | "f";
  /** `true` when elements are stored little-endian (always for 1-byte types). */
  readonly littleEndian: boolean;
  /** Encodes TypedArrays or arrays of numbers/bigints/booleans. */
  encodeInto(values: NumericInput, target: Uint8Array, options?: EncodeOptions): number;
  /** A view of `values`' bytes when it is a host-order TypedArray of exactly this type. */
  view(values: unknown, options?: EncodeOptions): Uint8Array | undefined;
}

type NumberCtor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

interface NumberArray {
  [index: number]: number;
  readonly length: number;
  readonly buffer: ArrayBufferLike;
  set(array: ArrayLike<number>, offset?: number): void;
}

interface BigArray {
  [index: number]: bigint;
  readonly length: number;
  readonly buffer: ArrayBufferLike;
  set(array: ArrayLike<bigint>, offset?: number): void;
}

const INT_RANGES: Record<string, readonly [number, number]> = {
  i1: [-128, 127],
  i2: [-32768, 32767],
  i4: [-2147483648, 2147483647],
  u1: [0, 255],
  u2: [0, 65535],
  u4: [0, 4294967295],
};

const BIG_RANGES: Record<string, readonly [bigint, bigint]> = {
  i8: [-(2n ** 63n), 2n ** 63n - 1n],
  u8: [0n, 2n ** 64n - 1n],
};

const NUMBER_CTORS: Record<string, NumberCtor> = {
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  f4: Float32Array,
  f8: Float64Array,
};

const INT64_MIN = -(2n ** 63n);

class NumericCodec implements NumericDtype {
  readonly descr: string;
  readonly itemsize: number;
  readonly kind: "i" | "u" | "f";
  readonly littleEndian: boolean;
  readonly #native: boolean;
  readonly #type: { kind: string; size: number };
  readonly #big: boolean;
  // f2 without a runtime Float16Array: bytes are handled as Uint16 bits, decoded to float32.
  readonly #halfBits: boolean;
  readonly #ctor: NumberCtor | BigInt64ArrayConstructor | BigUint64ArrayConstructor;
  readonly #range: readonly [number, number] | undefined;
  readonly #bigRange: readonly [bigint, bigint] | undefined;

  constructor(descr: string, kind: "i" | "u" | "f", size: number, littleEndian: boolean) {
    this.descr = descr;
    this.kind = kind;
    this.itemsize = size;
    this.littleEndian = littleEndian;
    this.#native = canonicalTypestr(descr).native;
    this.#type = { kind, size };
    const key = `${kind}${size}`;
    this.#big = size === 8 && kind !== "f";
    this.#halfBits = key === "f2" && Float16ArrayCtor === undefined;
    this.#ctor = key === "i8"
      ? BigInt64Array
      : key === "u8"
      ? BigUint64Array
      : key === "f2"
      ? (Float16ArrayCtor as unknown as NumberCtor | undefined) ?? Uint16Array
      : NUMBER_CTORS[key]!;
    this.#range = INT_RANGES[key];
    this.#bigRange = BIG_RANGES[key];
  }

  count(values: unknown, options?: EncodeOptions): number {
    const src = typedInfo(values);
    if (src !== undefined) {
      const casting = castingOf(options);
      if (!canCastNumeric(src, this.#type, casting, this.#native)) {
        throw this.#castError(values as AnyTypedArray, src, casting);
      }
      return (values as AnyTypedArray).length;
    }
    if (Array.isArray(values)) return values.length;
    throw new NpyDtypeError(
      `Cannot encode ${describeValue(values)} as '${this.descr}': expected a TypedArray or ` +
        `an array of numbers or bigints`,
      { descr: this.descr },
    );
  }

  isElement(value: unknown): boolean {
    const t = typeof value;
    return t === "number" || t === "bigint" || t === "boolean";
  }

  view(values: unknown, options?: EncodeOptions): Uint8Array | undefined {
    if (!this.#native) return undefined;
    const src = typedInfo(values);
    if (src === undefined || src.kind !== this.kind || src.size !== this.itemsize) return undefined;
    // Same type, host order: every casting rule allows it.
    void options;
    return bytesOf(values as ArrayBufferView);
  }

  encodeInto(values: NumericInput, target: Uint8Array, options?: EncodeOptions): number {
    const n = this.count(values, options);
    const size = this.itemsize;
    const nbytes = n * size;
    checkTarget(target, nbytes, this.descr);
    const src = typedInfo(values);
    if (src !== undefined && src.kind === this.kind && src.size === size) {
      target.set(bytesOf(values as ArrayBufferView));
      if (!this.#native) swapInPlace(target.subarray(0, nbytes), size);
      return nbytes;
    }
    const aligned = target.byteOffset % size === 0;
    const Ctor = this.#halfBits ? Uint16Array : this.#ctor;
    const dst = aligned
      ? new Ctor(target.buffer as ArrayBuffer, target.byteOffset, n)
      : new Ctor(n);
    if (src !== undefined) this.#fillTyped(dst, values as AnyTypedArray, src);
    else this.#fillWeak(dst, values as ArrayLike<unknown>, castingOf(options));
    if (!aligned) target.set(new Uint8Array(dst.buffer, 0, nbytes));
    if (!this.#native) swapInPlace(target.subarray(0, nbytes), size);
    return nbytes;
  }

  decode(bytes: Uint8Array, _options?: DecodeOptions): NumericArray {
    const size = this.itemsize;
    const n = checkWhole(bytes, size, this.descr);
    if (this.#halfBits) return this.#decodeHalf(bytes, n);
    let b = bytes;
    if (!this.#native) b = swappedCopy(bytes, size);
    else if (bytes.byteOffset % size !== 0) b = bytes.slice();
    return new this.#ctor(b.buffer as ArrayBuffer, b.byteOffset, n) as NumericArray;
  }

  #decodeHalf(bytes: Uint8Array, n: number): Float32Array {
    const out = new Float32Array(n);
    const bits = new Uint32Array(out.buffer);
    const le = this.littleEndian;
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      const h = le ? bytes[j]! | (bytes[j + 1]! << 8) : (bytes[j]! << 8) | bytes[j + 1]!;
      bits[i] = halfToFloat32Bits(h);
    }
    return out;
  }

  // A TypedArray of another element type (the cast was already allowed by count()).
  #fillTyped(dst: NumberArray | BigArray, src: AnyTypedArray, info: TypedInfo): void {
    const n = src.length;
    if (this.kind === "f" && info.kind === "f") {
      if (this.#halfBits) {
        const d = dst as NumberArray;
        for (let i = 0; i < n; i++) d[i] = floatToHalfBits(src[i] as number);
      } else (dst as NumberArray).set(src as ArrayLike<number>);
      // NaNs as NumPy's cast makes them, from the source bits (a number may not keep them).
      const out = new Uint8Array(dst.buffer, (dst as Uint8Array).byteOffset, n * this.itemsize);
      copyNaNs(bytesOf(src), info.size, out, this.itemsize, n);
      return;
    }
    if (this.#halfBits) {
      const d = dst as NumberArray;
      for (let i = 0; i < n; i++) d[i] = floatToHalfBits(Number(src[i]));
      return;
    }
    if (this.#big === info.big) {
      (dst as NumberArray).set(src as ArrayLike<number>);
      return;
    }
    if (this.#big) {
      const d = dst as BigArray;
      const s = src as ArrayLike<number>;
      const wrap = this.kind === "u" ? BigInt.asUintN : BigInt.asIntN;
      for (let i = 0; i < n; i++) {
        const v = s[i]!;
        d[i] = Number.isFinite(v) ? wrap(64, BigInt(Math.trunc(v))) : wrap(64, INT64_MIN);
      }
      return;
    }
    const d = dst as NumberArray;
    const s = src as ArrayLike<bigint>;
    if (this.kind === "f") {
      // float32: rounded once from the exact integer (through float64 it could round twice).
      if (this.itemsize === 4) { for (let i = 0; i < n; i++) d[i] = bigintToFloat32(s[i]!); }
      else for (let i = 0; i < n; i++) d[i] = Number(s[i]!);
    } else {
      // Wrap in bigint first so that large values keep their low bits exactly.
      const bits = size32(this.itemsize);
      for (let i = 0; i < n; i++) d[i] = Number(BigInt.asIntN(bits, s[i]!));
    }
  }

  // Weak values: numbers, bigints, booleans, each checked to fit unless casting is "unsafe".
  #fillWeak(dst: NumberArray | BigArray, values: ArrayLike<unknown>, casting: Casting): void {
    const n = values.length;
    if (this.kind === "f") {
      const d = dst as NumberArray;
      if (this.#halfBits) {
        for (let i = 0; i < n; i++) {
          const v = values[i];
          d[i] = floatToHalfBits(typeof v === "number" ? v : this.#weakFloat(v, i));
        }
      } else {
        for (let i = 0; i < n; i++) {
          const v = values[i];
          d[i] = typeof v === "number" ? v : this.#weakFloat(v, i);
        }
      }
      return;
    }
    if (this.#big) {
      const d = dst as BigArray;
      const [min, max] = this.#bigRange!;
      // A safe-integer number (the common case: timestamps, counters) fits every 64-bit type
      // but for negatives into u8; its two 32-bit halves are stored without a BigInt.
      const words = new Int32Array(d.buffer, (d as BigInt64Array).byteOffset, n * 2);
      const low = HOST_LITTLE_ENDIAN ? 0 : 1;
      const signed = this.kind === "i";
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === "number" && Number.isSafeInteger(v) && (signed || v >= 0)) {
          words[2 * i + low] = v | 0; // ToInt32: v modulo 2^32
          words[2 * i + 1 - low] = Math.floor(v / 4294967296) | 0;
        } else {
          d[i] = typeof v === "bigint" && v >= min && v <= max ? v : this.#weakBig(v, i, casting);
        }
      }
      return;
    }
    const d = dst as NumberArray;
    const [min, max] = this.#range!;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      d[i] = typeof v === "number" && v >= min && v <= max && Math.trunc(v) === v
        ? v
        : this.#weakInt(v, i, casting);
    }
  }

  #weakFloat(v: unknown, i: number): number {
    if (typeof v === "bigint") return Number(v);
    if (typeof v === "boolean") return v ? 1 : 0;
    throw this.#valueError(v, i, "not a number");
  }

  #weakInt(v: unknown, i: number, casting: Casting): number {
    if (typeof v === "boolean") return v ? 1 : 0;
    const [min, max] = this.#range!;
    if (typeof v === "bigint") {
      if (v >= BigInt(min) && v <= BigInt(max)) return Number(v);
      if (casting === "unsafe") return Number(BigInt.asIntN(size32(this.itemsize), v));
      throw this.#valueError(v, i, `out of range ${min}..${max}`);
    }
    if (typeof v === "number") {
      // The typed array store truncates and wraps; NaN becomes 0.
      if (casting === "unsafe") return v;
      throw this.#valueError(
        v,
        i,
        Number.isNaN(v)
          ? "NaN is not an integer"
          : Math.trunc(v) !== v
          ? "not an integer"
          : `out of range ${min}..${max}`,
      );
    }
    throw this.#valueError(v, i, "not a number or bigint");
  }

  #weakBig(v: unknown, i: number, casting: Casting): bigint {
    if (typeof v === "boolean") return v ? 1n : 0n;
    const [min, max] = this.#bigRange!;
    const wrap = this.kind === "u" ? BigInt.asUintN : BigInt.asIntN;
    if (typeof v === "bigint") {
      if (casting === "unsafe") return wrap(64, v);
      throw this.#valueError(v, i, `out of range ${min}..${max}`);
    }
    if (typeof v === "number") {
      if (Number.isInteger(v)) {
        const b = BigInt(v);
        if (b >= min && b <= max) return b;
        if (casting === "unsafe") return wrap(64, b);
        throw this.#valueError(v, i, `out of range ${min}..${max}`);
      }
      if (casting === "unsafe") {
        return Number.isFinite(v) ? wrap(64, BigInt(Math.trunc(v))) : wrap(64, INT64_MIN);
      }
      throw this.#valueError(v, i, Number.isNaN(v) ? "NaN is not an integer" : "not an integer");
    }
    throw this.#valueError(v, i, "not a number or bigint");
  }

  #valueError(v: unknown, i: number, reason: string): NpyDtypeError {
    const hint = typeof v === "number" || typeof v === "bigint"
      ? `; JS numbers and bigints are cast only when they fit (NEP 50), ` +
        `pass { casting: "unsafe" } to truncate and wrap`
      : "";
    return new NpyDtypeError(
      `Cannot cast ${describeValue(v)} (element ${i}) to '${this.descr}' ` +
        `(${numpyName(this.#type)}): ${reason}${hint}`,
      { descr: this.descr },
    );
  }

  #castError(values: AnyTypedArray, src: TypedInfo, casting: Casting): NpyDtypeError {
    return new NpyDtypeError(
      `Cannot cast ${typedName(values)} (${numpyName(src)}) to '${this.descr}' ` +
        `(${numpyName(this.#type)}) under casting "${casting}"; pass { casting: "unsafe" } to ` +
        `allow it, or convert the values first`,
      { descr: this.descr },
    );
  }
}

function size32(itemsize: number): number {
  return itemsize * 8;
}

/**
 * The built-in plugin for integer and float descrs: `i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8` with
 * any byte order character (`<` `>` `=` `|`). The codec's `descr` is canonical, as NumPy
 * spells it: `'<i1'` becomes `'|i1'`, `'=f4'` becomes `'<f4'` on little-endian hosts.
 *
 * Encoding follows NumPy's NEP 50: TypedArrays are strong and must cast under the `casting`
 * option (default `"same_kind"`, so a `Float64Array` never lands in an int16 file); numbers
 * and bigints are weak and must fit (an integer in range for ints, anything for floats).
 * A host-order TypedArray of exactly the descr's type is written with no copy (`view`), and
 * host-order aligned bytes decode to a view, not a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DtypeRegistry, NpyDtypeError, numericPlugin } from "@npy/append-array";
 *
 * const registry = new DtypeRegistry([numericPlugin]);
 * const f4 = registry.resolve("=f4");
 * assert.equal(f4.descr, "<f4");
 *
 * const bytes = new Uint8Array(8);
 * f4.encodeInto([1.5, -2], bytes);
 * assert.deepEqual(f4.decode(bytes), Float32Array.of(1.5, -2));
 *
 * const i2 = registry.resolve(">i2");
 * assert.throws(() => i2.encodeInto(Float64Array.of(1), bytes), NpyDtypeError);
 * assert.throws(() => i2.encodeInto([1.5], bytes), NpyDtypeError);
 * i2.encodeInto(Float64Array.of(258.9), bytes, { casting: "unsafe" });
 * assert.deepEqual([...bytes.subarray(0, 2)], [1, 2]);
 * ```
 */
export const numericPlugin: DtypePlugin = typestrPlugin("numeric", (t) => {
  if (t.kind !== "i" && t.kind !== "u" && t.kind !== "f") return undefined;
  if (t.kind === "f" && t.itemsize > 8) return undefined;
  return new NumericCodec(t.canonical, t.kind, t.itemsize, t.littleEndian);
}, castBytes);
