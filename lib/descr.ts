/**
 * The `descr` of a `.npy` header: NumPy's description of a dtype, written as a Python literal
 * (`'<f4'`, `[('t', '<i8'), ('xy', '<f4', (2,))]`). This module converts between that text and
 * a plain {@link Descr} value, checks its form and knows its size, and spells it canonically.
 * Type strings and datetime units are in `typestr.ts`, NumPy's dtype names in
 * `dtype_names.ts`; this module re-exports both. Pure: strings only, no I/O.
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
import { tryNormalizeTypestr, unknownDescrError } from "./dtype_names.ts";
import { C_INT_MAX, MAX_DIMS, parseTypestr, TYPESTR } from "./typestr.ts";

export {
  DATETIME_UNITS,
  type DatetimeUnit,
  MAX_DIMS,
  parseTypestr,
  type Typestr,
} from "./typestr.ts";
export { HOST_ORDER, numpyNameOf, tryNormalizeTypestr, unknownDescrError } from "./dtype_names.ts";

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
 * A subarray dtype: `shape` elements of `base`, as NumPy writes `('<f8', (5,))`. It appears as
 * the descr of a record field, where NumPy writes a subarray of subarrays
 * (`('c', ('<f8', (5,)), (2,))`: 2 × 5 doubles) or a subarray of records; never as the
 * descr of a whole file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDescr, itemsizeOf, type SubarrayDescr } from "@npy/append-array";
 *
 * const five: SubarrayDescr = { base: "<f8", shape: [5] };
 * assert.equal(formatDescr([["c", five, [2]]]), "[('c', ('<f8', (5,)), (2,))]");
 * assert.equal(itemsizeOf([["c", five, [2]]]), 80);
 * ```
 */
export interface SubarrayDescr {
  /** The element's descr: a type string, a list of fields, or another subarray. */
  readonly base: FieldDescr;
  /** The subarray's shape, outermost dimension first. */
  readonly shape: readonly number[];
}

/**
 * What the descr slot of a record field holds: any {@link Descr}, or a {@link SubarrayDescr}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FieldDescr, itemsizeOf } from "@npy/append-array";
 *
 * const slots: FieldDescr[] = ["<f4", [["x", "<i2"]], { base: "<f4", shape: [3] }];
 * assert.deepEqual(slots.map((d) => itemsizeOf([["a", d]])), [4, 2, 12]);
 * ```
 */
export type FieldDescr = Descr | SubarrayDescr;

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
  | readonly [name: FieldName, descr: FieldDescr]
  | readonly [name: FieldName, descr: FieldDescr, shape: readonly number[]];

/**
 * A NumPy dtype description: a type string such as `"<f4"`, `"|S5"` or `"<M8[ns]"`, or a list
 * of fields for a structured dtype, exactly as NumPy writes it into `.npy` headers (padding
 * fields named `""` included; `[]` is NumPy's structured dtype with no fields).
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
 * Converts the Python literal NumPy writes for a descr into a {@link Descr} value. A bare
 * type string (`<f4`, without quotes) is accepted too, and so are the dtype names
 * `np.dtype()` takes (`'float32'`), which `numpy.load` accepts in a header: they come back
 * as the canonical type string.
 *
 * @param text `'<f4'`, `[('x', '<f4'), ('y', '<i8', (2,))]`, or `<f4`.
 * @returns The descr value: a string, or a list of fields.
 * @throws {NpyFormatError} When the text is not a Python literal of a descr.
 * @throws {NpyDtypeError} When a type string in it is not a NumPy one, or a record repeats
 *   a name or title.
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
 * assert.deepEqual(parseDescr("[('c', ('<f8', (5,)), (2,))]"), [
 *   ["c", { base: "<f8", shape: [5] }, [2]],
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
    // The literal parser's message is the reason alone ("unterminated string"), written to
    // follow the action, as in parseHeader.
    throw new NpyFormatError(
      `Cannot parse descr ${JSON.stringify(text)}: ${e.message} at offset ${e.index}`,
      { offset: e.index, cause: e },
    );
  }
  return descrFromPy(value);
}

/**
 * Writes a {@link Descr} as NumPy writes it into a header: Python `repr` of the string or
 * of the list of field tuples (a subarray descr as `(base, shape)`).
 *
 * @param descr A type string or a list of fields.
 * @returns The Python literal text.
 * @throws {NpyDtypeError} When the value is not a well-formed descr, or a record repeats a
 *   name or title.
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
 * assert.equal(formatDescr([]), "[]"); // np.dtype([]): no fields, itemsize 0
 * ```
 */
