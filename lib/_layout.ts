/**
 * {@link Layout}: what an appendable file holds, fixed once known (at open for an existing
 * file or a declared one, else by the first chunk): dtype, row shape and size, order, and
 * the header's length and in-place rewriter. It also views chunks that already have this
 * layout as bytes, with no cast and no copy: the writer's fast path. Internal.
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import { NpyHeaderSpaceError, NpyShapeError, quote } from "./errors.ts";
import {
  encodeHeader,
  hasGrowthRoom,
  type HeaderFields,
  headerRewriter,
  type NpyVersion,
  rowShapeOf,
  shapeWithRows,
} from "./header.ts";
import type { Dtype, EncodeOptions } from "./registry.ts";
import type { NpyArrayLike } from "./npy.ts";
import type { NumberShapedHeader } from "./_header_io.ts";
import { isRawBytes, shapeText, sizeOf } from "./_chunk.ts";
import { isTypedArray } from "./_typed.ts";

/** The header bytes for a row count (lib/header.ts). */
type HeaderRewriter = ReturnType<typeof headerRewriter>;

/** Header fields with a number shape. */
type Fields = HeaderFields & { readonly shape: number[] };

/** The layout of an appendable file; see the module doc. */
export class Layout {
  /** The codec of the file's elements. */
  readonly dtype: Dtype;
  /** The descr the header writes (an existing file's own, as it was written). */
  readonly descr: Descr;
  /** The shape of a row: the shape without its growth axis. */
  readonly rowShape: readonly number[];
  /** Bytes in a row (0 for rows with no elements or elements with no bytes). */
  readonly rowBytes: number;
  /** Whether the file is in Fortran order: it grows along its last axis. */
  readonly fortran: boolean;
  /** Bytes before the data: the header, fixed for the life of the file. */
  readonly headerLength: number;
  /** The header bytes for a row count, of `headerLength` bytes. */
  readonly rewrite: HeaderRewriter;
  readonly #path: string;
  readonly #encode: EncodeOptions;
  #viewable: unknown = undefined; // a TypedArray constructor the dtype views as it is
  #sameDescr: unknown = undefined; // an ndarray-like descr value found equal to the file's

  private constructor(
    dtype: Dtype,
    descr: Descr,
    rowShape: readonly number[],
    fortran: boolean,
    header: { readonly version: NpyVersion; readonly length: number },
    path: string,
    encode: EncodeOptions,
  ) {
    this.dtype = dtype;
    this.descr = descr;
    this.rowShape = rowShape;
    this.rowBytes = sizeOf(rowShape) * dtype.itemsize;
    this.fortran = fortran;
    this.headerLength = header.length;
    this.rewrite = headerRewriter(this.fields(0), {
      version: header.version,
      totalLength: header.length,
      path,
    });
    this.#path = path;
    this.#encode = encode;
  }

  /** The layout of a new file: its header is NumPy's for 0 rows, with growth room. */
  static create(
    dtype: Dtype,
    rowShape: readonly number[],
    fortran: boolean,
    path: string,
    encode: EncodeOptions,
  ): Layout {
    // The header NumPy would write (with growth room) fixes the length.
    const fields = {
      descr: dtype.descr,
      fortranOrder: fortran,
      shape: shapeWithRows(rowShape, 0, fortran),
    };
    const bytes = encodeHeader(fields, { path });
    const header = { version: bytes[6] as NpyVersion, length: bytes.length };
    return new Layout(dtype, dtype.descr, rowShape, fortran, header, path, encode);
  }

  /**
   * The layout of an existing file, whose header is `header` and dtype `dtype`.
   * @throws {NpyShapeError} When the file holds a 0-d array (no axis to grow along).
   * @throws {NpyHeaderSpaceError} When its header has no room to grow.
   */
  static ofFile(
    header: NumberShapedHeader,
    dtype: Dtype,
    path: string,
    encode: EncodeOptions,
  ): Layout {
    const where = quote(path);
    if (header.shape.length === 0) {
      throw new NpyShapeError(
        `Cannot open ${where} for appending: it holds a 0-d array (a single value), which ` +
          `has no axis to grow along`,
        { path, actual: [] },
      );
    }
    // Fail now, not hours later at the append that adds a digit, when the header cannot
    // be rewritten in place for every row count (NumPy < 1.24 and other tools write such
    // headers). The `npy append` command accepts the same files.
    if (!hasGrowthRoom(header)) {
      const { descr, fortranOrder, shape } = header;
      throw new NpyHeaderSpaceError(
        `Cannot open ${where} for appending: its header has no room to grow (it was ` +
          `written by NumPy < 1.24 or another tool); run ensureAppendable() or ` +
          `npy ensure-appendable ${where} first`,
        {
          path,
          needed: encodeHeader({ descr, fortranOrder, shape }, { path }).length,
          available: header.headerLength,
        },
      );
    }
    return new Layout(
      dtype,
      header.descr,
      rowShapeOf(header.shape, header.fortranOrder),
      header.fortranOrder,
      { version: header.version, length: header.headerLength },
      path,
      encode,
    );
  }

