/**
 * Internal: a chunk appended to a stack, checked and encoded as rows of the stack before
 * anything is written. The shards' writers take the result as raw rows, so every check (row
 * shape, dtype, order) happens here, once, for the whole chunk.
 *
 * @module
 */

import type { Descr } from "./descr.ts";
import { NpyShapeError } from "./errors.ts";
import { encodeChunk, type EncodeNpyOptions, type NpyChunk } from "./npy.ts";
import type { Casting, Dtype, DtypeRegistry } from "./registry.ts";
import { type AppendTarget, reverseAxes, rowShapeError, shapeText, sizeOf } from "./_chunk.ts";
import { isTypedArray } from "./_typed.ts";
import { sameShape } from "./_stack_layout.ts";

/** The stack's dtype and row shape, once fixed, and what follows from them. */
export interface StackRowLayout {
  readonly dtype: Dtype;
  readonly rowShape: readonly number[];
  /** Bytes of one row. */
  readonly rowBytes: number;
}

/** The stack a chunk is encoded for. */
export interface StackChunkTarget {
  /** What errors name. */
  readonly named: AppendTarget;
  readonly registry: DtypeRegistry;
  readonly casting: Casting | undefined;
  readonly fortranOrder: boolean;
  /** The stack's dtype and row shape; `undefined` until known. */
  readonly layout: StackRowLayout | undefined;
  /** The declared dtype while the row shape is not known yet. */
  readonly declared: Dtype | undefined;
}

/** A chunk as rows of the stack: its bytes in the stack's order, and its descr and row shape. */
export interface StackRows {
  readonly bytes: Uint8Array;
  readonly rows: number;
  readonly descr: Descr;
  readonly rowShape: readonly number[];
}

/**
 * Checks and encodes `chunk` as rows of the stack `target` describes. A stack whose row shape
 * is not known yet takes the chunk's descr and row shape (a flat TypedArray: rows of one
 * element).
 * @throws {NpyShapeError} When the chunk is not whole rows of the stack's row shape.
 * @throws {NpyDtypeError} When it cannot be cast to the stack's dtype (the dtype code's error,
 *   which the caller names the stack in).
 */
export function encodeStackChunk(chunk: NpyChunk, target: StackChunkTarget): StackRows {
  const { layout, fortranOrder: fortran, named } = target;
  // Fast path: a TypedArray the dtype views as is, whole rows.
  if (layout !== undefined && layout.rowBytes > 0 && isTypedArray(chunk)) {
    const view = layout.dtype.view?.(chunk, { casting: target.casting ?? "same_kind" });
    if (view !== undefined && view.length % layout.rowBytes === 0) {
      const { descr } = layout.dtype;
      return { bytes: view, rows: view.length / layout.rowBytes, descr, rowShape: layout.rowShape };
    }
  }
  const descr = (layout?.dtype ?? target.declared)?.descr;
  const options: EncodeNpyOptions = { registry: target.registry };
  if (descr !== undefined) options.descr = descr;
  if (target.casting !== undefined) options.casting = target.casting;
  const { fields, flat, data } = encodeChunk(chunk, options, named.path);
  const shape: readonly number[] = fields.shape;
  const count = shape[0] ?? 0; // flat: one dimension, the element count
  if (flat && layout === undefined) {
    return { bytes: data, rows: count, descr: fields.descr, rowShape: [] };
  }
  if (flat && layout !== undefined) {
    const { rowShape } = layout;
    const rowElems = sizeOf(rowShape);
    if (rowElems === 0 ? count !== 0 : count % rowElems !== 0) {
      throw new NpyShapeError(
        `Cannot append to ${named.where}: a flat chunk of ${count} elements is not whole rows ` +
          `of shape ${shapeText(rowShape)} (${rowElems} elements each)`,
        { path: named.path, expected: rowShape, actual: [count] },
      );
    }
    const rows = rowElems === 0 ? 0 : count / rowElems;
    return { bytes: data, rows, descr: fields.descr, rowShape };
  }
  if (shape.length === 0) {
    throw new NpyShapeError(
      `Cannot append to ${named.where}: a single value (a 0-d array) has no rows; pass an ` +
        `array of rows`,
      { path: named.path, actual: [] },
    );
  }
  const given = fortran ? shape.slice(0, -1) : shape.slice(1);
  const rows = shape.at(fortran ? -1 : 0) ?? 0; // ?? 0: never taken, shape has a dimension
  if (layout !== undefined && !sameShape(given, layout.rowShape)) {
    throw rowShapeError(named, chunk, shape, layout.rowShape, fortran);
  }
  let bytes = data;
  if (shape.length >= 2 && fields.fortranOrder !== fortran) {
    const itemsize = target.registry.resolve(fields.descr).itemsize;
    bytes = reverseAxes(bytes, fields.fortranOrder ? [...shape].reverse() : shape, itemsize);
  }
  return { bytes, rows, descr: fields.descr, rowShape: layout?.rowShape ?? given };
}
