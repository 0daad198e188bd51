/**
 * Internal to the `npy` command: decoded values as NumPy prints them. Every value comes out
 * of the file's {@link Dtype.decode} (records decoded as columns); this module only turns
 * those JS values into text: floats in their shortest digits, complex as `(a+bj)`, bools as
 * `True`, bytes and strings as Python's `repr`, datetimes as NumPy's ISO text. What a dtype
 * decodes to picks the form; the descr's type string only says what the JS type cannot (a
 * `Uint8Array` of bools, interleaved complex parts, int64 datetime ticks, a half's precision).
 * A plugin's values print by their JS type, so a registered dtype prints too.
 *
 * @module
 */

import type { AnyTypedArray } from "../core.ts";
import { type Descr, parseTypestr, type Typestr } from "../lib/descr.ts";
import { NpyDtypeError } from "../lib/errors.ts";
import { pyReprString } from "../lib/_pyliteral.ts";
import type { Dtype } from "../lib/registry.ts";
import { civilFromDays } from "../dtypes/_cast_time.ts";
import { quoteDescr } from "../dtypes/_common.ts";
import { NAT } from "../dtypes/datetime.ts";
import { floatToHalfBits, halfBitsToFloat } from "../dtypes/_half.ts";
import type { RecordField } from "../dtypes/record.ts";
import { pyBool } from "./io.ts";

/** The text of element `index` of decoded values. */
export type ElementText = (index: number) => string;

/** NumPy's summarising threshold: a row with more elements prints 3 at each end. */
const SUMMARY_THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/**
 * The text of each of the `count` elements of `values`, which `dtype.decode` returned (a
 * record dtype's decoded with `{ layout: "columns" }`).
 * @throws {NpyDtypeError} When the values are not `count` elements (a plugin's decode).
 */
export function elementText(dtype: Dtype, values: unknown, count: number): ElementText {
  const fields = recordFields(dtype);
  if (fields !== undefined && isPlainObject(values)) return recordText(fields, values, count);
  const t = typestrOf(dtype.descr);
  if (isTypedArray(values)) {
    // Complex parts come interleaved: two floats an element.
    const per = t?.kind === "c" && floatBytes(values) !== undefined ? 2 : 1;
    if (values.length === count * per) return typedText(values, t);
  } else if (Array.isArray(values) && values.length === count) {
    const items: readonly unknown[] = values;
    if (t?.kind === "S") {
      return (i) => {
        const item = items[i];
        return typeof item === "string" ? latin1Bytes(item) : valueText(item);
      };
    }
    if (t?.kind === "V") {
      return (i) => {
        const item = items[i];
        return item instanceof Uint8Array ? pyBytes(item, true) : valueText(item);
      };
    }
    return (i) => valueText(items[i]);
  }
  throw new NpyDtypeError(
    `Cannot print values of descr ${quoteDescr(dtype.descr)}: its dtype decoded ${
      describe(values)
    } for ${count} elements`,
    { descr: dtype.descr },
  );
}

/** What a plugin's decode returned, for the error when it is not one value per element. */
function describe(values: unknown): string {
  if (isTypedArray(values)) return `a ${values.constructor.name} of length ${values.length}`;
  if (Array.isArray(values)) return `an array of length ${values.length}`;
  return values === null ? "null" : typeof values;
}

/**
 * `shape` elements from `base` (in C or Fortran order) as nested lists, as NumPy prints
 * them; past 1000 elements, 3 at each end of each axis and `...` between.
 */
export function nestedText(
  text: ElementText,
  base: number,
  shape: readonly number[],
  fortran: boolean,
): string {
  if (shape.length === 0) return text(base);
  const strides = new Array<number>(shape.length).fill(0);
  let size = 1;
  const order = [...shape.keys()];
  if (!fortran) order.reverse();
  for (const d of order) {
    strides[d] = size;
    size *= shape[d] ?? 1;
  }
  const summarise = size > SUMMARY_THRESHOLD;
  const nest = (d: number, index: number): string => {
    if (d === shape.length) return text(index);
    const len = shape[d] ?? 0, stride = strides[d] ?? 0;
    const parts: string[] = [];
    const cut = summarise && len > 2 * EDGE_ITEMS;
    for (let i = 0; i < len; i++) {
      if (cut && i === EDGE_ITEMS) {
        parts.push("...");
        i = len - EDGE_ITEMS;
      }
      parts.push(nest(d + 1, index + i * stride));
    }
    return `[${parts.join(", ")}]`;
  };
  return nest(0, base);
}

