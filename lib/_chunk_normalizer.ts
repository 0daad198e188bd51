/**
 * {@link ChunkNormalizer}: any chunk the writer takes (a TypedArray, nested arrays, records,
 * an ndarray-like, raw bytes, a lone value) checked against a target dtype and row shape,
 * and turned into the bytes of whole rows in the target's order, with what it fixes when it
 * is the first chunk: `(chunk, target) → { dtype, rowShape, rows, bytes }`. Nothing is
 * written and nothing changes; errors name the target. Internal: the slow path of
 * `NpyAppendArray`'s appends (its fast path is `Layout.wholeRows`).
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import { NpyDtypeError, NpyShapeError } from "./errors.ts";
import type { Dtype, DtypeRegistry, EncodeOptions } from "./registry.ts";
import { rowCountOf, rowShapeOf, sameShape, withRows } from "./_layout.ts";
import {
  appendError,
  type AppendTarget,
  chunkBytes,
  type ChunkParts,
  flattenNested,
  inferDescr,
  reverseAxes,
  rowShapeError,
  shapeText,
  sizeOf,
  splitChunk,
} from "./_chunk.ts";
import { descrText } from "./registry.ts";

/** What chunks must fit: the file's dtype and row shape where known, and its order. */
export interface ChunkTarget {
  /** The dtype; `undefined`: the first chunk decides. */
  readonly dtype: Dtype | undefined;
  /** The row shape; `undefined`: the first chunk decides. */
  readonly rowShape: readonly number[] | undefined;
  /** Whether rows are column blocks (Fortran order). */
  readonly fortran: boolean;
}

/** A chunk as rows of the target: its bytes, and the dtype and row shape they have. */
export interface NormalizedChunk {
  /** The dtype of the bytes: the target's, or the one the chunk fixed. */
  readonly dtype: Dtype;
  /** The row shape: the target's, or the one the chunk fixed. */
  readonly rowShape: readonly number[];
  /** Rows in the chunk. */
  readonly rows: number;
  /** The rows' bytes in the target's order (possibly a view of the caller's memory). */
  readonly bytes: Uint8Array;
}

/**
 * `registry.resolve(descr)`, its error worded for the user's file: `Cannot <action>: the
 * registry has no dtype for <whose> '<descr>'`, the registry's own reason as `cause`.
 * @param whose What the descr is: `options.descr`, `the file's descr`.
 */
export function resolveDescr(
  registry: DtypeRegistry,
  descr: Descr,
  action: string,
  whose: string,
  path: string,
): Dtype {
  try {
    return registry.resolve(descr);
  } catch (e) {
    if (!(e instanceof NpyDtypeError)) throw e;
    throw new NpyDtypeError(
      `Cannot ${action}: the registry has no dtype for ${whose} ${descrText(descr)}`,
      { path, descr, cause: e },
    );
  }
}

/** Normalises chunks for one target; see the module doc. */
export class ChunkNormalizer {
  readonly #named: AppendTarget;
  readonly #registry: DtypeRegistry;
  readonly #encode: EncodeOptions & { casting: NonNullable<EncodeOptions["casting"]> };
  // The codec of raw-byte chunks in the last descr seen: streams of raw chunks repeat one
  // descr, and resolving a record descr builds a new codec each time.
  #raw: { descr: Descr; source: Dtype; same: boolean } | undefined;

  /**
   * @param named What errors name: the file or the stack.
   * @param registry Where the codecs come from.
   * @param encode The casting rule.
   */
  constructor(
    named: AppendTarget,
    registry: DtypeRegistry,
    encode: EncodeOptions & { casting: NonNullable<EncodeOptions["casting"]> },
  ) {
    this.#named = named;
    this.#registry = registry;
    this.#encode = encode;
  }

