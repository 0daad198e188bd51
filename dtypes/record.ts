/**
 * The record (structured) dtype plugin: a list of fields, each with its own dtype resolved
 * through the registry (so user plugins work inside records), nested records, subarray
 * fields, padding fields and big-endian fields.
 *
 * @module
 */

import {
  buildField,
  checkRecordForm,
  type Descr,
  type DescrField,
  fieldLayout,
  itemsizeOf,
} from "../lib/descr.ts";
import { NpyDtypeError, NpyShapeError } from "../lib/errors.ts";
import type {
  DecodeOptions,
  Dtype,
  DtypePlugin,
  DtypeRegistry,
  EncodeOptions,
} from "../lib/registry.ts";
import { checkTarget, checkWhole, gather, quoteDescr, scatter } from "./_common.ts";
import { describeValue } from "../lib/_typed.ts";
import { castBytes } from "./_cast.ts";

/**
 * One record as a plain object: field name → value (a subarray field gives an array).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type RecordObject } from "@npy/append-array";
 *
 * const rec = defaultRegistry.resolve([["name", "<U8"], ["score", "<f8"]]);
 * const row: RecordObject = { name: "Ada", score: 9.5 };
 * const bytes = new Uint8Array(rec.itemsize);
 * rec.encodeInto([row], bytes);
 * assert.deepEqual(rec.decode(bytes), [row]);
 * ```
 */
export type RecordObject = Record<string, unknown>;

/**
 * Records as struct-of-arrays: field name → the field's decoded column (for a subarray field
 * of shape `s`, the column is flat: `n × prod(s)` values, row-major).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type RecordColumns } from "@npy/append-array";
 *
 * const rec = defaultRegistry.resolve([["t", "<i8"], ["xy", "<f4", [2]]]);
 * const columns: RecordColumns = { t: BigInt64Array.of(1n, 2n), xy: Float32Array.of(0, 1, 2, 3) };
 * const bytes = new Uint8Array(2 * rec.itemsize);
 * rec.encodeInto(columns, bytes);
 * assert.deepEqual(rec.decode(bytes, { layout: "columns" }), columns);
 * ```
 */
export type RecordColumns = Record<string, unknown>;

/**
 * One field of a record dtype, as the codec sees it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type RecordDtype, type RecordField } from "@npy/append-array";
 *
 * const rec = defaultRegistry.resolve([["id", "<u2"], [["Position", "pos"], "<f4", [3]]]);
 * const field: RecordField = (rec as RecordDtype).fields[1]!;
 * assert.deepEqual([field.name, field.title, field.offset], ["pos", "Position", 2]);
 * assert.deepEqual(field.shape, [3]);
 * assert.equal(field.dtype.descr, "<f4");
 * ```
 */
export interface RecordField {
  /** The field's name (the key in objects and columns). */
  readonly name: string;
  /** NumPy's optional title, when the descr gives a `(title, name)` pair. */
  readonly title: string | undefined;
  /** Byte offset of the field in the record. */
  readonly offset: number;
  /** The subarray shape; `[]` for a scalar field. */
  readonly shape: readonly number[];
  /** The codec of one element of the field. */
  readonly dtype: Dtype;
}

/**
 * The codec the record plugin returns for a structured descr.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type RecordDtype } from "@npy/append-array";
 *
 * const rec = defaultRegistry.resolve([["id", "<u4"], ["ok", "?"]]) as RecordDtype;
 * assert.deepEqual(rec.descr, [["id", "<u4"], ["ok", "|b1"]]); // canonical type strings
 * assert.equal(rec.itemsize, 5);
 * assert.deepEqual(rec.fields.map((f) => f.name), ["id", "ok"]);
 * ```
 */
export interface RecordDtype extends Dtype<RecordObject[] | RecordColumns> {
  /** The canonical descr: a list of fields with canonical type strings. */
  readonly descr: readonly DescrField[];
  /** The named (non-padding) fields, in order. */
  readonly fields: readonly RecordField[];
  /**
   * Encodes an array of objects, or an object of columns (`{ t: BigInt64Array, x: [...] }`).
   * Padding bytes are written as zeros.
   */
  encodeInto(
    values: readonly RecordObject[] | RecordColumns,
    target: Uint8Array,
    options?: EncodeOptions,
  ): number;
  /** Decodes to objects, or to columns with `{ layout: "columns" }`. */
  decode(bytes: Uint8Array, options?: DecodeOptions): RecordObject[] | RecordColumns;
}

