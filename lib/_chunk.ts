/**
 * Internal: what the writer accepts as a chunk, taken apart into a shape and flat values.
 * TypedArrays, nested JS arrays (of numbers, bigints, booleans, strings, records…),
 * ndarray-likes `{ data, shape, descr?, fortranOrder? }` and scijs `ndarray` objects (with
 * `stride`/`offset`). The bytes themselves are made by the file's {@link Dtype}; this module
 * only finds the shape, the order and a descr to use when the file has none yet. Pure.
 *
 * @module
 */

import type { Descr } from "./descr.ts";
import { NpyDtypeError, NpyShapeError } from "./errors.ts";
import {
  type Casting,
  descrText,
  type Dtype,
  type DtypeRegistry,
  type EncodeOptions,
} from "./registry.ts";
import {
  type AnyTypedArray as TypedArray,
  describeValue,
  isTypedArray,
  typedArrayDescr,
} from "./_typed.ts";

/**
 * What the errors of the chunk code name: the action that failed, in the caller's words
 * (`append to "a.npy"`, `append to the stack "d"`, `encode the array`), and the user's file
 * (or stack) when there is one.
 */
export interface ChunkTarget {
  /** After "Cannot": `append to "a.npy"`, `encode the array`. */
  readonly action: string;
  /** The file or stack the errors carry as `path`. */
  readonly path?: string;
}

/**
 * A target that has rows: a file or a stack appended to. Its errors always carry the path,
 * which is how {@link appendError} tells them from the dtype code's.
 */
export interface AppendTarget extends ChunkTarget {
  /** The file or stack. */
  readonly path: string;
  /** `"file"` or `"stack"`, as in "the file's rows". */
  readonly noun: "file" | "stack";
}

/** `Cannot <action>: <state>`, for the caller's target, its path when known. */
function chunkError<E extends Error>(
  target: ChunkTarget,
  state: string,
  make: (message: string, path: { path?: string }) => E,
): E {
  const { action, path } = target;
  return make(`Cannot ${action}: ${state}`, path === undefined ? {} : { path });
}

/**
 * An array with its shape: `data` holds the elements flat, in the file's order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, type NpyArrayLike, parseNpy } from "@npy/append-array";
 *
 * // The 2×3 matrix [[1, 2, 3], [4, 5, 6]], stored column-major.
 * const m: NpyArrayLike = {
 *   data: [1, 4, 2, 5, 3, 6],
 *   shape: [2, 3],
 *   descr: "<i2",
 *   fortranOrder: true,
 * };
 * const a = parseNpy(encodeNpy(m));
 * assert.equal(a.fortranOrder, true);
 * assert.deepEqual(a.data, Int16Array.of(1, 4, 2, 5, 3, 6));
 * ```
 */
export interface NpyArrayLike {
  /** The elements, flat: a TypedArray, a JS array, or raw bytes of `descr`. */
  readonly data: ArrayBufferView | ArrayLike<unknown>;
  /** The full shape. */
  readonly shape: readonly number[];
  /**
   * The dtype of `data`; inferred from a TypedArray when absent. With `Uint8Array` or
   * `DataView` data, the layout of raw bytes. When it differs from the file's dtype, the
   * elements are cast as NumPy's `astype` does (datetime units rescaled, records by
   * position), if NumPy's `can_cast` allows it under the casting rule.
   */
  readonly descr?: Descr;
  /**
   * Whether `data` is column-major.
   * @default {false}
   */
  readonly fortranOrder?: boolean;
}

/** An ndarray-like as `append` takes it: scijs `ndarray`s add strides and an offset. */
export interface NdArrayLike extends NpyArrayLike {
  /** scijs `ndarray`: element strides per axis. */
  readonly stride?: readonly number[];
  /** scijs `ndarray`: index of the first element in `data`. */
  readonly offset?: number;
}

/** A chunk taken apart. */
export interface ChunkParts {
  /** The chunk's shape; for a bare TypedArray `[count]` (fixed later by the row shape). */
  shape: number[];
  /** Flat values in `fortran` order: a TypedArray, a JS array of elements, or raw bytes. */
  values: unknown;
  /** `true` when `values` is in column-major order. */
  fortran: boolean;
  /** The descr of `values` when they carry one (TypedArray type, an ndarray-like's descr). */
  descr: Descr | undefined;
  /** `values` is a byte view holding elements of `descr` as they are stored. */
  raw: boolean;
  /**
   * `descr` is the chunk's own (an ndarray-like's `descr`, raw bytes): its values are
   * elements of that dtype, cast to the file's by NumPy's rules. Otherwise `descr` is only a
   * guess for a file that has none yet (a TypedArray's type), and values are encoded by the
   * file's dtype directly.
   */
  own: boolean;
  /** A bare TypedArray: its shape is known only from the file's row shape. */
  flat: boolean;
}

