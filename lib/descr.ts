/**
 * The `descr` of a `.npy` header: NumPy's description of a dtype, written as a Python literal
 * (`'<f4'`, `[('t', '<i8'), ('xy', '<f4', (2,))]`). This module converts between that text and
 * a plain {@link Descr} value, and knows the size of every NumPy descr. Pure: bytes and
 * strings only, no I/O.
 *
 * @module
 */

import { NpyDtypeError, NpyFormatError } from "./errors.ts";
import {
  parsePyLiteral,
  PyLiteralError,
  pyReprIntTuple,
  pyReprString,
  PyTuple,
  type PyValue,
} from "./_pyliteral.ts";

/**
 * A field name: a plain name, or NumPy's `(title, name)` pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FieldName, formatDescr } from "@npy/append-array";
 *
 * const titled: FieldName = ["Temperature in C", "temp"];
 * assert.equal(formatDescr([[titled, "<f4"]]), "[(('Temperature in C', 'temp'), '<f4')]");
 * ```
 */
export type FieldName = string | readonly [title: string, name: string];

/**
 * One field of a structured descr: name, descr, and the subarray shape when there is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DescrField, itemsizeOf } from "@npy/append-array";
 *
 * const xy: DescrField = ["xy", "<f4", [2]];
 * assert.equal(itemsizeOf([xy]), 8);
 * ```
 */
export type DescrField =
  | readonly [name: FieldName, descr: Descr]
  | readonly [name: FieldName, descr: Descr, shape: readonly number[]];

/**
 * A NumPy dtype description: a type string such as `"<f4"`, `"|S5"` or `"<M8[ns]"`, or a list
 * of fields for a structured dtype, exactly as NumPy writes it into `.npy` headers (padding
 * fields named `""` included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Descr, formatDescr, parseDescr } from "@npy/append-array";
 *
 * const tick: Descr = [["t", "<M8[ns]"], ["price", "<f8"], ["side", "|S1"]];
 * assert.deepEqual(parseDescr(formatDescr(tick)), tick);
 * ```
 */
export type Descr = string | readonly DescrField[];

/**
 * NumPy's datetime and timedelta units, from years to attoseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATETIME_UNITS } from "@npy/append-array";
 *
 * assert.equal(DATETIME_UNITS.length, 13);
 * assert.ok(DATETIME_UNITS.includes("ns"));
 * ```
 */
export const DATETIME_UNITS = [
  "Y",
  "M",
  "W",
  "D",
  "h",
  "m",
  "s",
  "ms",
  "us",
  "ns",
  "ps",
  "fs",
  "as",
] as const;

/**
 * A NumPy datetime unit (see {@link DATETIME_UNITS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DatetimeUnit, parseTypestr } from "@npy/append-array";
 *
 * const unit: DatetimeUnit | undefined = parseTypestr("<M8[ms]").unit;
 * assert.equal(unit, "ms");
 * ```
 */
export type DatetimeUnit = typeof DATETIME_UNITS[number];

/**
 * A type string taken apart: `"<M8[10us]"` is `<`, `M`, 8 bytes, 10 × `us`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTypestr, type Typestr } from "@npy/append-array";
 *
 * const t: Typestr = parseTypestr(">M8[10us]");
 * assert.deepEqual([t.byteorder, t.kind, t.itemsize, t.unit, t.unitCount], [">", "M", 8, "us", 10]);
 * ```
 */
export interface Typestr {
  /** `<` little-endian, `>` big-endian, `|` not applicable, `=` native. */
  readonly byteorder: "<" | ">" | "|" | "=";
  /** NumPy's kind character: `b i u f c m M O S U V`. */
  readonly kind: string;
  /** The number written after the kind: bytes, or characters for `U`. */
  readonly size: number;
  /** Bytes one element takes (`4 × size` for `U`). */
  readonly itemsize: number;
  /** Datetime unit for `M`/`m`; `undefined` for the generic unit. */
  readonly unit?: DatetimeUnit;
  /** Datetime unit multiplier (`10` in `[10us]`); 1 when absent. */
  readonly unitCount?: number;
}

