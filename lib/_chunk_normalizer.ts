/**
 * Internal: the one path from any chunk (a TypedArray, nested arrays, records, an
 * ndarray-like, raw bytes, a lone value) to bytes, in two stages.
 * - {@link ChunkEncoder}, the element stage: the chunk taken apart, its dtype found (the
 *   target's, else its own or one inferred from its values), its elements counted and made
 *   into the target dtype's bytes, cast by the registry's plugins under the casting rule.
 *   `encodeNpy` uses it as it is (the chunk's own shape and order).
 * - {@link ChunkNormalizer}, the row stage: those elements fitted to a target row shape and
 *   order, or fixing them when the chunk is the first: `(chunk, layout) → { dtype,
 *   rowShape, rows, bytes }`. The file writer (its slow path; the fast path is
 *   `Layout.wholeRows`) and the stack writer use it.
 * Nothing is written and nothing changes; the errors are worded for the caller's
 * {@link ChunkTarget}.
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import { NpyDtypeError, NpyShapeError } from "./errors.ts";
import { rowCountOf, rowShapeOf, sameShape, shapeWithRows } from "./header.ts";
import type { Casting, Dtype, DtypeRegistry, EncodeOptions } from "./registry.ts";
import { descrText } from "./registry.ts";
import {
  appendError,
  type AppendTarget,
  chunkBytes,
  type ChunkParts,
  type ChunkTarget,
  flattenNested,
  inferDescr,
  reverseAxes,
  rowShapeError,
  shapeText,
  sizeOf,
  splitChunk,
} from "./_chunk.ts";

/**
 * `registry.resolve(descr)`, its error worded for the user's file: `Cannot <action>: the
 * registry has no dtype for <whose> '<descr>'`, the registry's own reason as `cause`.
 * @param whose What the descr is: `options.descr`, `the file's descr`.
 */
export function resolveDescr(
  registry: DtypeRegistry,
  descr: Descr,
  target: ChunkTarget,
  whose: string,
): Dtype {
  try {
    return registry.resolve(descr);
  } catch (e) {
    if (!(e instanceof NpyDtypeError)) throw e;
    const { action, path } = target;
    throw new NpyDtypeError(
      `Cannot ${action}: the registry has no dtype for ${whose} ${descrText(descr)}`,
      { ...(path === undefined ? {} : { path }), descr, cause: e },
    );
  }
}

/** A chunk's elements, ready to become the bytes of its dtype. */
export interface ChunkElements {
  /** The dtype the bytes are made in: the target's, or the one the chunk tells. */
  readonly dtype: Dtype;
  /** The chunk's own dtype when its values are cast to `dtype` (else `undefined`). */
  readonly source: Dtype | undefined;
  /** Flat values in the chunk's order, or raw bytes (`raw`). */
  readonly values: unknown;
  /** `values` are raw bytes of `source ?? dtype`. */
  readonly raw: boolean;
  /** The number of elements. */
  readonly count: number;
  /** The chunk's own shape; `[count]` for a flat chunk; `[]` for a lone value. */
  readonly shape: readonly number[];
  /** Whether `values` are in column-major order. */
  readonly fortran: boolean;
  /** A bare TypedArray or DataView: its shape is known only from a row shape. */
  readonly flat: boolean;
}

/** The element stage; see the module doc. One per target, registry and casting rule. */
export class ChunkEncoder {
  readonly #target: ChunkTarget;
  readonly #registry: DtypeRegistry;
  readonly #encode: EncodeOptions & { casting: Casting };
  // The codec of chunks in the last own descr seen: streams of raw chunks repeat one descr,
  // and resolving a record descr builds a new codec each time.
  #own: { descr: Descr; dtype: Dtype; source: Dtype | undefined } | undefined;
  // What elements() returns, filled anew by each call: an append allocates no result.
  #elements: { -readonly [K in keyof ChunkElements]: ChunkElements[K] } | undefined;

  /**
   * @param target What errors name.
   * @param registry Where the codecs (and casts) come from.
   * @param casting NumPy's casting rule for values of another dtype.
   */
  constructor(target: ChunkTarget, registry: DtypeRegistry, casting: Casting) {
    this.#target = target;
    this.#registry = registry;
    this.#encode = { casting };
  }