export function formatDescr(descr: Descr): string {
  walk(descr, "format", true);
  return formatAny(descr);
}

function formatAny(descr: FieldDescr): string {
  if (typeof descr === "string") return pyReprString(asTypestr(descr));
  if (isSubarray(descr)) return `(${formatAny(descr.base)}, ${pyReprIntTuple(descr.shape)})`;
  const fields = descr.map(([name, sub, shape]) => {
    const nameText = typeof name === "string"
      ? pyReprString(name)
      : `(${pyReprString(name[0])}, ${pyReprString(name[1])})`;
    const parts = [nameText, formatAny(sub)];
    if (shape !== undefined) parts.push(pyReprIntTuple(shape));
    return `(${parts.join(", ")})`;
  });
  return `[${fields.join(", ")}]`;
}

function isSubarray(descr: FieldDescr): descr is SubarrayDescr {
  return typeof descr === "object" && descr !== null && !Array.isArray(descr);
}

function malformed(what: unknown, expected: string, descr: unknown): NpyDtypeError {
  let text: string;
  try {
    text = JSON.stringify(what) ?? String(what);
  } catch {
    text = String(what);
  }
  return new NpyDtypeError(`Cannot use descr ${text}: ${expected}`, { descr: descr as Descr });
}

function isDim(d: unknown): d is number {
  return typeof d === "number" && Number.isSafeInteger(d) && d >= 0;
}

function checkSubShape(shape: unknown, root: unknown): asserts shape is readonly number[] {
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    throw malformed(shape, "a subarray shape must be a list of non-negative integers", root);
  }
  if (shape.length > MAX_DIMS) {
    throw malformed(shape, `a subarray has at most ${MAX_DIMS} dimensions, as in NumPy`, root);
  }
  if (shape.some((d) => d > C_INT_MAX)) {
    throw malformed(shape, "NumPy's subarray dimensions stop at 2^31 - 1", root);
  }
}

/**
 * Checks the form of a descr value (and of every field, subarray and type string in it)
 * and returns its itemsize. One walk serves itemsizeOf, formatDescr and the record plugin.
 * `strings`: `"size"` checks type strings and refuses the object dtype; `"format"` lets the
 * object dtype through (writing its name is fine; sizing it is not); `"skip"` leaves type
 * strings alone (a registry plugin may own them) and counts them as 0 bytes.
 * `top`: a whole file's descr, where a subarray is not allowed.
 */