const TYPESTR = /^([<>|=]?)([a-zA-Z?])(\d*)(?:\[(\d*)([a-zA-Z]+)\])?$/;

// Sizes NumPy accepts for each kind; undefined: any size.
const KIND_SIZES: Record<string, readonly number[] | undefined> = {
  b: [1],
  i: [1, 2, 4, 8],
  u: [1, 2, 4, 8],
  f: [2, 4, 8, 12, 16],
  c: [8, 16, 24, 32],
  m: [8],
  M: [8],
  O: [8],
  S: undefined,
  U: undefined,
  V: undefined,
};

/**
 * Takes a type string apart and checks it is one NumPy knows.
 *
 * @param typestr A simple (non-structured) descr such as `"<f4"` or `"<M8[ns]"`.
 * @returns Its byte order, kind, size, itemsize and datetime unit.
 * @throws {NpyDtypeError} When the string is not a NumPy type string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTypestr } from "@npy/append-array";
 *
 * assert.deepEqual(parseTypestr("<U5"), { byteorder: "<", kind: "U", size: 5, itemsize: 20 });
 * assert.equal(parseTypestr(">M8[10us]").unitCount, 10);
 * ```
 */
export function parseTypestr(typestr: string): Typestr {
  const m = TYPESTR.exec(typestr);
  const kind = m?.[2] === "?" ? "b" : m?.[2];
  if (!m || kind === undefined || !(kind in KIND_SIZES)) {
    throw new NpyDtypeError(
      `Cannot use descr ${JSON.stringify(typestr)}: not a NumPy type string such as '<f4'`,
      { descr: typestr },
    );
  }
  const [, order, , digits, count, unit] = m;
  const flexible = kind === "S" || kind === "U" || kind === "V";
  const size = digits === ""
    ? (flexible ? 0 : kind === "b" ? 1 : KIND_SIZES[kind]!.length === 1 ? 8 : NaN)
    : Number(digits);
  const allowed = KIND_SIZES[kind];
  if (!Number.isSafeInteger(size) || (allowed && !allowed.includes(size))) {
    throw new NpyDtypeError(
      `Cannot use descr ${JSON.stringify(typestr)}: kind '${kind}' does not come in size ${
        digits || "(none)"
      }${allowed ? ` (expected one of ${allowed.join(", ")})` : ""}`,
      { descr: typestr },
    );
  }
  const result: {
    byteorder: Typestr["byteorder"];
    kind: string;
    size: number;
    itemsize: number;
    unit?: DatetimeUnit;
    unitCount?: number;
  } = {
    byteorder: (order || "=") as Typestr["byteorder"],
    kind,
    size,
    itemsize: kind === "U" ? 4 * size : size,
  };
  if (unit !== undefined) {
    if (kind !== "M" && kind !== "m") {
      throw new NpyDtypeError(
        `Cannot use descr ${JSON.stringify(typestr)}: only datetime kinds take a [unit]`,
        { descr: typestr },
      );
    }
    if (!(DATETIME_UNITS as readonly string[]).includes(unit)) {
      throw new NpyDtypeError(
        `Cannot use descr ${JSON.stringify(typestr)}: unknown datetime unit '${unit}' ` +
          `(expected one of ${DATETIME_UNITS.join(" ")})`,
        { descr: typestr },
      );
    }
    result.unit = unit as DatetimeUnit;
    result.unitCount = count === "" ? 1 : Number(count);
    if (!Number.isSafeInteger(result.unitCount) || result.unitCount < 1) {
      throw new NpyDtypeError(
        `Cannot use descr ${JSON.stringify(typestr)}: bad unit multiplier '${count}'`,
        { descr: typestr },
      );
    }
  }
  return result;
}

