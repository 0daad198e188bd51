/**
 * NumPy's names for dtypes as input: the names `np.dtype()` takes (`"float32"`, `"int"`),
 * its one-character codes (`"f"`, `"?"`), the canonical spelling NumPy writes for each, the
 * name shown beside a type string in messages, and the error for a name nothing knows, with
 * the closest known one. Pure: strings only, no I/O.
 *
 * @module
 */

import { NpyDtypeError } from "./errors.ts";
import { closest } from "./_suggest.ts";
import { DATETIME_UNITS, parseTypestr, readTypestr, TYPESTR, type Typestr } from "./typestr.ts";

/** `"<"` on little-endian hosts, `">"` on big-endian ones: what `=` means. Internal. */
export const HOST_ORDER: "<" | ">" = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? "<" : ">";

// np.dtype() names of fixed-size types, as NumPy 2 spells them on LP64 platforms (Linux,
// macOS: C long is 64-bit; NumPy on Windows makes `long`/`l` 32-bit).
const DTYPE_NAMES: Record<string, string> = {
  bool: "b1",
  bool_: "b1",
  int8: "i1",
  byte: "i1",
  uint8: "u1",
  ubyte: "u1",
  int16: "i2",
  short: "i2",
  uint16: "u2",
  ushort: "u2",
  int32: "i4",
  intc: "i4",
  uint32: "u4",
  uintc: "u4",
  int64: "i8",
  int: "i8",
  int_: "i8",
  intp: "i8",
  long: "i8",
  longlong: "i8",
  uint64: "u8",
  uint: "u8",
  uintp: "u8",
  ulong: "u8",
  ulonglong: "u8",
  float16: "f2",
  half: "f2",
  float32: "f4",
  single: "f4",
  float64: "f8",
  double: "f8",
  float: "f8",
  complex64: "c8",
  csingle: "c8",
  complex128: "c16",
  cdouble: "c16",
  complex: "c16",
  object: "O",
  object_: "O",
};

// NumPy's one-character type codes (`dtype.char`).
const CHAR_CODES: Record<string, string> = {
  "?": "b1",
  b: "i1",
  B: "u1",
  h: "i2",
  H: "u2",
  i: "i4",
  I: "u4",
  l: "i8",
  L: "u8",
  q: "i8",
  Q: "u8",
  p: "i8",
  P: "u8",
  n: "i8",
  N: "u8",
  e: "f2",
  f: "f4",
  d: "f8",
  F: "c8",
  D: "c16",
  c: "S1",
  M: "M8",
  m: "m8",
  O: "O",
};

// Names np.dtype() knows that this library cannot take, with the reason.
const REFUSED_NAMES: Record<string, string> = {};
for (const n of ["g", "G", "longdouble", "clongdouble", "float128", "complex256"]) {
  REFUSED_NAMES[n] = "long double is platform-dependent (16 bytes on x86-64 Linux, 8 on " +
    "Windows and Apple silicon) and not supported";
}
for (
  const [n, example] of [
    ["S", "|S8"],
    ["bytes", "|S8"],
    ["bytes_", "|S8"],
    ["U", "<U8"],
    ["str", "<U8"],
    ["str_", "<U8"],
    ["unicode", "<U8"],
    ["V", "|V8"],
    ["void", "|V8"],
  ] as const
) {
  REFUSED_NAMES[n] = `NumPy's flexible type has no fixed size here: give one, e.g. ` +
    `${JSON.stringify(example)}`;
}

// NumPy 2 still takes 'a' and 'a5' (with a DeprecationWarning) but never writes them: refused
// alike, naming the 'S' spelling.
const A_ALIAS = /^a(\d*)$/;
function aliasReason(size: string): string {
  return `NumPy 2 deprecated the 'a' alias: use 'S' with ${
    size === "" ? `a size, e.g. "|S8"` : `the same size, "|S${Number(size)}"`
  }`;
}