/**
 * Whether an ndarray-like's `data` are raw bytes of its `descr` (not elements): a DataView,
 * or a Uint8Array with a descr other than u1.
 */
export function isRawBytes(data: unknown, descr: Descr | undefined): boolean {
  if (data instanceof DataView) return true;
  if (descr === undefined || (data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT !== 1) {
    return false; // (the cheap test first: the writer's fast path asks for every chunk)
  }
  return typedArrayDescr(data as ArrayBufferView) === "|u1" &&
    !(typeof descr === "string" && /^[|<>=]?u1$/.test(descr));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) &&
    value.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0);
}

/** Whether `value` looks like `{ data, shape }`. */
export function isNdArrayLike(value: unknown): value is NdArrayLike {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  if (ArrayBuffer.isView(value)) return false;
  const v = value as Record<string, unknown>;
  return "data" in v && "shape" in v && Array.isArray(v.shape) &&
    (ArrayBuffer.isView(v.data) || Array.isArray(v.data));
}

/** `(3, 4)` as Python prints a shape. */
export function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/** The number of elements in `shape`. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Takes a chunk apart without knowing the file's dtype: TypedArrays, ndarray-likes and
 * scijs ndarrays; nested JS arrays are returned as they are (`values` the nested array,
 * `shape` empty) for {@link flattenNested} once the dtype is known.
 */
export function splitChunk(chunk: unknown, target: ChunkTarget): ChunkParts | undefined {
  if (isTypedArray(chunk)) {
    return {
      shape: [chunk.length],
      values: chunk,
      fortran: false,
      descr: typedArrayDescr(chunk),
      raw: false,
      own: false,
      flat: true,
    };
  }
  if (chunk instanceof DataView) {
    return {
      shape: [],
      values: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      fortran: false,
      descr: undefined,
      raw: true,
      own: false,
      flat: true,
    };
  }
  if (!isNdArrayLike(chunk)) return undefined;
  const { data, shape, descr, fortranOrder, stride, offset } = chunk;
  if (!isShape(shape)) {
    throw chunkError(
      target,
      `the chunk's shape ${JSON.stringify(shape)} is not a list of non-negative integers`,
      (message, path) =>
        new NpyShapeError(message, { ...path, ...(Array.isArray(shape) ? { actual: shape } : {}) }),
    );
  }
  const n = sizeOf(shape);
  if (Array.isArray(stride) && typeof offset === "number") {
    if (!isShape(stride.map(Math.abs)) || stride.length !== shape.length) {
      throw chunkError(
        target,
        `the ndarray's stride ${JSON.stringify(stride)} does not fit its shape ${shapeText(shape)}`,
        (message, path) => new NpyShapeError(message, { ...path, actual: shape }),
      );
    }
    return {
      shape: [...shape],
      values: gather(data as ArrayLike<unknown>, shape, stride, offset, target),
      fortran: false,
      descr: descr ?? (isTypedArray(data) ? typedArrayDescr(data) : undefined),
      raw: false,
      own: descr !== undefined,
      flat: false,
    };
  }
  if (isRawBytes(data, descr)) {
    const view = data as ArrayBufferView;
    return {
      shape: [...shape],
      values: new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
      fortran: fortranOrder === true,
      descr,
      raw: true,
      own: true,
      flat: false,
    };
  }
  if (data instanceof DataView) {
    throw chunkError(
      target,
      "a DataView chunk needs a descr for its bytes",
      (message, path) => new NpyDtypeError(message, { ...path, descr }),
    );
  }
  if (Array.isArray(data) && data.length !== n) {
    throw chunkError(
      target,
      `the chunk's data holds ${data.length} elements but its shape ${shapeText(shape)} ` +
        `needs ${n}`,
      (message, path) => new NpyShapeError(message, { ...path, actual: shape }),
    );
  }
  return {
    shape: [...shape],
    values: data,
    fortran: fortranOrder === true,
    descr: descr ?? (isTypedArray(data) ? typedArrayDescr(data) : undefined),
    raw: false,
    own: descr !== undefined,
    flat: false,
  };
}

