/**
 * Internal: the JavaScript side of the typed-array table, what a TypedArray holds in NumPy's
 * terms (kind and element size), the host's byte order, and how a JS value is described in
 * messages. The chunk code and the dtype plugins both ask it, so it lives below both. Pure:
 * no I/O.
 *
 * @module
 */

import { HOST_ORDER } from "./descr.ts";

/** `true` on little-endian hosts (every platform Deno, Bun and Node run on in practice). */
export const HOST_LITTLE_ENDIAN: boolean = HOST_ORDER === "<";

/**
 * Any TypedArray (not a DataView).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AnyTypedArray, defaultRegistry } from "@npy/append-array";
 *
 * const inputs: AnyTypedArray[] = [Int16Array.of(-1, 2), Float32Array.of(-1, 2)];
 * const f8 = defaultRegistry.resolve("<f8");
 * const bytes = new Uint8Array(16);
 * for (const input of inputs) {
 *   f8.encodeInto(input, bytes); // int16 and float32 both cast safely to float64
 *   assert.deepEqual(f8.decode(bytes), Float64Array.of(-1, 2));
 * }
 * ```
 */
export type AnyTypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Float16ArrayLike;

/**
 * The structural type of a `Float16Array` (ES2025), so the package compiles against older
 * TypeScript libs too. At run time it is the runtime's own `Float16Array`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type Float16ArrayLike } from "@npy/append-array";
 *
 * const f2 = defaultRegistry.resolve("<f2");
 * const bytes = new Uint8Array(4);
 * f2.encodeInto([1.5, 0.1], bytes);
 * const halves = f2.decode(bytes) as Float16ArrayLike;
 * assert.equal(halves.length, 2);
 * assert.deepEqual([...halves], [1.5, 0.0999755859375]); // 0.1 rounded to binary16
 * ```
 */
export interface Float16ArrayLike extends ArrayLike<number> {
  /** Always 2. */
  readonly BYTES_PER_ELEMENT: number;
  /** The memory the array views. */
  readonly buffer: ArrayBufferLike;
  /** Offset of the first element in `buffer`, in bytes. */
  readonly byteOffset: number;
  /** Length in bytes. */
  readonly byteLength: number;
  /** Length in elements. */
  readonly length: number;
  /** An element as a number. */
  [index: number]: number;
  /** Copies numbers in, rounding each to binary16. */
  set(array: ArrayLike<number>, offset?: number): void;
  /** A view of part of the array. */
  subarray(begin?: number, end?: number): Float16ArrayLike;
  /** The elements as numbers. */
  [Symbol.iterator](): IterableIterator<number>;
  /** `"Float16Array"`. */
  readonly [Symbol.toStringTag]: "Float16Array";
}

/** The constructor of a `Float16Array`. */
export interface Float16ArrayConstructorLike {
  new (length: number): Float16ArrayLike;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): Float16ArrayLike;
  readonly BYTES_PER_ELEMENT: number;
}

/** The runtime's `Float16Array`, or `undefined` (Node 20/22). */
export const Float16ArrayCtor: Float16ArrayConstructorLike | undefined =
  (globalThis as { Float16Array?: Float16ArrayConstructorLike }).Float16Array;

/** What a TypedArray holds, in NumPy's terms. */
export interface TypedInfo {
  /** NumPy's kind: `"i"`, `"u"` or `"f"`. */
  readonly kind: string;
  /** Bytes per element. */
  readonly size: number;
  /** `true` for BigInt64Array/BigUint64Array. */
  readonly big: boolean;
}

/** The numeric type of a TypedArray's elements, or `undefined` for anything else. */
export function typedInfo(value: unknown): TypedInfo | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  const tag = (value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
  return TYPED_INFO[tag];
}

const TYPED_INFO: Record<string, TypedInfo | undefined> = {
  Int8Array: { kind: "i", size: 1, big: false },
  Uint8Array: { kind: "u", size: 1, big: false },
  Uint8ClampedArray: { kind: "u", size: 1, big: false },
  Int16Array: { kind: "i", size: 2, big: false },
  Uint16Array: { kind: "u", size: 2, big: false },
  Int32Array: { kind: "i", size: 4, big: false },
  Uint32Array: { kind: "u", size: 4, big: false },
  BigInt64Array: { kind: "i", size: 8, big: true },
  BigUint64Array: { kind: "u", size: 8, big: true },
  Float16Array: { kind: "f", size: 2, big: false },
  Float32Array: { kind: "f", size: 4, big: false },
  Float64Array: { kind: "f", size: 8, big: false },
};

/** The name of a TypedArray's class, for messages. */
export function typedName(value: ArrayBufferView): string {
  return (value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
}

/** The bytes of a view, as a Uint8Array over the same memory. */
export function bytesOf(value: ArrayBufferView): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Whether `value` is a TypedArray (any ArrayBufferView but a DataView). */
export function isTypedArray(value: unknown): value is AnyTypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** The descr a TypedArray's elements have, or `undefined` for a DataView. */
export function typedArrayDescr(view: ArrayBufferView): string | undefined {
  const t = typedInfo(view);
  if (t === undefined) return undefined;
  return t.size === 1 ? `|${t.kind}1` : `${HOST_ORDER}${t.kind}${t.size}`;
}

/** Describes a JS value briefly for messages: `1.5`, `"abc"`, `an object`. */
export function describeValue(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") {
    return JSON.stringify(value.length > 20 ? value.slice(0, 20) + "…" : value);
  }
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "boolean") return String(value);
  if (ArrayBuffer.isView(value)) return `a ${typedName(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Date) {
    return `the Date ${Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()}`;
  }
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return `a ${typeof value}`;
}