interface FieldPlan extends RecordField {
  /** Elements per record: product of the shape. */
  readonly per: number;
  /** Bytes per record. */
  readonly bytes: number;
}

/**
 * Whether a field is padding, as NumPy's `descr_to_dtype` decides: named `''` and of a void
 * type (a `V<n>` type string, or any subarray). A `''` field of another type, such as
 * `('', '<i4')`, is a real field named `''`.
 */
function isPadding(name: DescrField[0], sub: Descr, shape: readonly number[]): boolean {
  if (name !== "") return false;
  if (shape.length > 0) return true;
  return typeof sub === "string" && /^[|<>=]?V\d*$/.test(sub);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
    !(v instanceof Date);
}

class RecordCodec implements RecordDtype {
  readonly descr: readonly DescrField[];
  readonly itemsize: number;
  readonly fields: readonly FieldPlan[];

  constructor(descr: readonly DescrField[], registry: DtypeRegistry) {
    // Malformed values, repeated names or titles: NpyDtypeError before anything else.
    checkRecordForm(descr);
    const canonical: DescrField[] = [];
    const fields: FieldPlan[] = [];
    let offset = 0;
    for (const field of descr) {
      const [rawName, sub, rawShape] = field;
      // A subarray of subarrays (`('c', ('<f8', (5,)), (2,))`) is one field of the element
      // dtype under all the shapes, outermost first: 2 × 5 doubles, row-major, as NumPy
      // indexes it (`a['c'].shape == (n, 2, 5)`).
      const { base, shapes } = fieldLayout(sub, rawShape);
      const shape = shapes.flat();
      const per = shape.reduce((a, b) => a * b, 1);
      const name = typeof rawName === "string" ? rawName : rawName[1];
      const title = typeof rawName === "string" ? undefined : rawName[0];
      if (isPadding(rawName, base, shape)) {
        // Padding: never decoded, zero-filled on encode. Only its size matters.
        const size = itemsizeOf(base) * per;
        canonical.push(buildField(rawName, base, shapes));
        offset += size;
        continue;
      }
      const dtype = registry.resolve(base);
      const bytes = dtype.itemsize * per;
      canonical.push(buildField(rawName, dtype.descr, shapes));
      fields.push({ name, title, offset, shape, dtype, per, bytes });
      offset += bytes;
    }
    this.descr = canonical;
    this.itemsize = offset;
    this.fields = fields;
  }

  count(values: unknown, _options?: EncodeOptions): number {
    if (Array.isArray(values)) return values.length;
    if (isPlainObject(values)) return this.#columnCount(values);
    throw new NpyDtypeError(
      `Cannot encode ${describeValue(values)} as a record ${quoteDescr(this.descr)}: expected ` +
        `an array of objects or an object of columns`,
      { descr: this.descr },
    );
  }