function walk(
  descr: unknown,
  strings: "size" | "format" | "skip",
  top: boolean,
  root: unknown = descr,
): number {
  if (typeof descr === "string") {
    if (strings === "skip") return 0;
    const t = parseTypestr(asTypestr(descr));
    if (t.kind === "O" && strings === "size") {
      throw new NpyDtypeError(
        `Cannot use descr ${JSON.stringify(descr)}: the object dtype holds pickled Python ` +
          `objects, which can be neither appended to nor memory-mapped`,
        { descr },
      );
    }
    return t.itemsize;
  }
  if (typeof descr === "object" && descr !== null && !Array.isArray(descr)) {
    const { base, shape } = descr as { base?: unknown; shape?: unknown };
    if (top || base === undefined || Object.keys(descr).length !== 2) {
      throw malformed(
        descr,
        top
          ? "a subarray descr cannot describe a whole file (numpy.load cannot read one " +
            "either); fold its shape into the array's"
          : "expected a type string, a list of fields or a subarray { base, shape }",
        root,
      );
    }
    checkSubShape(shape, root);
    const bytes = walk(base, strings, false, root) * shape.reduce((a, b) => a * b, 1);
    if (bytes > C_INT_MAX) {
      throw malformed(descr, "NumPy's itemsizes stop at 2^31 - 1 bytes", root);
    }
    return bytes;
  }
  if (!Array.isArray(descr)) {
    throw malformed(descr, "expected a type string or a list of fields", root);
  }
  const seen = new Set<string>();
  let total = 0;
  for (const field of descr as unknown[]) {
    const ok = Array.isArray(field) && (field.length === 2 || field.length === 3) &&
      (typeof field[0] === "string" ||
        (Array.isArray(field[0]) && field[0].length === 2 &&
          field[0].every((s: unknown) => typeof s === "string")));
    if (!ok) {
      throw new NpyDtypeError(
        `Cannot use descr field ${JSON.stringify(field)}: expected [name, descr] or ` +
          `[name, descr, shape]`,
        { descr: root as Descr },
      );
    }
    const [name, sub, shape] = field as [FieldName, unknown, unknown];
    if (shape !== undefined) checkSubShape(shape, root);
    let size = walk(sub, strings, false, root);
    if (shape !== undefined) {
      // (name, descr, shape) is NumPy's subarray dtype (descr, shape): the same limits.
      for (const d of shape as number[]) size *= d;
      if (size > C_INT_MAX) {
        throw malformed(field, "NumPy's itemsizes stop at 2^31 - 1 bytes", root);
      }
    }
    if (!isPaddingField(field as unknown as DescrField)) {
      // NumPy keeps names and titles in one namespace: neither may repeat the other.
      const [title, plain] = typeof name === "string" ? [undefined, name] : name;
      if (seen.has(plain)) {
        throw new NpyDtypeError(
          `Cannot use record descr: field name ${pyReprString(plain)} is already used as a ` +
            `name or title (NumPy refuses it too)`,
          { descr: root as Descr },
        );
      }
      seen.add(plain);
      if (title !== undefined) {
        if (seen.has(title)) {
          throw new NpyDtypeError(
            `Cannot use record descr: title ${pyReprString(title)} is already used as a ` +
              `name or title (NumPy refuses it too)`,
            { descr: root as Descr },
          );
        }
        seen.add(title);
      }
    }
    total += size;
    if (!Number.isSafeInteger(total)) {
      throw new NpyDtypeError(`Cannot use descr: its itemsize exceeds 2^53 - 1 bytes`, {
        descr: root as Descr,
      });
    }
  }
  return total;
}

/**
 * A field's descr and shape taken apart: the element descr under every subarray, and the
 * shapes outermost first (the field's own shape, then each subarray's), empty ones dropped.
 * `("c", ("<f8", (5,)), (2,))` is `<f8` under `[[2], [5]]`: 2 × 5 doubles, row-major.
 * Internal (record plugin, CLI).
 */
export function fieldLayout(
  sub: FieldDescr,
  shape?: readonly number[],
): { base: Descr; shapes: (readonly number[])[] } {
  const shapes: (readonly number[])[] = [];
  if (shape !== undefined && shape.length > 0) shapes.push(shape);
  let base = sub;
  while (isSubarray(base)) {
    if (base.shape.length > 0) shapes.push(base.shape);
    base = base.base;
  }
  return { base, shapes };
}

/**
 * The field NumPy writes for `name` with element descr `base` under `shapes` (outermost
 * first, none empty): `[name, base]`, `[name, base, s1]` or `[name, {base, s2…}, s1]`.
 * Internal (record plugin, normalizeDescr).
 */
export function buildField(
  name: FieldName,
  base: Descr,
  shapes: readonly (readonly number[])[],
): DescrField {
  const [outer, ...inner] = shapes;
  if (outer === undefined) return [name, base];
  const sub = inner.reduceRight<FieldDescr>((element, shape) => ({ base: element, shape }), base);
  return [name, sub, outer];
}

/**
 * Whether NumPy treats a field as padding, which `numpy.load` strips: named `''` (no title)
 * and of a void type with no fields — a `V` type string, or any subarray (NumPy's subarray
 * dtypes are void-typed). Internal.
 */
export function isPaddingField(field: DescrField): boolean {
  if (field[0] !== "") return false;
  const { base, shapes } = fieldLayout(field[1], field[2]);
  return shapes.length > 0 || (typeof base === "string" && /^[<>|=]?V\d*$/.test(base));
}