/** `table[key]` when `table` has `key` itself (not from Object.prototype). */
function own(table: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A parsed type string spelled as NumPy's `dtype.str` spells it. */
function canonicalText(t: Typestr): string {
  if (t.kind === "O") return "|O";
  let order: string;
  // Datetimes keep an order even when the unit is generic; every other 1-byte kind has none.
  if (t.kind === "b" || t.kind === "S" || t.kind === "V" || (t.itemsize === 1 && t.kind !== "U")) {
    order = "|";
  } else if (t.byteorder === "=" || t.byteorder === "|") order = HOST_ORDER;
  else order = t.byteorder;
  let text = `${order}${t.kind}${t.size}`;
  if (t.unit !== undefined) text += `[${t.unitCount === 1 ? "" : t.unitCount}${t.unit}]`;
  return text;
}

/**
 * The canonical spelling of a simple descr, or `undefined` when `text` is neither a type
 * string nor a name np.dtype() takes for a fixed-size type. Throws only for a type string
 * NumPy refuses (`<i3`, `<M8[parsec]`), with parseTypestr's message. Internal.
 */
export function tryNormalizeTypestr(text: string): string | undefined {
  const order = /^[<>|=]/.exec(text)?.[0] ?? "";
  let rest = text.slice(order.length);
  const dt = /^(datetime64|timedelta64)(\[.*\])?$/.exec(rest);
  const named = order === "" ? own(DTYPE_NAMES, rest) : undefined;
  const code = rest.length === 1 ? own(CHAR_CODES, rest) : undefined;
  if (dt) rest = (dt[1] === "datetime64" ? "M8" : "m8") + (dt[2] ?? "");
  else if (named !== undefined) rest = named;
  else if (code !== undefined) rest = code;
  else if (/^[SUV]$/.test(rest) || Object.hasOwn(REFUSED_NAMES, rest) || A_ALIAS.test(rest)) {
    return undefined;
  }
  rest = rest.replace(/^([Mm]8)\[generic\]$/, "$1");
  if (!TYPESTR.test(order + rest)) return undefined;
  // Errors name the user's spelling ("datetime64[nss]"), not the type string it became.
  return canonicalText(readTypestr(order + rest, text));
}

/**
 * Internal (not re-exported by `mod.ts`): NumPy's name for a canonical type string, as
 * messages show it beside the spelling: `float32`, `datetime64[ns]`, `S5` …
 */
export function numpyNameOf(canonical: string): string {
  const t = parseTypestr(canonical);
  const bits = t.itemsize * 8;
  switch (t.kind) {
    case "b":
      return "bool";
    case "i":
      return `int${bits}`;
    case "u":
      return `uint${bits}`;
    case "f":
      return `float${bits}`;
    case "c":
      return `complex${bits}`;
    case "M":
    case "m":
      return (t.kind === "M" ? "datetime64" : "timedelta64") +
        (t.unit === undefined ? "" : canonical.slice(canonical.indexOf("[")));
    case "O":
      return "object";
    default:
      return `${t.kind}${t.size}`;
  }
}

let suggestions: string[] | undefined;

function suggestionList(): string[] {
  if (suggestions) return suggestions;
  const list = new Set<string>([...Object.keys(DTYPE_NAMES), "datetime64", "timedelta64"]);
  for (const unit of DATETIME_UNITS) {
    list.add(`datetime64[${unit}]`);
    list.add(`timedelta64[${unit}]`);
  }
  for (const k of ["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]) {
    list.add(k);
    list.add(canonicalText(parseTypestr(k)));
  }
  for (const k of ["c8", "c16", "M8", "m8"]) list.add(k).add(canonicalText(parseTypestr(k)));
  list.delete("object");
  list.delete("object_");
  return (suggestions = [...list]);
}

/** The error for a simple descr nothing knows, with the closest known spelling. Internal. */
export function unknownDescrError(text: string): NpyDtypeError {
  const quoted = JSON.stringify(text);
  const bare = text.replace(/^[<>|=]/, "");
  const alias = A_ALIAS.exec(bare);
  if (Object.hasOwn(REFUSED_NAMES, bare) || alias) {
    const reason = alias ? aliasReason(alias[1] ?? "") : REFUSED_NAMES[bare];
    return new NpyDtypeError(`Cannot resolve descr ${quoted}: ${reason}`, { descr: text });
  }
  const best = text.length <= 40 ? closest(text, suggestionList()) : undefined;
  if (best !== undefined) {
    const canonical = tryNormalizeTypestr(best)!;
    return new NpyDtypeError(
      `Cannot resolve descr ${quoted}: did you mean ${JSON.stringify(canonical)} ` +
        `(${numpyNameOf(canonical)})?`,
      { descr: text },
    );
  }
  return new NpyDtypeError(
    `Cannot resolve descr ${quoted}: not a NumPy type string such as "<f4" nor a dtype ` +
      `name such as "float32"`,
    { descr: text },
  );
}