/**
 * Converts the Python literal NumPy writes for a descr into a {@link Descr} value. A bare
 * type string (`<f4`, without quotes) is accepted too.
 *
 * @param text `'<f4'`, `[('x', '<f4'), ('y', '<i8', (2,))]`, or `<f4`.
 * @returns The descr value: a string, or a list of fields.
 * @throws {NpyFormatError} When the text is not a Python literal of a descr.
 * @throws {NpyDtypeError} When a type string in it is not a NumPy one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDescr } from "@npy/append-array";
 *
 * assert.equal(parseDescr("'<f4'"), "<f4");
 * assert.deepEqual(parseDescr("[('t', '<i8'), ('xy', '<f4', (2,))]"), [
 *   ["t", "<i8"],
 *   ["xy", "<f4", [2]],
 * ]);
 * ```
 */
export function parseDescr(text: string): Descr {
  const trimmed = text.trim();
  if (TYPESTR.test(trimmed)) return descrFromPy(trimmed);
  let value: PyValue;
  try {
    value = parsePyLiteral(text);
  } catch (e) {
    if (!(e instanceof PyLiteralError)) throw e;
    throw new NpyFormatError(
      `Cannot parse descr ${JSON.stringify(text)}: ${e.message} at offset ${e.index}`,
      { offset: e.index, cause: e },
    );
  }
  return descrFromPy(value);
}

/**
 * Writes a {@link Descr} as NumPy writes it into a header: Python `repr` of the string or
 * of the list of field tuples.
 *
 * @param descr A type string or a list of fields.
 * @returns The Python literal text.
 * @throws {NpyDtypeError} When the value is not a well-formed descr.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDescr } from "@npy/append-array";
 *
 * assert.equal(formatDescr("<f4"), "'<f4'");
 * assert.equal(
 *   formatDescr([["t", "<i8"], ["xy", "<f4", [2]]]),
 *   "[('t', '<i8'), ('xy', '<f4', (2,))]",
 * );
 * ```
 */
export function formatDescr(descr: Descr): string {
  if (typeof descr === "string") {
    parseTypestr(descr);
    return pyReprString(descr);
  }
  if (!Array.isArray(descr)) {
    throw new NpyDtypeError(`Cannot format descr ${String(descr)}: not a string or a list`, {
      descr,
    });
  }
  const fields = descr.map((field) => {
    checkField(field, descr);
    const [name, sub, shape] = field;
    const nameText = typeof name === "string"
      ? pyReprString(name)
      : `(${pyReprString(name[0])}, ${pyReprString(name[1])})`;
    const parts = [nameText, formatDescr(sub)];
    if (shape !== undefined) parts.push(pyReprIntTuple(shape));
    return `(${parts.join(", ")})`;
  });
  return `[${fields.join(", ")}]`;
}

function checkField(field: unknown, descr: unknown): asserts field is DescrField {
  const ok = Array.isArray(field) && (field.length === 2 || field.length === 3) &&
    (typeof field[0] === "string" ||
      (Array.isArray(field[0]) && field[0].length === 2 &&
        field[0].every((s: unknown) => typeof s === "string"))) &&
    (field[2] === undefined ||
      (Array.isArray(field[2]) && field[2].every((d: unknown) => isDim(d))));
  if (!ok) {
    throw new NpyDtypeError(
      `Cannot use descr field ${JSON.stringify(field)}: expected [name, descr] or ` +
        `[name, descr, shape]`,
      { descr },
    );
  }
}

function isDim(d: unknown): d is number {
  return typeof d === "number" && Number.isSafeInteger(d) && d >= 0;
}

/**
 * The number of bytes one element of `descr` takes, padding fields included.
 *
 * @param descr A type string or a list of fields.
 * @returns Bytes per element.
 * @throws {NpyDtypeError} For a descr NumPy would not accept, or the object dtype `'O'`,
 *   which holds pickled Python objects and can be neither appended to nor memory-mapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { itemsizeOf } from "@npy/append-array";
 *
 * assert.equal(itemsizeOf("<c16"), 16);
 * assert.equal(itemsizeOf([["t", "<i8"], ["", "|V4"], ["xy", "<f4", [2]]]), 20);
 * ```
 */