  #columnCount(columns: Record<string, unknown>, options?: EncodeOptions): number {
    let n: number | undefined;
    for (const f of this.fields) {
      const col = columns[f.name];
      if (col === undefined) {
        throw new NpyDtypeError(
          `Cannot encode record columns: field '${f.name}' is missing`,
          { descr: this.descr },
        );
      }
      const total = f.dtype.count(col, options);
      const rows = f.per === 0 ? 0 : total / f.per;
      if (!Number.isInteger(rows) || (n !== undefined && rows !== n)) {
        throw new NpyShapeError(
          `Cannot encode record columns: column '${f.name}' holds ${total} values, expected ${
            n === undefined ? `a multiple of ${f.per}` : `${n} × ${f.per}`
          }`,
          { ...(n === undefined ? {} : { expected: [n, ...f.shape] }), actual: [total] },
        );
      }
      n = rows;
    }
    return n ?? 0;
  }

  /**
   * A plain object is one record; so is a tuple, an array of the record's field values in
   * field order (the form NumPy prints and takes): as many items as fields, not all of them
   * records themselves (that is an array of records).
   */
  isElement(value: unknown): boolean {
    return isPlainObject(value) || this.#isTuple(value);
  }

  // An array of records (objects or tuples) is a dimension, not a tuple: `[[1, true], [2,
  // false]]` is two rows of a two-field record. (So a tuple whose every value is itself
  // tuple-shaped reads as rows: give such a record as an object.)
  #isTuple(value: unknown): value is readonly unknown[] {
    return Array.isArray(value) && value.length === this.fields.length && value.length > 0 &&
      !value.every((v) => isPlainObject(v) || this.#isTuple(v));
  }

  /** The record `row` as an object: a tuple's items keyed by the field names. */
  #asObject(row: unknown): unknown {
    if (!this.#isTuple(row)) return row;
    const out: RecordObject = {};
    this.fields.forEach((f, k) => (out[f.name] = row[k]));
    return out;
  }

  /** Refuses a record object with a key that is not one of the fields. */
  #checkKeys(row: Record<string, unknown>, i: number): void {
    let keys = 0;
    for (const _ in row) keys++;
    if (keys <= this.fields.length) return; // extra keys would show in the count
    const names = new Set(this.fields.map((f) => f.name));
    const extra = Object.keys(row).find((key) => !names.has(key));
    if (extra === undefined) return;
    throw new NpyDtypeError(
      `Cannot encode record ${i}: it has a field ${JSON.stringify(extra)} that the record ` +
        `${quoteDescr(this.descr)} does not (its fields: ${
          this.fields.map((f) => JSON.stringify(f.name)).join(", ")
        })`,
      { descr: this.descr },
    );
  }

  encodeInto(
    values: readonly RecordObject[] | RecordColumns,
    target: Uint8Array,
    options?: EncodeOptions,
  ): number {
    const columns = !Array.isArray(values);
    const n = columns
      ? this.#columnCount(values as RecordColumns, options)
      : (values as RecordObject[]).length;
    const size = this.itemsize;
    const nbytes = n * size;
    checkTarget(target, nbytes, this.descr);
    target.fill(0, 0, nbytes);
    let perRow: unknown[][] | undefined; // row objects: each field's value in every row
    if (columns) this.#checkKeys(values as RecordColumns, 0);
    else {
      // Tuples become objects; then every row must be an object of exactly these fields.
      if ((values as readonly unknown[]).some((row) => Array.isArray(row))) {
        values = (values as readonly unknown[]).map((row) => this.#asObject(row)) as RecordObject[];
      }
      perRow = this.#fieldValues(values as readonly RecordObject[]);
    }
    for (let k = 0; k < this.fields.length; k++) {
      const f = this.fields[k]!;
      const col = perRow === undefined
        ? (values as RecordColumns)[f.name]
        : f.shape.length === 0
        ? perRow[k]
        : this.#gather(perRow[k]!, f);
      let src = f.dtype.view?.(col, options);
      if (src === undefined) {
        const total = f.dtype.count(col, options);
        if (total !== n * f.per) {
          throw new NpyShapeError(
            `Cannot encode record field '${f.name}': ${total} values for ${n} records of ` +
              `${f.per}`,
            { expected: [n, ...f.shape], actual: [total] },
          );
        }
        src = new Uint8Array(n * f.bytes);
        try {
          f.dtype.encodeInto(col, src, options);
        } catch (e) {
          throw this.#fieldError(f, col, e, options);
        }
      } else if (src.length !== n * f.bytes) {
        throw new NpyShapeError(
          `Cannot encode record field '${f.name}': ${src.length} bytes for ${n} records of ` +
            `${f.bytes}`,
          { expected: [n, ...f.shape] },
        );
      }
      scatter(src, target, n, f.bytes, f.offset, size);
    }
    return nbytes;
  }

  /**
   * Each field's values, one per row, from an array of record objects, in one pass of
   * `for…in` per row: it reads the values through V8's fast for-in access, where
   * `row[f.name]` for each field is a megamorphic keyed load (most of the time of records
   * given as objects, before). Refuses a row that is not an object, and a key that is not a
   * field or a field that is missing, naming the record.
   */
  #fieldValues(rows: readonly RecordObject[]): unknown[][] {
    const fields = this.fields;
    const out = fields.map(() => new Array<unknown>(rows.length));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (!isPlainObject(row)) {
        throw new NpyDtypeError(
          `Cannot encode ${describeValue(row)} (element ${i}) as a record: expected an ` +
            `object with fields ${fields.map((f) => `'${f.name}'`).join(", ")}, or ` +
            `a tuple of their values`,
          { descr: this.descr },
        );
      }
      let k = 0;
      let seen = 0;
      for (const key in row) {
        // Keys come in field order in the usual case: the name at k, else a search.
        const slot = fields[k]?.name === key ? k : this.#slotOf(key);
        if (slot < 0) {
          this.#checkKeys(row, i); // throws for an own key that is not a field
          continue; // an inherited enumerable key: not the record's
        }
        out[slot]![i] = row[key];
        k = slot + 1;
        seen++;
      }
      if (seen !== fields.length) {
        const f = fields.find((f) => !(f.name in row))!;
        throw this.#missing(f, i);
      }
    }
    return out;
  }

  #slotOf(key: string): number {
    return this.fields.findIndex((f) => f.name === key);
  }

  // The column of subarray field `f` from its value in each row: the flattened values (a
  // TypedArray when every row gives one of the same type).
  #gather(values: readonly unknown[], f: FieldPlan): unknown {
    const n = values.length;
    const first = values[0];
    if (ArrayBuffer.isView(first) && !(first instanceof DataView)) {
      // Every row gives a TypedArray of one type and length: concatenate them, keeping the
      // type (so casting rules apply as for a column).
      const width = (first as unknown as ArrayLike<unknown>).length;
      const Ctor = first.constructor as new (n: number) => {
        set(a: ArrayLike<unknown>, o: number): void;
      };
      const out = new Ctor(n * width);
      let ok = true;
      for (let i = 0; i < n && ok; i++) {
        const v = values[i] as ArrayLike<unknown> | undefined;
        ok = v !== undefined && v !== null && v.constructor === Ctor && v.length === width;
        if (ok) out.set(v!, i * width);
      }
      if (ok) return out;
    }
    return this.#flattenAll(values, f);
  }

  #flattenAll(values: readonly unknown[], f: FieldPlan): unknown[] {
    const out: unknown[] = [];
    const isElement = (v: unknown): boolean =>
      f.dtype.isElement ? f.dtype.isElement(v) : typeof v !== "object" || v === null;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === undefined) throw this.#missing(f, i);
      const before = out.length;
      flattenInto(v, isElement, out);
      if (out.length - before !== f.per) {
        throw new NpyShapeError(
          `Cannot encode record ${i}: field '${f.name}' holds ${out.length - before} values, ` +
            `its shape (${f.shape.join(", ")}${f.shape.length === 1 ? "," : ""}) needs ${f.per}`,
          { expected: [...f.shape], actual: [out.length - before] },
        );
      }
    }
    return out;
  }

  /**
   * The error for a value of field `f` that its dtype refused: finds the record it is in
   * (only once something failed) so that the message names the field and the record.
   */
  #fieldError(f: FieldPlan, col: unknown, e: unknown, options?: EncodeOptions): unknown {
    if (!(e instanceof NpyDtypeError) || !Array.isArray(col)) return e;
    const one = new Uint8Array(f.dtype.itemsize);
    for (let k = 0; k < col.length; k++) {
      try {
        f.dtype.encodeInto([col[k]], one, options);
      } catch {
        const record = f.per > 0 ? Math.floor(k / f.per) : k;
        return new NpyDtypeError(
          `Cannot encode record ${record}: field ${JSON.stringify(f.name)}: cannot cast ${
            describeValue(col[k])
          } to ${quoteDescr(f.dtype.descr)}`,
          { descr: this.descr, cause: e },
        );
      }
    }
    return e;
  }

  #missing(f: FieldPlan, i: number): NpyDtypeError {
    return new NpyDtypeError(
      `Cannot encode record ${i}: field '${f.name}' is missing`,
      { descr: this.descr },
    );
  }

  decode(bytes: Uint8Array, options?: DecodeOptions): RecordObject[] | RecordColumns {
    const size = this.itemsize;
    // Records of no bytes (np.dtype([]), or only empty subarrays): the count comes from
    // the caller, as NumPy's shape gives it.
    const n = size === 0 ? options?.count ?? 0 : checkWhole(bytes, size, this.descr);
    const cols: unknown[] = [];
    for (const f of this.fields) {
      const buf = new Uint8Array(n * f.bytes);
      gather(bytes, buf, n, f.bytes, f.offset, size);
      cols.push(f.dtype.decode(buf, { ...options, count: n * f.per }));
    }
    if (options?.layout === "columns") {
      const out: RecordColumns = {};
      this.fields.forEach((f, k) => (out[f.name] = cols[k]));
      return out;
    }
    const out: RecordObject[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = {};
    this.fields.forEach((f, k) => {
      const col = cols[k] as ArrayLike<unknown> & {
        subarray?(a: number, b: number): unknown;
        slice?(a: number, b: number): unknown;
      };
      const name = f.name;
      // Items of the decoded column per record: `per`, times 2 for interleaved complex, etc.
      const width = n === 0 ? 1 : col.length / n;
      // A bool field reads as true/false in an object, as NumPy's record prints it; a bool
      // subarray field as a flat boolean[] (flat, as every subarray field reads).
      const bool = f.dtype.descr === "|b1";
      if (f.shape.length === 0 && width === 1) {
        if (bool) { for (let i = 0; i < n; i++) out[i]![name] = col[i] === 1; }
        else for (let i = 0; i < n; i++) out[i]![name] = col[i];
      } else {
        for (let i = 0; i < n; i++) {
          const part = col.subarray
            ? col.subarray(i * width, (i + 1) * width)
            : col.slice!(i * width, (i + 1) * width);
          out[i]![name] = bool ? Array.from(part as Uint8Array, (b) => b === 1) : part;
        }
      }
    });
    return out;
  }
}