/**
 * The number of bytes one element of `descr` takes, padding fields included.
 *
 * @param descr A type string, a list of fields, or a subarray.
 * @returns Bytes per element.
 * @throws {NpyDtypeError} For a descr NumPy would not accept (a malformed value, a repeated
 *   field name or title, a subarray of over 64 dimensions), or the object dtype `'O'`,
 *   which holds pickled Python objects and can be neither appended to nor memory-mapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { itemsizeOf } from "@npy/append-array";
 *
 * assert.equal(itemsizeOf("<c16"), 16);
 * assert.equal(itemsizeOf([["t", "<i8"], ["", "|V4"], ["xy", "<f4", [2]]]), 20);
 * assert.equal(itemsizeOf({ base: [["a", "<i2"]], shape: [3] }), 6);
 * assert.equal(itemsizeOf([]), 0);
 * ```
 */
export function itemsizeOf(descr: FieldDescr): number {
  return walk(descr, "size", false);
}

/**
 * Checks a whole file's descr (no top-level subarray) and returns its itemsize. Of a descr
 * {@link descrFromPy} took, it refuses only the object dtype (which has no usable size).
 * Internal.
 */
export function checkDescr(descr: Descr): number {
  return walk(descr, "size", true);
}

/**
 * Checks the form of a record descr — fields, names and titles, subarray shapes — without
 * looking at its type strings, which a registry's plugins may own. Internal (record plugin).
 */
export function checkRecordForm(descr: readonly DescrField[]): void {
  walk(descr, "skip", true);
}

/**
 * Turns a parsed Python value into a Descr, checking its form. Internal: the header parser
 * uses it too.
 */
export function descrFromPy(value: PyValue): Descr {
  const descr = fromPy(value, value, true) as Descr;
  walk(descr, "format", true);
  return descr;
}

function fromPy(value: PyValue, root: PyValue, top: boolean): FieldDescr {
  if (typeof value === "string") {
    return asTypestr(value);
  }
  if (value instanceof PyTuple) {
    if (top || value.items.length !== 2) {
      throw new NpyDtypeError(
        `Cannot use descr ${describePy(value)}: ${
          top
            ? "a subarray descr at the top level (numpy.load cannot read one either; fold " +
              "its shape into the array's)"
            : "a subarray descr is (descr, shape)"
        }`,
        { descr: describePy(root) },
      );
    }
    const [base, shape] = value.items as [PyValue, PyValue]; // two items, checked above
    return { base: fromPy(base, root, false), shape: shapeFromPy(value, shape, root) };
  }
  if (!Array.isArray(value)) {
    throw new NpyDtypeError(
      `Cannot use descr ${describePy(value)}: expected a type string or a list of fields`,
      { descr: describePy(root) },
    );
  }
  return value.map((field): DescrField => {
    if (!(field instanceof PyTuple) || field.items.length < 2 || field.items.length > 3) {
      throw new NpyDtypeError(
        `Cannot use descr field ${describePy(field)}: expected (name, descr) or ` +
          `(name, descr, shape)`,
        { descr: describePy(root) },
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
        { descr: describePy(root) },
      );
    }
    const sub = fromPy(rawDescr!, root, false);
    if (rawShape === undefined) return [name, sub];
    return [name, sub, shapeFromPy(field, rawShape, root)];
  });
}