  /**
   * The elements of `chunk` as elements of `dtype`, or of the dtype the chunk tells when
   * `dtype` is `undefined`. The chunk code's errors are worded for the target; those of
   * the dtype code (counting values) are left as they are. The result is valid until the
   * next call (it is reused).
   * @throws {NpyDtypeError} When no dtype is given and the chunk tells none the registry has.
   * @throws {NpyShapeError} For ragged nesting, a bad ndarray-like, or raw bytes that are
   *   not whole elements.
   */
  elements(chunk: unknown, dtype: Dtype | undefined): ChunkElements {
    const target = this.#target;
    const parts = splitChunk(chunk, target);
    const to = dtype ?? this.#chunkDtype(chunk, parts);
    if (parts === undefined) {
      const { shape, values } = flattenNested(chunk, to.isElement?.bind(to), target);
      return this.#fill(to, undefined, values, false, sizeOf(shape), shape, false, false);
    }
    // A chunk with a descr of its own holds elements of that dtype, cast to `to`.
    const source = parts.own && parts.descr !== undefined
      ? this.#source(parts.descr, to)
      : undefined;
    const from = source ?? to;
    const { values, raw, flat } = parts;
    let count: number;
    if (raw) {
      const length = (values as Uint8Array).length;
      if (from.itemsize === 0 ? length !== 0 : length % from.itemsize !== 0) {
        throw new NpyShapeError(
          `Cannot ${target.action}: ${length} raw bytes are not whole elements of ` +
            `${descrText(from.descr)} (${from.itemsize} bytes each)`,
          { ...(target.path === undefined ? {} : { path: target.path }), actual: parts.shape },
        );
      }
      count = from.itemsize === 0 ? 0 : length / from.itemsize;
    } else {
      count = from.count(values, this.#encode);
    }
    const shape = flat ? [count] : parts.shape;
    return this.#fill(to, source, values, raw, count, shape, parts.fortran, flat);
  }

  #fill(
    dtype: Dtype,
    source: Dtype | undefined,
    values: unknown,
    raw: boolean,
    count: number,
    shape: readonly number[],
    fortran: boolean,
    flat: boolean,
  ): ChunkElements {
    const e = this.#elements;
    if (e === undefined) {
      return this.#elements = { dtype, source, values, raw, count, shape, fortran, flat };
    }
    e.dtype = dtype;
    e.source = source;
    e.values = values;
    e.raw = raw;
    e.count = count;
    e.shape = shape;
    e.fortran = fortran;
    e.flat = flat;
    return e;
  }