// -----------------------------------------------------------------------------------------
// What the values are

function isTypedArray(v: unknown): v is AnyTypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
    !(v instanceof Date);
}

/** A record dtype's named fields (the built-in record plugin's codec lists them). */
function recordFields(dtype: Dtype): readonly RecordField[] | undefined {
  if (typeof dtype.descr === "string") return undefined;
  const fields = (dtype as { fields?: unknown }).fields;
  return Array.isArray(fields) ? fields as RecordField[] : undefined;
}

/** The descr's type string taken apart; `undefined` for a record or a plugin's own name. */
function typestrOf(descr: Descr): Typestr | undefined {
  if (typeof descr !== "string") return undefined;
  try {
    return parseTypestr(descr);
  } catch {
    return undefined;
  }
}

/** Bytes of a float TypedArray's elements (`Float16Array` where the runtime has it). */
function floatBytes(v: AnyTypedArray): FloatBytes | undefined {
  if (v instanceof Float64Array) return 8;
  if (v instanceof Float32Array) return 4;
  const F16 = (globalThis as { Float16Array?: new () => unknown }).Float16Array;
  return F16 !== undefined && v instanceof F16 ? 2 : undefined;
}

/**
 * The text of each element of a TypedArray. Indices stay below the length
 * {@link elementText} checked: the `??` defaults are for the type checker only.
 */
function typedText(values: AnyTypedArray, t: Typestr | undefined): ElementText {
  const at = (i: number) => values[i] ?? 0;
  const bytes = floatBytes(values);
  if (bytes !== undefined) {
    const v = values as Float64Array;
    if (t?.kind === "c") {
      const size = floatSize(Math.min(bytes, t.itemsize / 2));
      return (i) => complexText(v[2 * i] ?? 0, v[2 * i + 1] ?? 0, size);
    }
    // A half decodes to float32 where the runtime has no Float16Array: print it as a half.
    const size = floatSize(t?.kind === "f" ? Math.min(bytes, t.itemsize) : bytes);
    return (i) => floatText(v[i] ?? 0, size);
  }
  if (values instanceof BigInt64Array && (t?.kind === "M" || t?.kind === "m")) {
    const unit = t.unit, count = BigInt(t.unitCount ?? 1);
    return t.kind === "M"
      ? (i) => `'${datetimeText(values[i] ?? NAT, unit, count)}'`
      : (i) => timedeltaText(values[i] ?? NAT, unit, count);
  }
  if (values instanceof Uint8Array && t?.kind === "b") return (i) => pyBool(at(i) !== 0);
  return (i) => String(at(i));
}

/** A JS value of a plugin's decode (or inside a record object) as Python would print it. */
function valueText(x: unknown): string {
  switch (typeof x) {
    case "number":
      return Number.isInteger(x) ? String(x) : floatText(x, 8);
    case "bigint":
      return String(x);
    case "boolean":
      return pyBool(x);
    case "string":
      return pyReprString(x);
    case "undefined":
      return "None";
  }
  if (x === null) return "None";
  if (x instanceof Date) return Number.isNaN(x.getTime()) ? "NaT" : `'${x.toISOString()}'`;
  if (x instanceof Uint8Array) return pyBytes(x);
  if (isTypedArray(x)) {
    const text = typedText(x, undefined);
    return `[${Array.from({ length: x.length }, (_, i) => text(i)).join(", ")}]`;
  }
  if (Array.isArray(x)) return `[${x.map(valueText).join(", ")}]`;
  if (isPlainObject(x)) {
    return `{${Object.entries(x).map(([k, v]) => `${labelOf(k)}: ${valueText(v)}`).join(", ")}}`;
  }
  return String(x);
}

