/**
 * The complex dtype plugin: `c8` (two float32) and `c16` (two float64), in either byte order,
 * as interleaved TypedArrays `[re0, im0, re1, im1, …]`.
 *
 * @module
 */

import { NpyDtypeError } from "../lib/errors.ts";
import { castBytes } from "./_cast.ts";
import type { Casting, DecodeOptions, Dtype, DtypePlugin, EncodeOptions } from "../lib/registry.ts";
import {
  canCastNumeric,
  castingOf,
  checkTarget,
  checkWhole,
  swapInPlace,
  swappedCopy,
  typestrPlugin,
} from "./_common.ts";
import { bytesOf, describeValue, typedInfo, typedName } from "../lib/_typed.ts";
import { copyNaNs } from "./_nan.ts";

/**
 * One complex value as an object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComplexObject, defaultRegistry } from "@npy/append-array";
 *
 * const z: ComplexObject = { re: 0.5, im: -2 };
 * const c8 = defaultRegistry.resolve(">c8");
 * const bytes = new Uint8Array(8);
 * c8.encodeInto([z], bytes);
 * const [re, im] = c8.decode(bytes) as Float32Array;
 * assert.deepEqual({ re, im }, z);
 * ```
 */
export interface ComplexObject {
  /** Real part. */
  re: number;
  /** Imaginary part. */
  im: number;
}

/**
 * What the complex dtype encodes from: an interleaved `Float32Array`/`Float64Array`
 * (strong: `Float64Array` into `c8` needs `"same_kind"`), or an array whose elements are
 * `[re, im]` pairs (arrays or 2-element float TypedArrays, as a record decodes a complex
 * field), `{ re, im }` objects or plain numbers (real values, weak).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComplexDtype, type ComplexInput, defaultRegistry } from "@npy/append-array";
 *
 * const input: ComplexInput = [[1, 2], { re: 3, im: 4 }, 5];
 * const c16 = defaultRegistry.resolve("<c16") as ComplexDtype;
 * const bytes = new Uint8Array(48);
 * c16.encodeInto(input, bytes);
 * assert.deepEqual(c16.decode(bytes), Float64Array.of(1, 2, 3, 4, 5, 0));
 * ```
 */
export type ComplexInput =
  | Float32Array
  | Float64Array
  | ArrayLike<
    number | bigint | readonly [number, number] | ComplexObject | Float32Array | Float64Array
  >;

/**
 * The codec the complex plugin returns for `'<c8'`, `'>c16'` and so on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ComplexDtype, defaultRegistry } from "@npy/append-array";
 *
 * const c16 = defaultRegistry.resolve("<c16") as ComplexDtype;
 * assert.deepEqual([c16.descr, c16.itemsize, c16.littleEndian], ["<c16", 16, true]);
 * const pairs = Float64Array.of(1, 2, 3, 4); // [re0, im0, re1, im1]
 * assert.equal(c16.count(pairs), 2);
 * const bytes = new Uint8Array(32);
 * c16.encodeInto(pairs, bytes);
 * assert.deepEqual(c16.decode(bytes), pairs);
 * ```
 */
export interface ComplexDtype extends Dtype<Float32Array | Float64Array> {
  /** The canonical descr, e.g. `"<c16"`. */
  readonly descr: string;
  /** `true` when stored little-endian. */
  readonly littleEndian: boolean;
  /** Encodes interleaved float arrays, `[re, im]` pairs, `{ re, im }` objects or numbers. */
  encodeInto(values: ComplexInput, target: Uint8Array, options?: EncodeOptions): number;
  /** A view of an interleaved host-order float array of this precision. */
  view(values: unknown, options?: EncodeOptions): Uint8Array | undefined;
}

class ComplexCodec implements ComplexDtype {
  readonly descr: string;
  readonly itemsize: number;
  readonly littleEndian: boolean;
  readonly #part: number;
  readonly #native: boolean;
  readonly #ctor: Float32ArrayConstructor | Float64ArrayConstructor;

  constructor(descr: string, itemsize: number, littleEndian: boolean, native: boolean) {
    this.descr = descr;
    this.itemsize = itemsize;
    this.littleEndian = littleEndian;
    this.#part = itemsize / 2;
    this.#native = native;
    this.#ctor = itemsize === 8 ? Float32Array : Float64Array;
  }

