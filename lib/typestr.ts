/**
 * NumPy type strings (`"<f4"`, `"|S5"`, `"<M8[10us]"`): taking one apart and checking it is
 * one NumPy knows, and the datetime units. Pure: strings only, no I/O.
 *
 * @module
 */

import { NpyDtypeError } from "./errors.ts";

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
  /** Datetime unit multiplier (`10` in `[10us]`, 0 in NumPy's odd `[0s]`); 1 when absent. */
  readonly unitCount?: number;
}

// NumPy keeps itemsizes and subarray dimensions in a C int. Internal.
export const C_INT_MAX = 2 ** 31 - 1;
// NumPy's NPY_MAXDIMS: an array, and a subarray, has at most 64 dimensions. Internal.
export const MAX_DIMS = 64;

/** The form of a type string: byte order, kind, size, then a datetime unit. Internal. */
export const TYPESTR = /^([<>|=]?)([a-zA-Z?])(\d*)(?:\[(\d*)([a-zA-Z]+)\])?$/;

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
  return readTypestr(typestr, typestr);
}

/**
 * {@link parseTypestr} of `typestr`, which the user wrote as `written` (`"datetime64[ns]"`
 * for `"M8[ns]"`): errors name and carry `written`. Internal (dtype names).
 */
export function readTypestr(typestr: string, written: string): Typestr {
  const shown = JSON.stringify(written);
  const m = TYPESTR.exec(typestr);
  const kind = m?.[2] === "?" ? "b" : m?.[2];
  if (!m || kind === undefined || !(kind in KIND_SIZES)) {
    throw new NpyDtypeError(
      `Cannot use descr ${shown}: not a NumPy type string such as '<f4'`,
      { descr: written },
    );
  }
  const [, order, letter, digits, count, unit] = m;
  if (letter === "b" && digits === "") {
    // NumPy's character code 'b' is int8, not the bool kind: normalizeDescr() spells it.
    throw new NpyDtypeError(
      `Cannot use descr ${shown}: 'b' alone is NumPy's int8 character ` +
        `code, not a type string (bool is '|b1', int8 '|i1')`,
      { descr: written },
    );
  }
  const flexible = kind === "S" || kind === "U" || kind === "V";
  const allowed = KIND_SIZES[kind];
  const size = digits === ""
    ? (flexible ? 0 : kind === "b" ? 1 : allowed?.length === 1 ? 8 : NaN)
    : Number(digits);
  if (flexible && (kind === "U" ? 4 * size : size) > C_INT_MAX) {
    throw new NpyDtypeError(
      `Cannot use descr ${shown}: NumPy's itemsizes stop at 2^31 - 1 bytes`,
      { descr: written },
    );
  }
  if (!Number.isSafeInteger(size) || (allowed && !allowed.includes(size))) {
    throw new NpyDtypeError(
      `Cannot use descr ${shown}: kind '${kind}' does not come in size ${digits || "(none)"}${
        allowed ? ` (expected one of ${allowed.join(", ")})` : ""
      }`,
      { descr: written },
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
        `Cannot use descr ${shown}: only datetime kinds take a [unit]`,
        { descr: written },
      );
    }
    if (!(DATETIME_UNITS as readonly string[]).includes(unit)) {
      throw new NpyDtypeError(
        `Cannot use descr ${shown}: unknown datetime unit '${unit}' ` +
          `(expected one of ${DATETIME_UNITS.join(" ")})`,
        { descr: written },
      );
    }
    result.unit = unit as DatetimeUnit;
    // NumPy keeps the multiplier in a C int, and takes 0 ('<M8[0s]', which it saves and
    // loads, though it fails on converting it to another unit).
    result.unitCount = count === "" ? 1 : Number(count);
    if (result.unitCount > C_INT_MAX) {
      throw new NpyDtypeError(
        `Cannot use descr ${shown}: bad unit multiplier '${count}' (NumPy's ` +
          `stop at 2^31 - 1)`,
        { descr: written },
      );
    }
  }
  return result;
}