  /** The full shape with `rows` rows. */
  shape(rows: number): number[] {
    return shapeWithRows(this.rowShape, rows, this.fortran);
  }

  /** The header fields with `rows` rows. */
  fields(rows: number): Fields {
    return { descr: this.descr, fortranOrder: this.fortran, shape: this.shape(rows) };
  }

  /** Throws {@link NpyHeaderSpaceError} (before any write) when `rows` do not fit. */
  checkRoom(rows: number): void {
    if (rows <= this.rewrite.fastRows) return;
    try {
      this.rewrite(rows);
    } catch (e) {
      if (!(e instanceof NpyHeaderSpaceError)) throw e;
      throw new NpyHeaderSpaceError(
        `Cannot append to ${quote(this.#path)}: its header has no room for the shape ` +
          `${shapeText(this.shape(rows))} (the file was written without growth room; ` +
          `ensureAppendable() rewrites it with room to grow)`,
        { path: this.#path, needed: e.needed, available: e.available, cause: e },
      );
    }
  }

  /**
   * The bytes of `chunk` when they are whole rows of this layout as they are: a TypedArray
   * the dtype views with no cast, or an ndarray-like of such data (or raw bytes of the
   * file's descr) in the file's order, with no strides, whose shape is whole rows.
   * `undefined` otherwise: the slow path decides, and words any error.
   */
  wholeRows(chunk: unknown): Uint8Array | undefined {
    const rowBytes = this.rowBytes;
    if (rowBytes === 0) return undefined;
    if (isTypedArray(chunk)) {
      const view = this.#view(chunk);
      return view !== undefined && view.length % rowBytes === 0 ? view : undefined;
    }
    if (typeof chunk !== "object" || chunk === null || !("data" in chunk)) return undefined;
    const { data, shape, descr, fortranOrder } = chunk as NpyArrayLike;
    const { stride, offset } = chunk as { stride?: unknown; offset?: unknown }; // scijs views
    if (stride !== undefined || offset !== undefined) return undefined;
    if (!Array.isArray(shape) || shape.length !== this.rowShape.length + 1) return undefined;
    if ((fortranOrder ?? false) !== this.fortran || !ArrayBuffer.isView(data)) return undefined;
    const rows = this.#rowsOf(shape);
    if (rows === undefined) return undefined;
    if (descr !== undefined && descr !== this.#sameDescr) {
      if (!descrEquals(descr, this.dtype.descr)) return undefined;
      this.#sameDescr = descr; // streams repeat one descr value: compare it once
    }
    // Uint8Array or DataView data with the file's descr are its raw bytes (lib/_chunk.ts).
    const view = descr !== undefined && isRawBytes(data, descr)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : this.#view(data);
    return view !== undefined && view.length === rows * rowBytes ? view : undefined;
  }

  /** The bytes of `data` when they are the file's as they are (no cast, no copy). */
  #view(data: ArrayBufferView): Uint8Array | undefined {
    // The dtype viewed this TypedArray type before: view it without asking again.
    if (data.constructor === this.#viewable) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    const view = this.dtype.view?.(data, this.#encode);
    if (view !== undefined) this.#viewable = data.constructor;
    return view;
  }

  /** The rows of an ndarray-like's `shape` when the rest of it is the row shape. */
  #rowsOf(shape: readonly number[]): number | undefined {
    const rowShape = this.rowShape;
    const first = this.fortran ? 0 : 1;
    for (let i = 0; i < rowShape.length; i++) if (shape[first + i] !== rowShape[i]) return;
    const rows = shape[this.fortran ? rowShape.length : 0];
    return rows !== undefined && Number.isSafeInteger(rows) && rows >= 0 ? rows : undefined;
  }
}