function shapeFromPy(where: PyValue, rawShape: PyValue, root: PyValue): number[] {
  // NumPy accepts a bare integer for a 1-D subarray shape.
  const dims = typeof rawShape === "number"
    ? [rawShape]
    : rawShape instanceof PyTuple
    ? rawShape.items
    : undefined;
  if (!dims || !dims.every(isDim)) {
    throw new NpyDtypeError(
      `Cannot use descr field ${describePy(where)}: the shape must be a tuple of ` +
        `non-negative integers`,
      { descr: describePy(root) },
    );
  }
  return dims;
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
 * A simple descr as a type string: a type string stays as written (`'<i1'`, `'=f4'`); a
 * name np.dtype() takes (which numpy.load accepts in a header too) becomes its canonical
 * spelling (`'float32'` → `'<f4'`, `'b'` → `'|i1'`). The rule of parseDescr, formatDescr
 * and itemsizeOf; normalizeDescr goes further and spells type strings canonically too.
 */
function asTypestr(text: string): string {
  try {
    parseTypestr(text);
    return text;
  } catch (e) {
    if (!(e instanceof NpyDtypeError)) throw e;
    const known = tryNormalizeTypestr(text);
    if (known !== undefined) return known;
    throw unknownDescrError(text);
  }
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
 * assert.ok(descrEquals([["x", { shape: [2], base: "<f4" }]], [["x", { base: "<f4", shape: [2] }]]));
 * assert.ok(!descrEquals("<f4", ">f4"));
 * ```
 */
export function descrEquals(a: FieldDescr, b: FieldDescr): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (isSubarray(a) || isSubarray(b)) {
    return isSubarray(a) && isSubarray(b) && sameDims(a.shape, b.shape) &&
      descrEquals(a.base, b.base);
  }
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((fa, i) => {
    const fb = b[i];
    if (fb === undefined || fa.length !== fb.length) return false;
    const [na, da, sa] = fa, [nb, db, sb] = fb;
    const sameName = typeof na === "string" || typeof nb === "string"
      ? na === nb
      : na[0] === nb[0] && na[1] === nb[1];
    return sameName && descrEquals(da, db) &&
      (sa === undefined || sb === undefined ? sa === sb : sameDims(sa, sb));
  });
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Turns what `np.dtype()` takes for a fixed-size type into the canonical descr NumPy writes:
 * names (`"float32"`, `"int"`, `"double"`, `"bool"`, `"datetime64[ns]"`), character codes
 * (`"f"`, `"b"`, `"?"`), short type strings (`"f4"`, `"S5"`, `"M8[ns]"`, `"=f8"`) and
 * type strings in any byte order spelling (`"<i1"` → `"|i1"`, `"=f4"` → `"<f4"` on
 * little-endian hosts). Records are normalised field by field, and their subarray forms as
 * NumPy spells them (`("x", ("<f8", (5,)))` → `("x", "<f8", (5,))`). Every place that takes
 * a descr (writers, readers' registries, `encodeHeader`) calls it; headers and `descr`
 * getters always show its result. C `long` is taken as 64-bit, as NumPy has it on Linux and
 * macOS.
 *
 * @param descr A descr value, possibly spelled with NumPy's names.
 * @returns The canonical descr.
 * @throws {NpyDtypeError} For a name np.dtype() does not take for a fixed-size type, with
 *   the closest canonical spelling (`Cannot resolve descr "flaot32": did you mean "<f4"
 *   (float32)?`), and for a malformed descr value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeDescr } from "@npy/append-array";
 *
 * assert.equal(normalizeDescr("float32"), "<f4");
 * assert.equal(normalizeDescr("b"), "|i1"); // NumPy's code for int8
 * assert.equal(normalizeDescr("datetime64[ns]"), "<M8[ns]");
 * assert.deepEqual(normalizeDescr([["t", "int64"], ["ok", "?"]]), [["t", "<i8"], ["ok", "|b1"]]);
 * assert.throws(() => normalizeDescr("flaot32"), /did you mean "<f4" \(float32\)\?/);
 * ```
 */
export function normalizeDescr(descr: Descr): Descr {
  const spelled = spellStrings(descr);
  walk(spelled, "format", true);
  return canonicalForm(spelled as FieldDescr) as Descr;
}

// Replaces every simple descr in a (possibly malformed) value by its canonical spelling;
// the walk that follows reports malformed structure.
function spellStrings(descr: unknown): unknown {
  if (typeof descr === "string") {
    const known = tryNormalizeTypestr(descr);
    if (known === undefined) throw unknownDescrError(descr);
    return known;
  }
  if (Array.isArray(descr)) {
    return descr.map((field) =>
      Array.isArray(field) && (field.length === 2 || field.length === 3)
        ? field.map((x, i) => (i === 1 ? spellStrings(x) : x))
        : field
    );
  }
  if (typeof descr === "object" && descr !== null && "base" in descr) {
    return { ...descr, base: spellStrings((descr as { base: unknown }).base) };
  }
  return descr;
}

function canonicalForm(descr: FieldDescr): FieldDescr {
  if (typeof descr === "string") return descr;
  if (isSubarray(descr)) {
    const { base, shapes } = fieldLayout(descr);
    const field = buildField("", canonicalForm(base) as Descr, shapes);
    return field.length === 2 ? field[1] : { base: field[1], shape: field[2] };
  }
  return descr.map(([name, sub, shape]) => {
    const { base, shapes } = fieldLayout(sub, shape);
    return buildField(name, canonicalForm(base) as Descr, shapes);
  });
}
