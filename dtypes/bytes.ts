/**
 * The flexible dtypes plugin: byte strings `S<n>` (latin1), unicode strings `U<n>` (UCS-4,
 * either byte order) and raw void `V<n>`.
 *
 * @module
 */

import { NpyDtypeError } from "../lib/errors.ts";
import { castBytes } from "./_cast.ts";
import type { DecodeOptions, Dtype, DtypePlugin, EncodeOptions } from "../lib/registry.ts";
import { checkTarget, checkWhole, typestrPlugin } from "./_common.ts";
import { bytesOf, describeValue } from "../lib/_typed.ts";

/**
 * What `S<n>` and `U<n>` encode from: an array of strings (`S` also takes `Uint8Array`
 * elements). A string longer than `n` (characters for `U`, bytes for `S`) is an error, never
 * cut silently; `S` strings must be latin1 (code points up to U+00FF).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BytesDtype, defaultRegistry, NpyDtypeError, type StringInput } from "@npy/append-array";
 *
 * const s4 = defaultRegistry.resolve("|S4") as BytesDtype;
 * const input: StringInput = ["ab", Uint8Array.of(0x63, 0x64, 0x65)];
 * const bytes = new Uint8Array(8);
 * s4.encodeInto(input, bytes);
 * assert.deepEqual(s4.decode(bytes), ["ab", "cde"]);
 * assert.throws(() => s4.encodeInto(["abcde"], bytes), NpyDtypeError); // never cut silently
 * ```
 */
export type StringInput = ArrayLike<string | Uint8Array>;

/**
 * What `V<n>` encodes from: an array of `Uint8Array` elements of at most `n` bytes each
 * (shorter ones are zero-padded), or one `Uint8Array` holding whole elements back to back
 * (written with no copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BytesDtype, defaultRegistry, type VoidInput } from "@npy/append-array";
 *
 * const v2 = defaultRegistry.resolve("|V2") as BytesDtype;
 * const input: VoidInput = [Uint8Array.of(1), Uint8Array.of(2, 3)];
 * const bytes = new Uint8Array(4);
 * v2.encodeInto(input, bytes);
 * assert.deepEqual(bytes, Uint8Array.of(1, 0, 2, 3)); // the short element is zero-padded
 * const packed: VoidInput = Uint8Array.of(4, 5, 6, 7);
 * assert.equal(v2.count(packed), 2); // two whole 2-byte elements
 * ```
 */
export type VoidInput = ArrayLike<Uint8Array> | Uint8Array;

/**
 * The codec the bytes plugin returns for `'|S5'`, `'<U3'` or `'|V8'`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BytesDtype, defaultRegistry } from "@npy/append-array";
 *
 * const s5 = defaultRegistry.resolve("S5") as BytesDtype;
 * assert.deepEqual([s5.descr, s5.kind, s5.size, s5.itemsize], ["|S5", "S", 5, 5]);
 * const u3 = defaultRegistry.resolve("<U3") as BytesDtype;
 * assert.deepEqual([u3.kind, u3.size, u3.itemsize], ["U", 3, 12]); // UCS-4: 4 bytes a character
 * ```
 */
export interface BytesDtype extends Dtype<string[] | Uint8Array[]> {
  /** The canonical descr, e.g. `"|S5"`, `"<U3"`, `"|V8"`. */
  readonly descr: string;
  /** `"S"`, `"U"` or `"V"`. */
  readonly kind: "S" | "U" | "V";
  /** Characters (`S`, `U`) or bytes (`V`) per element: the `n` of the descr. */
  readonly size: number;
  /** Encodes strings (`S`, `U`) or byte arrays (`S`, `V`). */
  encodeInto(values: StringInput | VoidInput, target: Uint8Array, options?: EncodeOptions): number;
}

class BytesCodec implements BytesDtype {
  readonly descr: string;
  readonly kind: "S" | "U" | "V";
  readonly size: number;
  readonly itemsize: number;
  readonly #le: boolean;

  constructor(descr: string, kind: "S" | "U" | "V", size: number, littleEndian: boolean) {
    this.descr = descr;
    this.kind = kind;
    this.size = size;
    this.itemsize = kind === "U" ? 4 * size : size;
    this.#le = littleEndian;
  }