function flattenInto(v: unknown, isElement: (v: unknown) => boolean, out: unknown[]): void {
  if (isElement(v)) {
    out.push(v);
    return;
  }
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    for (const x of v as ArrayLike<unknown> as unknown[]) flattenInto(x, isElement, out);
    return;
  }
  out.push(v);
}

/**
 * The built-in plugin for structured descrs (`[('t', '<M8[ns]'), ('xy', '<f4', (2,))]`). Each
 * field's dtype is resolved through the registry the record is resolved with, so user
 * plugins work inside records; nested records, subarray fields, titles (`(title, name)`
 * pairs: the key is the name) and big-endian fields all work. Padding fields (named `''`
 * and of a void type, as NumPy decides) are skipped on decode and written as zeros; a `''`
 * field of another type (`('', '<i4')`) is a real field keyed `""`.
 *
 * Decoding gives an array of plain objects by default, or with `{ layout: "columns" }` an
 * object of columns (`{ t: BigInt64Array, xy: Float32Array }`; a subarray column is flat,
 * row-major). A subarray field of an object is a view/slice of its column; in an object a
 * bool field is `true`/`false` and a bool subarray field a flat `boolean[]`. Encoding takes
 * either form; a column that is already a host-order TypedArray of the field's type is
 * copied into the records without an intermediate buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry } from "@npy/append-array";
 *
 * const rec = defaultRegistry.resolve([["id", "<u2"], ["", "|V2"], ["xy", ">f4", [2]]]);
 * assert.equal(rec.itemsize, 12);
 * const bytes = new Uint8Array(24);
 * rec.encodeInto([{ id: 1, xy: [0.5, 1] }, { id: 2, xy: [2, 3] }], bytes);
 * const rows = rec.decode(bytes) as { id: number; xy: Float32Array }[];
 * assert.deepEqual(rows.map((r) => [r.id, [...r.xy]]), [[1, [0.5, 1]], [2, [2, 3]]]);
 * const cols = rec.decode(bytes, { layout: "columns" }) as { id: Uint16Array };
 * assert.deepEqual(cols.id, Uint16Array.of(1, 2));
 * ```
 */
export const recordPlugin: DtypePlugin = {
  name: "record",
  cast: castBytes,
  resolve(descr: Descr, registry: DtypeRegistry) {
    if (typeof descr === "string" || !Array.isArray(descr)) return undefined;
    return new RecordCodec(descr, registry);
  },
};