/**
 * The bytes of `count` elements of a chunk as the file's `dtype` stores them: the one step
 * the writer and `encodeNpy` share. Values are encoded by `dtype` (a view of their memory
 * when possible); raw bytes already in `dtype` are used as they are. When the chunk has a
 * descr of its own (`source`, resolved, differing from `dtype`), its values are first encoded
 * in that descr (raw bytes already are), then cast to `dtype` by `registry` (its plugins
 * make NumPy's `astype`, a plugin's own `cast` first), under NumPy's `can_cast` rule
 * `options.casting`.
 * @throws {NpyDtypeError} When a value cannot be encoded or the cast is refused.
 */
export function chunkBytes(
  dtype: Dtype,
  source: Dtype | undefined,
  values: unknown,
  raw: boolean,
  count: number,
  options: EncodeOptions,
  registry: DtypeRegistry,
): Uint8Array {
  const from = source ?? dtype;
  const own = raw ? values as Uint8Array : encode(from, values, count, options);
  if (from === dtype) return own;
  const casting = options.casting ?? "same_kind";
  return registry.cast(own, { from, to: dtype, casting, count });
}

/** `count` elements of `values` as the dtype's bytes: a view when possible, else encoded. */
function encode(dtype: Dtype, values: unknown, count: number, options: EncodeOptions): Uint8Array {
  const size = count * dtype.itemsize;
  const view = dtype.view?.(values, options);
  if (view !== undefined && view.length === size) return view;
  const out = new Uint8Array(size);
  dtype.encodeInto(values, out, options);
  return out;
}

/** Copies a strided scijs ndarray into a C-ordered container of the same kind. */
function gather(
  data: ArrayLike<unknown>,
  shape: readonly number[],
  stride: readonly number[],
  offset: number,
  target: ChunkTarget,
): ArrayLike<unknown> {
  const n = sizeOf(shape);
  if (n === 0) return isTypedArray(data) ? data.subarray(0, 0) : [];
  // C-contiguous: a view (TypedArray) or a slice, no element loop.
  let contiguous = true;
  let last = offset, first = offset;
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    const size = shape[i] ?? 1, step = stride[i] ?? 0; // (i < shape.length = stride.length)
    if (size !== 1 && step !== s) contiguous = false;
    s *= size;
    const reach = (size - 1) * step;
    if (reach > 0) last += reach;
    else first += reach;
  }
  if (!Number.isSafeInteger(offset) || first < 0 || last >= data.length) {
    throw chunkError(
      target,
      `the ndarray's offset ${offset} and stride ${JSON.stringify(stride)} reach outside ` +
        `its data of ${data.length} elements`,
      (message, path) => new NpyShapeError(message, { ...path, actual: [...shape] }),
    );
  }
  if (contiguous) {
    return isTypedArray(data)
      ? data.subarray(offset, offset + n)
      : Array.prototype.slice.call(data, offset, offset + n);
  }
  const out: { [i: number]: unknown; length: number } = isTypedArray(data)
    ? new (data.constructor as new (n: number) => TypedArray)(n)
    : new Array(n);
  const index = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let k = 0; k < n; k++) {
    out[k] = data[src];
    src = nextSource(index, shape, stride, src);
  }
  return out as ArrayLike<unknown>;
}

/**
 * The shape and flat elements of a nested JS array (or a single value: a 0-d chunk).
 * `isElement` tells which arrays are elements (a complex `[re, im]`, a void `Uint8Array`).
 * @throws {NpyShapeError} For ragged nesting.
 */
export function flattenNested(
  chunk: unknown,
  isElement: ((value: unknown) => boolean) | undefined,
  target: ChunkTarget,
): { shape: number[]; values: unknown[] } {
  const isDim = (v: unknown): v is ArrayLike<unknown> =>
    (Array.isArray(v) || isTypedArray(v)) && !(isElement !== undefined && isElement(v));
  const shape: number[] = [];
  for (let v: unknown = chunk; isDim(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const nd = shape.length;
  if (nd === 0) return { shape, values: [chunk] };
  if (nd === 1 && Array.isArray(chunk) && !chunk.some(isDim)) {
    return { shape, values: chunk };
  }
  const values = new Array<unknown>(sizeOf(shape));
  let k = 0; // values filled: also the flat index where the subtree being walked starts
  // The innermost level is a tight loop: a number, bigint, boolean or string is a leaf
  // without asking (only objects may be arrays); the path of an error is worked out from k.
  const walk = (v: unknown, depth: number): void => {
    if (!isDim(v) || v.length !== shape[depth]) throw ragged(depth, isDim(v) ? v.length : -1);
    if (depth === nd - 1) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        // isDim is given v[i], not x: x passed to a call must be a boxed value, so V8
        // allocated a number object per value (1.5 times the time of this loop).
        if (typeof x === "object" && x !== null && isDim(v[i])) {
          throw ragged(nd, (x as ArrayLike<unknown>).length);
        }
        values[k++] = x;
      }
      return;
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1);
  };
  const ragged = (depth: number, length: number): NpyShapeError => {
    const index: number[] = []; // the index of values[k] in shape, cut to `depth` levels
    for (let d = nd - 1, rest = k; d >= 0; d--) {
      const size = shape[d] ?? 1;
      index.unshift(rest % size);
      rest = Math.floor(rest / size);
    }
    return chunkError(
      target,
      `the nested array is ragged: the item at [${index.slice(0, depth).join("][")}] is ${
        length < 0 ? "not an array" : `an array of ${length}`
      } where the first items give the shape ${shapeText(shape)}`,
      (message, path) => new NpyShapeError(message, { ...path, actual: shape }),
    );
  };
  walk(chunk, 0);
  return { shape, values };
}