  count(values: unknown, _options?: EncodeOptions): number {
    if (Array.isArray(values)) return values.length;
    if (this.kind === "V" && values instanceof Uint8Array && this.itemsize === 0) {
      throw new NpyDtypeError(
        `Cannot encode one Uint8Array as '${this.descr}': elements of no bytes cannot be ` +
          `counted in it; pass an array of empty Uint8Arrays`,
        { descr: this.descr },
      );
    }
    if (this.kind === "V" && values instanceof Uint8Array) {
      if (values.length % this.itemsize !== 0) {
        throw new NpyDtypeError(
          `Cannot encode ${values.length} bytes as '${this.descr}': not a whole number of ` +
            `${this.itemsize}-byte elements`,
          { descr: this.descr },
        );
      }
      return values.length / this.itemsize;
    }
    throw new NpyDtypeError(
      `Cannot encode ${describeValue(values)} as '${this.descr}': expected an array of ${
        this.kind === "V" ? "Uint8Array" : "strings"
      }${this.kind === "V" ? " or one Uint8Array of whole elements" : ""}`,
      { descr: this.descr },
    );
  }

  isElement(value: unknown): boolean {
    if (this.kind === "U") return typeof value === "string";
    if (this.kind === "S") return typeof value === "string" || value instanceof Uint8Array;
    return value instanceof Uint8Array;
  }

  view(values: unknown): Uint8Array | undefined {
    if (this.kind !== "V" || !(values instanceof Uint8Array) || this.itemsize === 0) {
      return undefined;
    }
    return values.length % this.itemsize === 0 ? bytesOf(values) : undefined;
  }

  encodeInto(values: StringInput | VoidInput, target: Uint8Array, options?: EncodeOptions): number {
    const n = this.count(values, options);
    const size = this.itemsize;
    const nbytes = n * size;
    checkTarget(target, nbytes, this.descr);
    const direct = this.view(values);
    if (direct !== undefined) {
      target.set(direct);
      return nbytes;
    }
    target.fill(0, 0, nbytes);
    const arr = values as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) {
      const v = arr[i];
      const at = i * size;
      if (this.kind === "U" && typeof v === "string") this.#putUnicode(v, target, at, i);
      else if (this.kind === "S" && typeof v === "string") this.#putLatin1(v, target, at, i);
      else if (this.kind !== "U" && v instanceof Uint8Array) {
        if (v.length > size) throw this.#tooLong(v, v.length, i);
        target.set(v, at);
      } else {
        throw new NpyDtypeError(
          `Cannot encode ${describeValue(v)} (element ${i}) as '${this.descr}': expected ${
            this.kind === "V"
              ? "a Uint8Array"
              : this.kind === "S"
              ? "a string or Uint8Array"
              : "a string"
          }`,
          { descr: this.descr },
        );
      }
    }
    return nbytes;
  }

  #putLatin1(s: string, target: Uint8Array, at: number, i: number): void {
    if (s.length > this.size) throw this.#tooLong(s, s.length, i);
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c > 0xff) {
        throw new NpyDtypeError(
          `Cannot encode ${describeValue(s)} (element ${i}) as '${this.descr}': character ` +
            `U+${c.toString(16).toUpperCase().padStart(4, "0")} at ${k} is not latin1; use a ` +
            `'U' dtype for text`,
          { descr: this.descr },
        );
      }
      target[at + k] = c;
    }
  }

  #putUnicode(s: string, target: Uint8Array, at: number, i: number): void {
    let k = 0;
    const le = this.#le;
    for (let j = 0; j < s.length; j++, k++) {
      let c = s.charCodeAt(j);
      // A surrogate pair is one code point; a lone surrogate is stored as it is (as Python does).
      if (c >= 0xd800 && c <= 0xdbff && j + 1 < s.length) {
        const d = s.charCodeAt(j + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          j++;
        }
      }
      if (k >= this.size) throw this.#tooLong(s, [...s].length, i);
      const p = at + 4 * k;
      if (le) {
        target[p] = c & 0xff;
        target[p + 1] = (c >>> 8) & 0xff;
        target[p + 2] = c >>> 16;
      } else {
        target[p + 1] = c >>> 16;
        target[p + 2] = (c >>> 8) & 0xff;
        target[p + 3] = c & 0xff;
      }
    }
  }

  #tooLong(v: unknown, length: number, i: number): NpyDtypeError {
    const unit = this.kind === "U" ? "characters" : "bytes";
    return new NpyDtypeError(
      `Cannot encode ${describeValue(v)} (element ${i}) as '${this.descr}': it has ${length} ` +
        `${unit}, the dtype holds at most ${this.size}`,
      { descr: this.descr },
    );
  }

  decode(bytes: Uint8Array, options?: DecodeOptions): string[] | Uint8Array[] {
    const size = this.itemsize;
    // Elements of no bytes (NumPy's S0, U0, V0): the count comes from the caller.
    const n = size === 0 ? options?.count ?? 0 : checkWhole(bytes, size, this.descr);
    if (this.kind === "V") {
      const copy = bytes.slice();
      const out: Uint8Array[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = copy.subarray(i * size, (i + 1) * size);
      return out;
    }
    const out: string[] = new Array(n);
    if (this.kind === "S") {
      for (let i = 0; i < n; i++) {
        let end = (i + 1) * size;
        const start = i * size;
        while (end > start && bytes[end - 1] === 0) end--;
        out[i] = latin1(bytes, start, end);
      }
      return out;
    }
    const le = this.#le;
    const codes: number[] = [];
    for (let i = 0; i < n; i++) {
      codes.length = 0;
      const start = i * size;
      let len = 0;
      for (let k = 0; k < this.size; k++) {
        const p = start + 4 * k;
        const c = le
          ? bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)
          : (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
        codes.push(c >>> 0);
        if (c !== 0) len = k + 1;
      }
      codes.length = len;
      out[i] = fromCodePoints(codes, i, this.descr);
    }
    return out;
  }
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let k = start; k < end; k += 8192) {
    s += String.fromCharCode(...bytes.subarray(k, Math.min(end, k + 8192)));
  }
  return s;
}

