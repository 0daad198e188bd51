/**
 * The bool dtype plugin: NumPy's `'|b1'` (also spelled `'?'`), one byte per element, 0 or 1.
 *
 * @module
 */

import { NpyDtypeError } from "../lib/errors.ts";
import { castBytes } from "./_cast.ts";
import type { DecodeOptions, Dtype, DtypePlugin, EncodeOptions } from "../lib/registry.ts";
import { castingOf, checkTarget, typestrPlugin } from "./_common.ts";
import { bytesOf, describeValue, typedInfo, typedName } from "../lib/_typed.ts";

/**
 * What the bool dtype encodes from: an array of booleans (or of the numbers 0 and 1), or a
 * `Uint8Array` of 0/1 bytes (what `decode` returns). Other TypedArrays and other numbers
 * are cast only with `{ casting: "unsafe" }` (non-zero becomes 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BoolDtype, type BoolInput, defaultRegistry } from "@npy/append-array";
 *
 * const b1 = defaultRegistry.resolve("?") as BoolDtype;
 * const inputs: BoolInput[] = [[true, false], [1, 0], Uint8Array.of(1, 0)];
 * const bytes = new Uint8Array(2);
 * for (const input of inputs) {
 *   b1.encodeInto(input, bytes);
 *   assert.deepEqual(bytes, Uint8Array.of(1, 0));
 * }
 * ```
 */
export type BoolInput = ArrayLike<boolean | number> | Uint8Array;

/**
 * The codec the bool plugin returns for `'|b1'`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BoolDtype, defaultRegistry } from "@npy/append-array";
 *
 * const b1 = defaultRegistry.resolve("|b1") as BoolDtype;
 * assert.equal(b1.descr, "|b1");
 * const flags = Uint8Array.of(1, 0, 1);
 * assert.equal(b1.view(flags)?.buffer, flags.buffer); // 0/1 bytes are written with no copy
 * assert.equal(b1.view(Uint8Array.of(2)), undefined);
 * assert.deepEqual(b1.decode(Uint8Array.of(0, 7)), Uint8Array.of(0, 1)); // non-zero reads as 1
 * ```
 */
export interface BoolDtype extends Dtype<Uint8Array> {
  /** Always `"|b1"`. */
  readonly descr: "|b1";
  /** Encodes booleans, 0/1 numbers or a 0/1 `Uint8Array`. */
  encodeInto(values: BoolInput, target: Uint8Array, options?: EncodeOptions): number;
  /** A view of a `Uint8Array`'s own bytes when they are all 0 or 1. */
  view(values: unknown, options?: EncodeOptions): Uint8Array | undefined;
}

function allBits(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) return i;
  return -1;
}

const BOOL: BoolDtype = {
  descr: "|b1",
  itemsize: 1,
  count(values: unknown, options?: EncodeOptions): number {
    const info = typedInfo(values);
    if (info !== undefined) {
      const isBytes = info.kind === "u" && info.size === 1;
      if (!isBytes && castingOf(options) !== "unsafe") {
        throw new NpyDtypeError(
          `Cannot cast ${typedName(values as ArrayBufferView)} to '|b1' (bool) under casting ` +
            `"${castingOf(options)}": only a Uint8Array of 0/1 bytes or an array of booleans ` +
            `is taken as bool; pass { casting: "unsafe" } to map non-zero to true`,
          { descr: "|b1" },
        );
      }
      return (values as ArrayLike<unknown>).length;
    }
    if (Array.isArray(values)) return values.length;
    throw new NpyDtypeError(
      `Cannot encode ${describeValue(values)} as '|b1': expected an array of booleans or a ` +
        `Uint8Array of 0/1 bytes`,
      { descr: "|b1" },
    );
  },
  isElement(value: unknown): boolean {
    return typeof value === "boolean" || typeof value === "number";
  },
  view(values: unknown): Uint8Array | undefined {
    const info = typedInfo(values);
    if (info === undefined || info.kind !== "u" || info.size !== 1) return undefined;
    const bytes = bytesOf(values as ArrayBufferView);
    return allBits(bytes) === -1 ? bytes : undefined;
  },
  encodeInto(values: BoolInput, target: Uint8Array, options?: EncodeOptions): number {
    const n = this.count(values, options);
    checkTarget(target, n, "|b1");
    const unsafe = castingOf(options) === "unsafe";
    if (ArrayBuffer.isView(values)) {
      const src = values as ArrayLike<number | bigint>;
      const direct = this.view(values);
      if (direct !== undefined) {
        target.set(direct);
        return n;
      }
      if (!unsafe) {
        const i = allBits(values as Uint8Array);
        throw new NpyDtypeError(
          `Cannot cast ${src[i]} (element ${i}) to '|b1' (bool): only 0 and 1 are booleans; ` +
            `pass { casting: "unsafe" } to map non-zero to true`,
          { descr: "|b1" },
        );
      }
      // Non-zero is true, NaN included (as in NumPy; NaN is falsy in JS).
      for (let i = 0; i < n; i++) target[i] = src[i] !== 0 && src[i] !== 0n ? 1 : 0;
      return n;
    }
    const arr = values as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) {
      const v = arr[i];
      if (v === true || v === 1) target[i] = 1;
      else if (v === false || v === 0) target[i] = 0;
      else if (unsafe && (typeof v === "number" || typeof v === "bigint")) {
        target[i] = v !== 0 && v !== 0n ? 1 : 0;
      } else {
        throw new NpyDtypeError(
          `Cannot cast ${describeValue(v)} (element ${i}) to '|b1' (bool): expected true, ` +
            `false, 0 or 1`,
          { descr: "|b1" },
        );
      }
    }
    return n;
  },
  decode(bytes: Uint8Array, _options?: DecodeOptions): Uint8Array {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    if (allBits(view) === -1) return view;
    // NumPy reads any non-zero byte as True: normalise (in a copy) to 0/1.
    const out = new Uint8Array(bytes.length);
    for (let i = 0; i < out.length; i++) out[i] = bytes[i] ? 1 : 0;
    return out;
  },
};

/**
 * The built-in plugin for NumPy's bool dtype, `'|b1'` (also `'?'`, `'b1'`, `'<b1'`).
 * Decoding gives a `Uint8Array` of 0/1 (a view of the bytes, no copy; any other non-zero
 * byte is read as 1, as NumPy does); encoding takes booleans, the numbers 0/1, or a 0/1
 * `Uint8Array` (written with no copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boolPlugin, DtypeRegistry } from "@npy/append-array";
 *
 * const b1 = new DtypeRegistry([boolPlugin]).resolve("?");
 * assert.equal(b1.descr, "|b1");
 * const bytes = new Uint8Array(3);
 * b1.encodeInto([true, false, 1], bytes);
 * assert.deepEqual(b1.decode(bytes), Uint8Array.of(1, 0, 1));
 * ```
 */
export const boolPlugin: DtypePlugin = typestrPlugin(
  "bool",
  (t) => t.kind === "b" ? BOOL : undefined,
  castBytes,
);