/**
 * A descr for a chunk of plain JS values, for a file that has none yet: numbers are
 * float64 (`<f8`), bigints int64, booleans bool, strings `<U` of the longest, plain
 * objects records with one such field per key.
 * @throws {NpyDtypeError} When the values are not of these kinds.
 */
export function inferDescr(chunk: unknown, target: ChunkTarget): Descr {
  const leaves: unknown[] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) { for (const x of v) collect(x); }
    else leaves.push(v);
  };
  collect(chunk);
  if (leaves.length === 0) {
    throw chunkError(
      target,
      "an empty first chunk does not tell the dtype; pass options.descr",
      (message, path) => new NpyDtypeError(message, path),
    );
  }
  const first = leaves[0];
  if (isPlainObject(first)) {
    const fields: [string, string][] = [];
    for (const key of Object.keys(first)) {
      fields.push([key, scalarDescr(leaves.map((r) => (r as Record<string, unknown>)?.[key]))]);
    }
    if (fields.length === 0) throw junk(first);
    return fields;
  }
  return scalarDescr(leaves);

  function scalarDescr(values: unknown[]): string {
    const v = values[0];
    if (isTypedArray(v)) return typedArrayDescr(v)!;
    if (typeof v === "number") return "<f8";
    if (typeof v === "bigint") return "<i8";
    if (typeof v === "boolean") return "|b1";
    if (typeof v === "string") {
      let max = 1;
      for (const s of values) if (typeof s === "string") max = Math.max(max, [...s].length);
      return `<U${max}`;
    }
    throw junk(v);
  }
  function junk(v: unknown): NpyDtypeError {
    return chunkError(
      target,
      `cannot tell a dtype from ${describeValue(v)} (expected numbers, bigints, booleans, ` +
        `strings, records or TypedArrays; or pass options.descr)`,
      (message, path) => new NpyDtypeError(message, path),
    );
  }
}

/**
 * Reverses the axes of C-ordered elements: `bytes` holds a C-order array of `shape`; the
 * result holds the C-order array of the reversed shape (its transpose), which is the
 * Fortran-order layout of `shape`. Returns `bytes` itself when no element moves.
 */
export function reverseAxes(
  bytes: Uint8Array,
  shape: readonly number[],
  itemsize: number,
): Uint8Array {
  let moving = 0;
  for (const d of shape) if (d > 1) moving++;
  if (moving < 2) return bytes;
  const nd = shape.length;
  const out = new Uint8Array(bytes.length);
  // Input strides (in elements) of each axis; output walks the reversed shape in C order.
  const inStride = new Array<number>(nd);
  for (let i = nd - 1, s = 1; i >= 0; i--) {
    inStride[i] = s;
    s *= shape[i] ?? 1; // (i < nd)
  }
  // Output axis j corresponds to input axis nd-1-j.
  const oShape = [...shape].reverse();
  const oStride = [...inStride].reverse();
  const index = new Array<number>(nd).fill(0);
  const n = sizeOf(shape);
  let src = 0;
  if (itemsize === 1 || itemsize === 2 || itemsize === 4 || itemsize === 8) {
    // Whole elements move as integers (bit-exact, NaN payloads included).
    const A = itemsize === 1
      ? Uint8Array
      : itemsize === 2
      ? Uint16Array
      : itemsize === 4
      ? Uint32Array
      : BigUint64Array;
    const source = bytes.byteOffset % itemsize === 0 ? bytes : bytes.slice();
    const inArr = new A(source.buffer as ArrayBuffer, source.byteOffset, n) as Uint32Array;
    const outArr = new A(out.buffer) as Uint32Array;
    for (let k = 0; k < n; k++) {
      outArr[k] = inArr[src] ?? 0; // (src < n: a permutation of the elements)
      src = nextSource(index, oShape, oStride, src);
    }
    return out;
  }
  for (let k = 0; k < n; k++) {
    out.set(bytes.subarray(src * itemsize, (src + 1) * itemsize), k * itemsize);
    src = nextSource(index, oShape, oStride, src);
  }
  return out;
}