function fromCodePoints(codes: number[], i: number, descr: string): string {
  let s = "";
  for (let k = 0; k < codes.length; k += 8192) {
    const chunk = codes.slice(k, k + 8192);
    for (const c of chunk) {
      if (c > 0x10ffff) {
        throw new NpyDtypeError(
          `Cannot decode element ${i} of '${descr}': ${c} is not a Unicode code point`,
          { descr },
        );
      }
    }
    s += String.fromCodePoint(...chunk);
  }
  return s;
}

/**
 * The built-in plugin for NumPy's flexible dtypes. `S<n>` decodes to latin1 `string[]` and
 * `U<n>` (UCS-4, `<` or `>`) to `string[]`, both with trailing NULs stripped as NumPy does;
 * `V<n>` decodes to `Uint8Array[]` (views of one copy of the bytes). Encoding a value longer
 * than the dtype holds is an error, never a silent cut; shorter values are NUL-padded. The
 * zero-width `S0`, `U0` and `V0` NumPy reads and writes (a record's `('b', 'S0')` field, or
 * `np.empty(2, 'V0')`) hold only `""` or an empty `Uint8Array`; decoding them takes the count
 * from `options.count`, as their bytes cannot tell it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesPlugin, DtypeRegistry, NpyDtypeError } from "@npy/append-array";
 *
 * const registry = new DtypeRegistry([bytesPlugin]);
 * const u3 = registry.resolve(">U3");
 * const bytes = new Uint8Array(24);
 * u3.encodeInto(["hé", "😀"], bytes);
 * assert.deepEqual(u3.decode(bytes), ["hé", "😀"]);
 * assert.throws(() => registry.resolve("|S2").encodeInto(["abc"], bytes), NpyDtypeError);
 * ```
 */
export const bytesPlugin: DtypePlugin = typestrPlugin("bytes", (t) => {
  if (t.kind !== "S" && t.kind !== "U" && t.kind !== "V") return undefined;
  return new BytesCodec(t.canonical, t.kind, t.size, t.littleEndian);
}, castBytes);