/** A field name as the record's key: bare when it is an identifier, else quoted. */
function labelOf(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : JSON.stringify(name);
}

/** Records from their decoded columns: `{t: '2024-03-01', xy: [1.0, 2.0]}`. */
function recordText(
  fields: readonly RecordField[],
  columns: Record<string, unknown>,
  count: number,
): ElementText {
  const parts = fields.map((f) => {
    const per = f.shape.reduce((a, b) => a * b, 1);
    const text = elementText(f.dtype, columns[f.name], count * per);
    return { label: labelOf(f.name), text, shape: f.shape, per };
  });
  return (i) =>
    "{" + parts.map((p) => `${p.label}: ${nestedText(p.text, i * p.per, p.shape, false)}`)
      .join(", ") +
    "}";
}

// -----------------------------------------------------------------------------------------
// Floats and complex numbers

type FloatBytes = 2 | 4 | 8;

function floatSize(n: number): FloatBytes {
  return n <= 2 ? 2 : n <= 4 ? 4 : 8;
}

const ROUND: Record<FloatBytes, (x: number) => number> = {
  2: (x) => halfBitsToFloat(floatToHalfBits(x)),
  4: Math.fround,
  8: (x) => x,
};
/** Below this, NumPy prints a scalar positionally (`1000.0`), above in exponent form. */
const POSITIONAL_CUTOFF: Record<FloatBytes, number> = { 2: 1e3, 4: 1e6, 8: 1e16 };

/** The shortest digits that read back as `x` at `size` bytes: [sign, digits, exponent]. */
function shortestDigits(x: number, size: FloatBytes): [string, string, number] {
  let text = x.toExponential();
  if (size !== 8) {
    const round = ROUND[size];
    for (let p = 0; p < 17; p++) {
      const candidate = x.toExponential(p);
      if (round(Number(candidate)) === x) {
        text = tieToEven(x, p, candidate, round);
        break;
      }
    }
  }
  const [, sign = "", first = "", rest = "", exp = "0"] =
    /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text) ?? [];
  return [sign, (first + rest).replace(/0+$/, "") || "0", Number(exp)];
}

/**
 * `toExponential` rounds a tie away from zero; NumPy's Dragon4 rounds it to even. When `x`
 * lies exactly halfway at `p` digits, the truncated digits win if their last one is even
 * (and they read back as `x`).
 */
function tieToEven(x: number, p: number, candidate: string, round: (x: number) => number): string {
  const exact = /^(-?)(\d)\.(\d+)(e[+-]\d+)$/.exec(x.toExponential(Math.min(100, p + 40)));
  if (exact === null) return candidate;
  const [, sign = "", first = "", rest = "", exp = ""] = exact;
  const digits = first + rest;
  if (!/^50*$/.test(digits.slice(p + 1))) return candidate;
  const kept = digits.slice(0, p + 1);
  if (Number(kept[p]) % 2 !== 0) return candidate;
  const alt = `${sign}${kept[0]}${p > 0 ? "." + kept.slice(1) : ""}${exp}`;
  return round(Number(alt)) === x ? alt : candidate;
}