/**
 * Steps the position `index` (C order over `shape`) by one element and returns the matching
 * source element: `src` moved by the source strides of the axes that changed. The walk of
 * a strided scijs view and of an axis reversal alike.
 */
function nextSource(
  index: number[],
  shape: readonly number[],
  stride: readonly number[],
  src: number,
): number {
  for (let ax = index.length - 1; ax >= 0; ax--) {
    // (ax < index.length, the length of shape and stride too)
    const at = (index[ax] ?? 0) + 1, size = shape[ax] ?? 1, step = stride[ax] ?? 0;
    if (at < size) {
      index[ax] = at;
      return src + step;
    }
    index[ax] = 0;
    src -= step * (size - 1);
  }
  return src;
}

// -----------------------------------------------------------------------------------------
// Messages shared by the file writer and the stack writer

/** `[1, 2]`, `[[1, 2], [3, 4]]`, cut short: a nested array as the user wrote it. */
function previewOf(value: unknown): string {
  const text = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(text).join(", ")}]`
      : typeof v === "bigint"
      ? `${v}n`
      : typeof v === "string"
      ? JSON.stringify(v)
      : String(v);
  const all = text(value);
  return all.length > 40 ? all.slice(0, 39) + "…" : all;
}

/**
 * The error for a chunk of `shape` that is not rows of `rowShape`; one row given bare, as a
 * nested array, gets the hint to wrap it (`wrap it as [[1, 2]]`).
 */
export function rowShapeError(
  target: AppendTarget,
  chunk: unknown,
  shape: readonly number[],
  rowShape: readonly number[],
  fortran: boolean,
): NpyShapeError {
  const dims = fortran ? [...rowShape, "k"] : ["k", ...rowShape];
  const hint = !(shape.length === rowShape.length && shape.every((d, i) => d === rowShape[i])) ||
      !Array.isArray(chunk)
    ? ""
    : fortran
    ? `; one row is a chunk of shape ${shapeText([...rowShape, 1])}`
    : `; to append one row, wrap it as [${previewOf(chunk)}]`;
  return new NpyShapeError(
    `Cannot ${target.action}: the chunk's shape ${shapeText(shape)} does not fit ` +
      `the ${target.noun}'s rows of shape ${shapeText(rowShape)}: expected (${dims.join(", ")}${
        dims.length === 1 ? "," : ""
      })${hint}`,
    {
      path: target.path,
      expected: fortran ? [...rowShape, 0] : [0, ...rowShape],
      actual: shape,
    },
  );
}

/**
 * The error to throw for `e`, raised while a chunk was checked or encoded for `target`:
 * an `NpyDtypeError` or `NpyShapeError` of the dtype code (which knows no file, so it has
 * no path) becomes one of the same class that says in one sentence what failed for the
 * target (its dtype and casting rule, the shape expected), the original as its `cause`
 * (which says which value or field). The chunk code's own errors, worded for the target
 * and carrying its path, and any other error are returned as they are.
 */
export function appendError(
  e: unknown,
  target: AppendTarget,
  dtype?: Dtype,
  casting?: Casting,
): unknown {
  const { action, noun, path } = target;
  if (!(e instanceof NpyDtypeError || e instanceof NpyShapeError) || e.path !== undefined) {
    return e;
  }
  const fileDtype = dtype === undefined ? "" : ` ${descrText(dtype.descr)}`;
  if (e instanceof NpyDtypeError) {
    return new NpyDtypeError(
      `Cannot ${action}: the chunk's values do not fit the ${noun}'s dtype${fileDtype} under ` +
        `casting "${casting ?? "same_kind"}"`,
      { path, cause: e, descr: dtype?.descr ?? e.descr },
    );
  }
  const expected = e.expected === undefined ? "" : ` (expected ${shapeText(e.expected)})`;
  return new NpyShapeError(
    `Cannot ${action}: the number of the chunk's values does not match its shape for the ` +
      `${noun}'s dtype${fileDtype}${expected}`,
    {
      path,
      cause: e,
      ...(e.expected === undefined ? {} : { expected: e.expected }),
      ...(e.actual === undefined ? {} : { actual: e.actual }),
    },
  );
}