  /**
   * The bytes of `elements` in their dtype, in their own order (possibly a view of the
   * caller's memory); values of another dtype are cast by the registry.
   * @throws {NpyDtypeError} The dtype code's, when a value cannot be encoded or cast.
   */
  bytes(elements: ChunkElements): Uint8Array {
    const { dtype, source, values, raw, count } = elements;
    return chunkBytes(dtype, source, values, raw, count, this.#encode, this.#registry);
  }

  /** The dtype a chunk tells: its own descr, or one inferred from its values. */
  #chunkDtype(chunk: unknown, parts: ChunkParts | undefined): Dtype {
    const target = this.#target;
    const descr = parts?.descr;
    if (descr !== undefined) {
      return resolveDescr(this.#registry, descr, target, "the chunk's descr");
    }
    if (parts !== undefined) {
      // Raw bytes, or an ndarray-like whose data is a JS array: no TypedArray type to go by.
      const what = parts.raw ? "raw bytes do not" : "an ndarray-like's JS array data does not";
      throw new NpyDtypeError(
        `Cannot ${target.action}: ${what} tell the dtype; pass options.descr or an ` +
          `ndarray-like with a descr`,
        target.path === undefined ? {} : { path: target.path },
      );
    }
    const inferred = inferDescr(chunk, target);
    const whose = "the descr inferred from the chunk's values";
    return resolveDescr(this.#registry, inferred, target, whose);
  }

  /** The chunk's own dtype for `descr`, `undefined` when it is `dtype`'s. */
  #source(descr: Descr, dtype: Dtype): Dtype | undefined {
    const own = this.#own;
    if (own !== undefined && own.descr === descr && own.dtype === dtype) return own.source;
    const source = descrEquals(descr, dtype.descr)
      ? undefined
      : resolveDescr(this.#registry, descr, this.#target, "the chunk's descr");
    const same = source === undefined || descrEquals(source.descr, dtype.descr);
    this.#own = { descr, dtype, source: same ? undefined : source };
    return this.#own.source;
  }
}

/** What chunks must fit: the dtype and row shape where known, and the order. */
export interface RowLayout {
  /** The dtype; `undefined`: the first chunk decides. */
  readonly dtype: Dtype | undefined;
  /** The row shape; `undefined`: the first chunk decides. */
  readonly rowShape: readonly number[] | undefined;
  /** Whether rows are column blocks (Fortran order). */
  readonly fortran: boolean;
}

/** A chunk as rows of the layout: its bytes, and the dtype and row shape they have. */
export interface NormalizedChunk {
  /** The dtype of the bytes: the layout's, or the one the chunk fixed. */
  readonly dtype: Dtype;
  /** The row shape: the layout's, or the one the chunk fixed. */
  readonly rowShape: readonly number[];
  /** Rows in the chunk. */
  readonly rows: number;
  /** The rows' bytes in the layout's order (possibly a view of the caller's memory). */
  readonly bytes: Uint8Array;
}

/** The row stage, for a file or a stack appended to; see the module doc. */
export class ChunkNormalizer {
  readonly #target: AppendTarget;
  readonly #casting: Casting;
  readonly #encoder: ChunkEncoder;

  /**
   * @param target What errors name: the file or the stack.
   * @param registry Where the codecs (and casts) come from.
   * @param casting NumPy's casting rule for values of another dtype.
   */
  constructor(target: AppendTarget, registry: DtypeRegistry, casting: Casting) {
    this.#target = target;
    this.#casting = casting;
    this.#encoder = new ChunkEncoder(target, registry, casting);
  }

  /**
   * The rows of `chunk` for `layout`.
   * @throws {NpyShapeError} When the chunk is not rows of the layout's row shape.
   * @throws {NpyDtypeError} When its dtype is unknown or cannot be cast to the layout's.
   */
  normalize(chunk: unknown, layout: RowLayout): NormalizedChunk {
    const target = this.#target;
    let elements: ChunkElements;
    try {
      elements = this.#encoder.elements(chunk, layout.dtype);
    } catch (e) {
      throw appendError(e, target, layout.dtype, this.#casting);
    }
    const { dtype, count, flat } = elements;
    let shape = elements.shape;
    const fortran = layout.fortran;
    if (!flat && count !== sizeOf(shape)) {
      throw new NpyShapeError(
        `Cannot ${target.action}: the chunk's data holds ${count} elements but its shape ` +
          `${shapeText(shape)} needs ${sizeOf(shape)}`,
        { path: target.path, actual: [...shape] },
      );
    }
    let rowShape = layout.rowShape;
    if (shape.length === 0) {
      // A lone value (a number, a record, an ndarray-like of shape ()): one row, when the
      // rows are single values. A file never starts 0-d: it could not grow.
      if (rowShape !== undefined && rowShape.length > 0) {
        const dims = fortran ? [...rowShape, "k"] : ["k", ...rowShape];
        throw new NpyShapeError(
          `Cannot ${target.action}: the chunk is a single value (shape ()), but the ` +
            `${target.noun}'s rows have shape ${shapeText(rowShape)}: expected a chunk of ` +
            `shape (${dims.join(", ")})`,
          { path: target.path, expected: shapeWithRows(rowShape, 0, fortran), actual: [] },
        );
      }
      shape = [1];
    }
    let rows: number;
    if (rowShape === undefined) {
      rowShape = rowShapeOf(shape, fortran);
      rows = rowCountOf(shape, fortran) ?? 1; // (?? 1: never taken, shape is not 0-d here)
    } else if (flat) {
      const rowElems = sizeOf(rowShape);
      if (rowElems === 0 || count % rowElems !== 0) {
        throw new NpyShapeError(
          `Cannot ${target.action}: a flat chunk of ${count} elements is not whole rows of ` +
            `shape ${shapeText(rowShape)} (${rowElems} elements each)`,
          { path: target.path, expected: [...rowShape], actual: [...shape] },
        );
      }
      rows = count / rowElems;
      shape = shapeWithRows(rowShape, rows, fortran);
    } else {
      if (
        shape.length !== rowShape.length + 1 || !sameShape(rowShapeOf(shape, fortran), rowShape)
      ) {
        throw rowShapeError(target, chunk, shape, rowShape, fortran);
      }
      rows = rowCountOf(shape, fortran) ?? 1; // (?? 1: never taken, shape has a row axis)
    }
    let bytes: Uint8Array;
    try {
      bytes = this.#encoder.bytes(elements);
    } catch (e) {
      throw appendError(e, target, dtype, this.#casting);
    }
    if (!flat && shape.length >= 2 && elements.fortran !== fortran) {
      const cOrder = elements.fortran ? [...shape].reverse() : shape;
      bytes = reverseAxes(bytes, cOrder, dtype.itemsize);
    }
    return { dtype, rowShape, rows, bytes };
  }
}