/** A float as NumPy's `str()` prints the scalar: `1.0`, `0.1`, `1e+16`, `nan`, `-inf`. */
function floatText(x: number, size: FloatBytes): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [sign, digits, exp] = shortestDigits(x, size);
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < POSITIONAL_CUTOFF[size]) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const frac = digits.slice(exp + 1);
    return `${sign}${int}.${frac || "0"}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${mantissa}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
}

/** A complex as NumPy prints it: `(1+2j)`, `(1.5-0j)`, `2j`, `(nan+infj)`. */
function complexText(re: number, im: number, size: FloatBytes): string {
  const part = (x: number) => floatText(x, size).replace(/\.0$/, "");
  const imText = Number.isNaN(im) ? "nan" : part(im);
  const sign = imText.startsWith("-") ? "" : "+";
  if (re === 0 && !Object.is(re, -0)) return `${imText}j`;
  return `(${part(re)}${sign}${imText}j)`;
}

// -----------------------------------------------------------------------------------------
// Bytes

/** An `S<n>` element (decoded as a latin1 string) as Python's `repr` of its bytes. */
function latin1Bytes(s: string): string {
  return pyBytes(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

/** Python's `repr(bytes)`; `allHex` escapes every byte, as NumPy prints `np.void`. */
function pyBytes(bytes: Uint8Array, allHex = false): string {
  const mark = !allHex && bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let s = "";
  for (const b of bytes) {
    if (allHex) s += `\\x${b.toString(16).padStart(2, "0").toUpperCase()}`;
    else if (b === 0x5c) s += "\\\\";
    else if (b === mark.charCodeAt(0)) s += `\\${mark}`;
    else if (b === 0x09) s += "\\t";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x0d) s += "\\r";
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `b${mark}${s}${mark}`;
}

// -----------------------------------------------------------------------------------------
// Datetimes and timedeltas: int64 ticks of a unit, as NumPy prints them

const TICKS_PER_DAY: Readonly<Record<string, bigint>> = {
  h: 24n,
  m: 1440n,
  s: 86400n,
  ms: 86400n * 10n ** 3n,
  us: 86400n * 10n ** 6n,
  ns: 86400n * 10n ** 9n,
  ps: 86400n * 10n ** 12n,
  fs: 86400n * 10n ** 15n,
  as: 86400n * 10n ** 18n,
};
const FRACTION_DIGITS: Readonly<Record<string, number>> = {
  ms: 3,
  us: 6,
  ns: 9,
  ps: 12,
  fs: 15,
  as: 18,
};
const UNIT_NAMES: Readonly<Record<string, string>> = {
  Y: "years",
  M: "months",
  W: "weeks",
  D: "days",
  h: "hours",
  m: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  ps: "picoseconds",
  fs: "femtoseconds",
  as: "attoseconds",
};

function floorDiv(a: bigint, b: bigint): bigint {
  const d = a / b;
  return d * b > a ? d - 1n : d;
}

function yearText(y: bigint): string {
  return y < 0n ? "-" + (-y).toString().padStart(3, "0") : y.toString().padStart(4, "0");
}

function two(n: bigint): string {
  return String(n).padStart(2, "0");
}

/** Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian, any year). */
function dateText(days: bigint): string {
  const [y, m, d] = civilFromDays(days);
  return `${yearText(y)}-${two(m + 1n)}-${two(d)}`;
}

/** A datetime64 value as NumPy prints it: `2024-03-01T09:30:00.125`, `NaT`. */
function datetimeText(ticks: bigint, unit: string | undefined, count: bigint): string {
  if (ticks === NAT) return "NaT";
  if (unit === undefined) return ticks.toString();
  const v = ticks * count;
  switch (unit) {
    case "Y":
      return yearText(1970n + v);
    case "M":
      return `${yearText(1970n + floorDiv(v, 12n))}-${two(v - floorDiv(v, 12n) * 12n + 1n)}`;
    case "W":
      return dateText(v * 7n);
    case "D":
      return dateText(v);
  }
  const perDay = TICKS_PER_DAY[unit] ?? 1n;
  const days = floorDiv(v, perDay);
  let rest = v - days * perDay;
  const digits = FRACTION_DIGITS[unit] ?? 0;
  const perSecond = 10n ** BigInt(digits);
  let fraction = "";
  if (digits > 0) {
    fraction = "." + String(rest % perSecond).padStart(digits, "0");
    rest /= perSecond;
  }
  let time: string;
  if (unit === "h") time = two(rest);
  else if (unit === "m") time = `${two(rest / 60n)}:${two(rest % 60n)}`;
  else time = `${two(rest / 3600n)}:${two((rest / 60n) % 60n)}:${two(rest % 60n)}${fraction}`;
  return `${dateText(days)}T${time}`;
}

/** A timedelta64 value as NumPy prints it: `5 seconds`, `NaT`. */
function timedeltaText(ticks: bigint, unit: string | undefined, count: bigint): string {
  if (ticks === NAT) return "NaT";
  if (unit === undefined) return `${ticks} generic time units`;
  return `${ticks * count} ${UNIT_NAMES[unit]}`;
}