  count(values: unknown, options?: EncodeOptions): number {
    const info = typedInfo(values);
    if (info !== undefined) {
      const length = (values as ArrayLike<unknown>).length;
      const casting = castingOf(options);
      if (info.kind !== "f" || info.size < 4) {
        throw new NpyDtypeError(
          `Cannot cast ${typedName(values as ArrayBufferView)} to '${this.descr}': complex ` +
            `values come as an interleaved Float32Array or Float64Array [re, im, re, im, …]`,
          { descr: this.descr },
        );
      }
      const from = { kind: "c", size: info.size * 2 };
      if (!canCastNumeric(from, { kind: "c", size: this.itemsize }, casting, this.#native)) {
        throw new NpyDtypeError(
          `Cannot cast ${typedName(values as ArrayBufferView)} (complex${from.size * 8}) to ` +
            `'${this.descr}' (complex${this.itemsize * 8}) under casting "${casting}"; pass ` +
            `{ casting: "unsafe" } to allow it`,
          { descr: this.descr },
        );
      }
      if (length % 2 !== 0) {
        throw new NpyDtypeError(
          `Cannot encode a ${typedName(values as ArrayBufferView)} of odd length ${length} as ` +
            `'${this.descr}': complex values are interleaved [re, im] pairs`,
          { descr: this.descr },
        );
      }
      return length / 2;
    }
    if (Array.isArray(values)) return values.length;
    throw new NpyDtypeError(
      `Cannot encode ${describeValue(values)} as '${this.descr}': expected an interleaved ` +
        `Float32Array/Float64Array or an array of [re, im] pairs, { re, im } objects or numbers`,
      { descr: this.descr },
    );
  }

  isElement(value: unknown): boolean {
    if (typeof value === "number" || typeof value === "bigint") return true;
    if (Array.isArray(value) || (value instanceof Float32Array || value instanceof Float64Array)) {
      return value.length === 2 && typeof value[0] === "number" && typeof value[1] === "number";
    }
    return typeof value === "object" && value !== null && !ArrayBuffer.isView(value) &&
      "re" in value && "im" in value;
  }

  view(values: unknown): Uint8Array | undefined {
    if (!this.#native) return undefined;
    const info = typedInfo(values);
    if (info === undefined || info.kind !== "f" || info.size !== this.#part) return undefined;
    if ((values as ArrayLike<number>).length % 2 !== 0) return undefined;
    return bytesOf(values as ArrayBufferView);
  }

  encodeInto(values: ComplexInput, target: Uint8Array, options?: EncodeOptions): number {
    const n = this.count(values, options);
    const nbytes = n * this.itemsize;
    checkTarget(target, nbytes, this.descr);
    const part = this.#part;
    const info = typedInfo(values);
    if (info !== undefined && info.size === part) {
      target.set(bytesOf(values as ArrayBufferView));
    } else {
      const aligned = target.byteOffset % part === 0;
      const dst = aligned
        ? new this.#ctor(target.buffer as ArrayBuffer, target.byteOffset, 2 * n)
        : new this.#ctor(2 * n);
      if (info !== undefined) {
        dst.set(values as ArrayLike<number>);
        // NaNs as NumPy's cast makes them, from the source bits (a number may not keep them).
        const out = new Uint8Array(dst.buffer, dst.byteOffset, nbytes);
        copyNaNs(bytesOf(values as ArrayBufferView), info.size, out, part, 2 * n);
      } else this.#fillWeak(dst, values as ArrayLike<unknown>, castingOf(options));
      if (!aligned) target.set(new Uint8Array(dst.buffer, 0, nbytes));
    }
    if (!this.#native) swapInPlace(target.subarray(0, nbytes), part);
    return nbytes;
  }

  #fillWeak(dst: Float32Array | Float64Array, values: ArrayLike<unknown>, _c: Casting): void {
    for (let i = 0, j = 0; i < values.length; i++, j += 2) {
      const v = values[i];
      if (typeof v === "number") {
        dst[j] = v;
        dst[j + 1] = 0;
      } else if (
        (Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array) &&
        v.length === 2
      ) {
        dst[j] = this.#part2(v[0], i, v);
        dst[j + 1] = this.#part2(v[1], i, v);
      } else if (typeof v === "object" && v !== null && "re" in v && "im" in v) {
        dst[j] = this.#part2((v as ComplexObject).re, i, v);
        dst[j + 1] = this.#part2((v as ComplexObject).im, i, v);
      } else if (typeof v === "bigint") {
        dst[j] = Number(v);
        dst[j + 1] = 0;
      } else throw this.#valueError(v, i);
    }
  }

  #part2(x: unknown, i: number, v: unknown): number {
    if (typeof x === "number") return x;
    if (typeof x === "bigint") return Number(x);
    throw this.#valueError(v, i);
  }

  #valueError(v: unknown, i: number): NpyDtypeError {
    return new NpyDtypeError(
      `Cannot cast ${describeValue(v)} (element ${i}) to '${this.descr}': expected a number, ` +
        `an [re, im] pair or an { re, im } object`,
      { descr: this.descr },
    );
  }

  decode(bytes: Uint8Array, _options?: DecodeOptions): Float32Array | Float64Array {
    const n = checkWhole(bytes, this.itemsize, this.descr);
    let b = bytes;
    if (!this.#native) b = swappedCopy(bytes, this.#part);
    else if (bytes.byteOffset % this.#part !== 0) b = bytes.slice();
    return new this.#ctor(b.buffer as ArrayBuffer, b.byteOffset, 2 * n);
  }
}

/**
 * The built-in plugin for complex descrs `c8` and `c16` in either byte order. Decoding
 * gives an interleaved `Float32Array` (`c8`) or `Float64Array` (`c16`) of `2 × n` numbers
 * `[re0, im0, re1, im1, …]` (a view when the bytes are in host order and aligned); encoding
 * takes the same (no copy when it matches), or `[re, im]` pairs, `{ re, im }` objects and
 * plain numbers (real). `c32` (long double) is not supported.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { complexPlugin, DtypeRegistry } from "@npy/append-array";
 *
 * const c8 = new DtypeRegistry([complexPlugin]).resolve(">c8");
 * const bytes = new Uint8Array(16);
 * c8.encodeInto([[1, 2], { re: 3, im: -4 }], bytes);
 * assert.deepEqual(c8.decode(bytes), Float32Array.of(1, 2, 3, -4));
 * ```
 */
export const complexPlugin: DtypePlugin = typestrPlugin("complex", (t) => {
  if (t.kind !== "c" || (t.itemsize !== 8 && t.itemsize !== 16)) return undefined;
  return new ComplexCodec(t.canonical, t.itemsize, t.littleEndian, t.native);
}, castBytes);