export function itemsizeOf(descr: Descr): number {
  if (typeof descr === "string") {
    const t = parseTypestr(descr);
    if (t.kind === "O") {
      throw new NpyDtypeError(
        `Cannot use descr ${JSON.stringify(descr)}: the object dtype holds pickled Python ` +
          `objects, which can be neither appended to nor memory-mapped`,
        { descr },
      );
    }
    return t.itemsize;
  }
  if (!Array.isArray(descr)) {
    throw new NpyDtypeError(`Cannot use descr ${String(descr)}: not a string or a list`, {
      descr,
    });
  }
  let total = 0;
  for (const field of descr) {
    checkField(field, descr);
    const [, sub, shape] = field;
    let size = itemsizeOf(sub);
    for (const d of shape ?? []) size *= d;
    total += size;
    if (!Number.isSafeInteger(total)) {
      throw new NpyDtypeError(`Cannot use descr: its itemsize exceeds 2^53 - 1 bytes`, {
        descr,
      });
    }
  }
  return total;
}

/**
 * Turns a parsed Python value into a Descr, checking its form. Internal: the header parser
 * uses it too.
 */
export function descrFromPy(value: PyValue): Descr {
  if (typeof value === "string") {
    parseTypestr(value);
    return value;
  }
  if (value instanceof PyTuple) {
    throw new NpyDtypeError(
      `Cannot use descr ${describePy(value)}: a subarray descr at the top level is not ` +
        `supported (NumPy never writes one; fold its shape into the array's)`,
      { descr: describePy(value) },
    );
  }
  if (!Array.isArray(value)) {
    throw new NpyDtypeError(
      `Cannot use descr ${describePy(value)}: expected a type string or a list of fields`,
      { descr: describePy(value) },
    );
  }
  return value.map((field): DescrField => {
    if (!(field instanceof PyTuple) || field.items.length < 2 || field.items.length > 3) {
      throw new NpyDtypeError(
        `Cannot use descr field ${describePy(field)}: expected (name, descr) or ` +
          `(name, descr, shape)`,
        { descr: describePy(value) },
      );
    }
    const [rawName, rawDescr, rawShape] = field.items;
    let name: FieldName;
    if (typeof rawName === "string") name = rawName;
    else if (
      rawName instanceof PyTuple && rawName.items.length === 2 &&
      typeof rawName.items[0] === "string" && typeof rawName.items[1] === "string"
    ) name = [rawName.items[0], rawName.items[1]];
    else {
      throw new NpyDtypeError(
        `Cannot use descr field ${describePy(field)}: the name must be a string or a ` +
          `(title, name) pair`,
        { descr: describePy(value) },
      );
    }
    const sub = descrFromPy(rawDescr);
    if (rawShape === undefined) return [name, sub];
    // NumPy accepts a bare integer for a 1-D subarray shape.
    const dims = typeof rawShape === "number"
      ? [rawShape]
      : rawShape instanceof PyTuple
      ? rawShape.items
      : undefined;
    if (!dims || !dims.every(isDim)) {
      throw new NpyDtypeError(
        `Cannot use descr field ${describePy(field)}: the shape must be a tuple of ` +
          `non-negative integers`,
        { descr: describePy(value) },
      );
    }
    return [name, sub, dims];
  });
}

function describePy(value: PyValue): string {
  if (typeof value === "string") return pyReprString(value);
  if (value instanceof PyTuple) return `(${value.items.map(describePy).join(", ")})`;
  if (Array.isArray(value)) return `[${value.map(describePy).join(", ")}]`;
  if (value instanceof Map) return "{…}";
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/**
 * Whether two descrs are the same value (deep equality of the Descr form).
 *
 * @param a First descr.
 * @param b Second descr.
 * @returns `true` when both spell the same descr.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { descrEquals } from "@npy/append-array";
 *
 * assert.ok(descrEquals([["x", "<f4", [2]]], [["x", "<f4", [2]]]));
 * assert.ok(!descrEquals("<f4", ">f4"));
 * ```
 */
export function descrEquals(a: Descr, b: Descr): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