  /**
   * The rows of `chunk` for `target`.
   * @throws {NpyShapeError} When the chunk is not rows of the target's row shape.
   * @throws {NpyDtypeError} When its dtype is unknown or cannot be cast to the target's.
   */
  normalize(chunk: unknown, target: ChunkTarget): NormalizedChunk {
    const { where, path } = this.#named;
    const { casting } = this.#encode;
    let parts: ChunkParts | undefined;
    try {
      parts = splitChunk(chunk, where);
    } catch (e) {
      throw appendError(e, this.#named);
    }
    // 1. The dtype: the target's, or one the chunk tells.
    const dtype = target.dtype ?? this.#chunkDtype(chunk, parts);
    // 2. The chunk's shape and its values, still in the chunk's order.
    let shape: number[];
    let values: unknown;
    let raw = false;
    let castFrom: Dtype | undefined;
    let flat = false;
    let chunkFortran = false;
    let count: number;
    try {
      if (parts === undefined) {
        const nested = flattenNested(chunk, dtype.isElement?.bind(dtype), where);
        shape = nested.shape;
        values = nested.values;
        count = sizeOf(shape);
      } else {
        // A chunk with a descr of its own holds elements of that dtype, cast to the file's.
        const { source, same } = this.#rawSource(parts.own ? parts.descr : undefined, dtype);
        if (!same) castFrom = source;
        values = parts.values;
        raw = parts.raw;
        if (raw) {
          const elems = values as Uint8Array;
          if (elems.length % source.itemsize !== 0) {
            throw new NpyShapeError(
              `Cannot append to ${where}: ${elems.length} raw bytes are not whole elements ` +
                `of ${descrText(source.descr)} (${source.itemsize} bytes each)`,
              { actual: parts.shape },
            );
          }
          count = source.itemsize === 0 ? 0 : elems.length / source.itemsize;
        } else {
          count = source.count(values, this.#encode);
        }
        flat = parts.flat;
        shape = flat ? [count] : parts.shape;
        chunkFortran = parts.fortran;
      }
      if (!flat && count !== sizeOf(shape)) {
        throw new NpyShapeError(
          `Cannot append to ${where}: the chunk's data holds ${count} elements but its ` +
            `shape ${shapeText(shape)} needs ${sizeOf(shape)}`,
          { actual: shape },
        );
      }
    } catch (e) {
      throw appendError(e, this.#named, dtype, casting);
    }
    // 3. The rows: checked against the target's row shape, or fixing it.
    let rowShape = target.rowShape;
    const fortran = target.fortran;
    if (shape.length === 0) {
      // A lone value (a number, a record, an ndarray-like of shape ()): one row, when the
      // file's rows are single values. A file never starts 0-d: it could not grow.
      if (rowShape !== undefined && rowShape.length > 0) {
        const dims = fortran ? [...rowShape, "k"] : ["k", ...rowShape];
        throw new NpyShapeError(
          `Cannot append to ${where}: the chunk is a single value (shape ()), but the ` +
            `file's rows have shape ${shapeText(rowShape)}: expected a chunk of shape ` +
            `(${dims.join(", ")})`,
          { path, expected: withRows(rowShape, fortran, 0), actual: [] },
        );
      }
      shape = [1];
    }
    let rows: number;
    if (rowShape === undefined) {
      rowShape = rowShapeOf(shape, fortran);
      rows = rowCountOf(shape, fortran);
    } else if (flat) {
      const rowElems = sizeOf(rowShape);
      if (rowElems === 0 || count % rowElems !== 0) {
        throw new NpyShapeError(
          `Cannot append to ${where}: a flat chunk of ${count} elements is not whole rows ` +
            `of shape ${shapeText(rowShape)} (${rowElems} elements each)`,
          { path, expected: rowShape, actual: shape },
        );
      }
      rows = count / rowElems;
      shape = withRows(rowShape, fortran, rows);
    } else {
      if (
        shape.length !== rowShape.length + 1 || !sameShape(rowShapeOf(shape, fortran), rowShape)
      ) {
        throw rowShapeError(this.#named, chunk, shape, rowShape, fortran);
      }
      rows = rowCountOf(shape, fortran);
    }
    // 4. The bytes, in the target's order.
    let bytes: Uint8Array;
    try {
      bytes = chunkBytes(dtype, castFrom, values, raw, count, this.#encode);
    } catch (e) {
      throw appendError(e, this.#named, dtype, casting);
    }
    if (!flat && shape.length >= 2 && chunkFortran !== fortran) {
      bytes = reverseAxes(bytes, chunkFortran ? [...shape].reverse() : shape, dtype.itemsize);
    }
    return { dtype, rowShape, rows, bytes };
  }

  /** The dtype a first chunk tells: its own descr, or one inferred from its values. */
  #chunkDtype(chunk: unknown, parts: ChunkParts | undefined): Dtype {
    const { where, path } = this.#named;
    let descr = parts?.descr;
    if (descr === undefined && parts?.raw) {
      throw new NpyDtypeError(
        `Cannot append to ${where}: raw bytes do not tell the dtype; pass options.descr ` +
          `or an ndarray-like with a descr`,
        { path },
      );
    }
    if (descr === undefined) {
      try {
        descr = inferDescr(chunk, where);
      } catch (e) {
        throw appendError(e, this.#named);
      }
      return this.#resolve(descr, "the descr inferred from the chunk's values");
    }
    return this.#resolve(descr, "the chunk's descr");
  }

  #resolve(descr: Descr, whose: string): Dtype {
    return resolveDescr(
      this.#registry,
      descr,
      `append to ${this.#named.where}`,
      whose,
      this.#named.path,
    );
  }

  /**
   * The codec of raw-byte chunks in `descr`, and whether their bytes are already the
   * file's (`dtype`'s).
   */
  #rawSource(descr: Descr | undefined, dtype: Dtype): { source: Dtype; same: boolean } {
    if (descr === undefined) return { source: dtype, same: true };
    if (this.#raw === undefined || this.#raw.descr !== descr) {
      const source = descrEquals(descr, dtype.descr)
        ? dtype
        : this.#resolve(descr, "the chunk's descr");
      this.#raw = { descr, source, same: descrEquals(source.descr, dtype.descr) };
    }
    return this.#raw;
  }
}
