/**
 * Internal: NumPy's casts between stored dtypes, bytes to bytes. {@link castLevel} is NumPy's
 * `can_cast` (the loosest rule a cast needs), {@link castBytes} converts the elements as
 * `ndarray.astype` does: datetime units rescaled (calendar-exact for years and months), NaT
 * kept (dtypes/_cast_time.ts), NaNs bit for bit (dtypes/_nan.ts), records matched by
 * position. Where NumPy's datetime value would not be exact, this refuses. Used by the writer
 * and `encodeNpy` for chunks that carry a descr of their own. Pure.
 *
 * @module
 */

import { descrEquals } from "../lib/descr.ts";
import { NpyDtypeError } from "../lib/errors.ts";
import { sameShape } from "../lib/header.ts";
import type { Casting, CastOptions, Dtype } from "../lib/registry.ts";
import {
  canCastNumeric,
  canonicalTypestr,
  CASTINGS,
  gather,
  LEVEL,
  quoteDescr,
  scatter,
  swapInPlace,
  swappedCopy,
} from "./_common.ts";
import { HOST_LITTLE_ENDIAN } from "../lib/_typed.ts";
import { GENERIC, rescale, timeLevel, UNITS, zeroMultiplierProblem } from "./_cast_time.ts";
import { floatToHalfBits, halfToFloat32Bits } from "./_half.ts";
import { copyNaNs } from "./_nan.ts";
import type { RecordField } from "./record.ts";

const { NO, EQUIV, SAFE, SAME_KIND, UNSAFE, NEVER } = LEVEL;

const NAT = -(2n ** 63n);

/** A type string taken apart for casting (datetime units as indexes into UNITS). */
export interface Simple {
  readonly descr: string;
  readonly kind: string;
  /** Bytes per element. */
  readonly itemsize: number;
  /** Characters for `U`, bytes otherwise. */
  readonly size: number;
  readonly littleEndian: boolean;
  /** Index in {@link UNITS}; {@link GENERIC} for none. */
  readonly unit: number;
  readonly unitCount: number;
}

const NUMERIC = new Set(["b", "i", "u", "f", "c"]);
const TIME = new Set(["M", "m"]);
const FLOATS = new Set(["f", "c"]);
const FLEXIBLE = new Set(["S", "U", "V"]);

function simple(dtype: Dtype): Simple | undefined {
  if (typeof dtype.descr !== "string") return undefined;
  let t;
  try {
    t = canonicalTypestr(dtype.descr);
  } catch {
    return undefined;
  }
  return {
    descr: t.canonical,
    kind: t.kind,
    itemsize: t.itemsize,
    size: t.size,
    littleEndian: t.littleEndian,
    unit: t.unit === undefined ? GENERIC : UNITS.indexOf(t.unit),
    unitCount: t.unitCount ?? 1,
  };
}

function recordFields(dtype: Dtype): readonly RecordField[] | undefined {
  if (typeof dtype.descr === "string") return undefined;
  return (dtype as { fields?: readonly RecordField[] }).fields;
}

/**
 * The loosest casting rule NumPy's `can_cast(from, to, rule)` needs, as an index into
 * {@link CASTINGS}; {@link NEVER} when no rule allows it.
 */
export function castLevel(from: Dtype, to: Dtype): number {
  const a = simple(from), b = simple(to);
  if (a !== undefined && b !== undefined) return simpleLevel(a, b);
  const fa = recordFields(from), fb = recordFields(to);
  if (fa !== undefined && fb !== undefined) return recordLevel(from, fa, to, fb);
  if (fa !== undefined || fb !== undefined) {
    // Record <-> plain: only unsafe, and from a record only when it has a single field.
    if (fa !== undefined && fa.length !== 1) return NEVER;
    return UNSAFE;
  }
  // Dtypes of a plugin outside NumPy's type strings: only themselves.
  return descrEquals(from.descr, to.descr) ? NO : NEVER;
}

function simpleLevel(a: Simple, b: Simple): number {
  const sameOrder = a.littleEndian === b.littleEndian || a.itemsize <= 1;
  if (NUMERIC.has(a.kind) && NUMERIC.has(b.kind)) {
    const from = { kind: a.kind, size: a.itemsize }, to = { kind: b.kind, size: b.itemsize };
    for (let level = NO; level < UNSAFE; level++) {
      if (canCastNumeric(from, to, CASTINGS[level]!, sameOrder)) return level;
    }
    return UNSAFE;
  }
  if (TIME.has(a.kind) && TIME.has(b.kind)) return a.kind === b.kind ? timeLevel(a, b) : UNSAFE;
  if (NUMERIC.has(a.kind) && b.kind === "m") {
    // Booleans and integers are timedeltas (uint64 only within a kind); floats are not.
    if (a.kind === "b" || a.kind === "i" || (a.kind === "u" && a.itemsize < 8)) return SAFE;
    return a.kind === "u" ? SAME_KIND : UNSAFE;
  }
  if (FLEXIBLE.has(b.kind) && b.itemsize === 0) {
    // NumPy's can_cast takes a zero-width S, U or V as a width to adapt to the source.
    if (a.kind === b.kind) return sameOrder ? NO : EQUIV;
    if (b.kind === "V" || (b.kind === "U" && a.kind === "S") || NUMERIC.has(a.kind)) return SAFE;
    return UNSAFE;
  }
  if (FLEXIBLE.has(a.kind) && a.kind === b.kind) {
    if (a.itemsize === b.itemsize) return sameOrder ? NO : EQUIV;
    return a.itemsize < b.itemsize ? SAFE : SAME_KIND;
  }
  if (a.kind === "S" && b.kind === "U") return a.size <= b.size ? SAFE : SAME_KIND;
  if (b.kind === "V") return a.itemsize <= b.itemsize ? SAFE : UNSAFE;
  return UNSAFE;
}

function recordLevel(
  from: Dtype,
  fa: readonly RecordField[],
  to: Dtype,
  fb: readonly RecordField[],
): number {
  if (fa.length !== fb.length) return NEVER;
  let level = NO;
  let viewable = true;
  for (let i = 0; i < fa.length; i++) {
    const x = fa[i]!, y = fb[i]!;
    if (x.name !== y.name || (x.title ?? x.name) !== (y.title ?? y.name)) {
      level = Math.max(level, SAFE);
    }
    const field = fieldLevel(x, y);
    if (field === NEVER) return NEVER;
    level = Math.max(level, field);
    if (field !== NO || x.offset !== y.offset) viewable = false;
  }
  if (!viewable || from.itemsize !== to.itemsize) level = Math.max(level, EQUIV);
  return level;
}

function fieldLevel(x: RecordField, y: RecordField): number {
  const base = castLevel(x.dtype, y.dtype);
  if (sameShape(x.shape, y.shape)) return base;
  // A scalar broadcast into a subarray is at best safe; other shape changes are unsafe.
  if (x.shape.length === 0) return base === NEVER ? NEVER : Math.max(base, SAFE);
  return base === NEVER ? NEVER : UNSAFE;
}

/** Whether NumPy's `can_cast(from, to, casting)` holds. */
export function canCast(from: Dtype, to: Dtype, casting: Casting): boolean {
  return castLevel(from, to) <= CASTINGS.indexOf(casting);
}

/**
 * `bytes` (`count` whole elements of `from`; the count matters only for elements of no
 * bytes) as elements of `to`, converted as NumPy's `astype` does; `bytes` itself when the
 * descrs are equal. The `DtypePlugin.cast` of every built-in plugin: it casts between
 * any NumPy type strings and records, so it never answers `undefined`.
 * @throws {NpyDtypeError} When `can_cast` refuses the cast under `casting`, when a value
 * does not fit (a datetime that overflows the finer unit, text that is not ASCII), or for
 * the casts NumPy makes that this does not (numbers and datetimes to and from text).
 */
export function castBytes(bytes: Uint8Array, cast: Required<CastOptions>): Uint8Array {
  const { from, to, casting, count } = cast;
  if (descrEquals(from.descr, to.descr)) return bytes;
  const level = castLevel(from, to);
  const rule = CASTINGS.indexOf(casting);
  if (rule < 0) {
    throw new NpyDtypeError(
      `Cannot cast: unknown casting rule ${JSON.stringify(casting)} ` +
        `(expected "no", "equiv", "safe", "same_kind" or "unsafe")`,
    );
  }
  const a = simple(from), b = simple(to);
  if (a !== undefined && b !== undefined) {
    const reason = notConverted(a, b);
    if (reason !== undefined) throw unsupportedSimple(a, b, reason);
  }
  if (level > rule) {
    throw new NpyDtypeError(
      `Cannot cast ${quoteDescr(from.descr)} to ${quoteDescr(to.descr)} under casting ` +
        `"${casting}": ${
          level === NEVER
            ? "NumPy casts records only between the same number of fields"
            : `NumPy's can_cast allows it only under "${CASTINGS[level]}"${
              level === UNSAFE ? "" : " or looser"
            }`
        }`,
      { descr: from.descr },
    );
  }
  return convert(bytes, count, from, to);
}

/** Why castBytes does not convert between these type strings, or `undefined` when it does. */
function notConverted(a: Simple, b: Simple): string | undefined {
  if (FLEXIBLE.has(b.kind) && b.itemsize === 0 && a.itemsize > 0) {
    return `elements of no bytes cannot hold the values (NumPy's can_cast takes '${b.descr}' ` +
      `as a width to adapt, and its copy into such elements drops them)`;
  }
  if (b.kind === "V") return undefined;
  const textA = FLEXIBLE.has(a.kind), textB = FLEXIBLE.has(b.kind);
  if (a.kind === "V") {
    return textB
      ? "NumPy cannot cast void bytes to text either"
      : "NumPy cannot cast void bytes to numbers either";
  }
  if (textA !== textB) {
    return "numbers and datetimes are not converted to or from text (NumPy formats and " +
      "parses them with Python's str, int and float)";
  }
  if (a.kind === b.kind && TIME.has(a.kind)) return zeroMultiplierProblem(a, b);
  return undefined;
}

function convert(bytes: Uint8Array, n: number, from: Dtype, to: Dtype): Uint8Array {
  if (descrEquals(from.descr, to.descr)) return bytes;
  const a = simple(from), b = simple(to);
  if (a !== undefined && b !== undefined) return convertSimple(bytes, n, a, b);
  const fa = recordFields(from), fb = recordFields(to);
  const out = new Uint8Array(n * to.itemsize);
  if (fa !== undefined && fb !== undefined) {
    for (let i = 0; i < fa.length; i++) {
      const x = fa[i]!, y = fb[i]!;
      const src = column(bytes, n, from.itemsize, x.offset, x.dtype.itemsize * perOf(x.shape));
      const per = perOf(y.shape);
      let cast = convert(src, n * perOf(x.shape), x.dtype, y.dtype);
      if (!sameShape(x.shape, y.shape)) {
        if (x.shape.length !== 0) throw unsupported(from, to, "a subarray field changes shape");
        cast = repeat(cast, n, y.dtype.itemsize, per);
      }
      scatter(cast, out, n, y.dtype.itemsize * per, y.offset, to.itemsize);
    }
    return out;
  }
  if (fb !== undefined && fa === undefined && a !== undefined && a.kind !== "V") {
    // A plain value goes into every field (each subarray element too), as NumPy does.
    for (const y of fb) {
      const per = perOf(y.shape);
      const cast = repeat(convert(bytes, n, from, y.dtype), n, y.dtype.itemsize, per);
      scatter(cast, out, n, y.dtype.itemsize * per, y.offset, to.itemsize);
    }
    return out;
  }
  if (fa !== undefined && fb === undefined && b !== undefined && b.kind !== "V") {
    const x = fa[0]!;
    if (x.shape.length !== 0) throw unsupported(from, to, "its field is a subarray");
    return convert(column(bytes, n, from.itemsize, x.offset, x.dtype.itemsize), n, x.dtype, to);
  }
  throw unsupported(from, to, "not a cast between NumPy type strings or records");
}

function unsupportedSimple(a: Simple, b: Simple, reason: string): NpyDtypeError {
  return new NpyDtypeError(
    `Cannot cast '${a.descr}' to '${b.descr}': ${reason}; convert the values in JavaScript ` +
      `first`,
    { descr: a.descr },
  );
}

function perOf(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

function unsupported(from: Dtype, to: Dtype, reason: string): NpyDtypeError {
  return new NpyDtypeError(
    `Cannot cast ${quoteDescr(from.descr)} to ${quoteDescr(to.descr)}: ${reason}; convert ` +
      `the values in JavaScript first`,
    { descr: from.descr },
  );
}

// Each of n elements of `size` bytes, repeated `per` times.
function repeat(bytes: Uint8Array, n: number, size: number, per: number): Uint8Array {
  if (per === 1) return bytes;
  const out = new Uint8Array(n * size * per);
  for (let i = 0; i < n; i++) {
    const e = bytes.subarray(i * size, (i + 1) * size);
    for (let k = 0; k < per; k++) out.set(e, (i * per + k) * size);
  }
  return out;
}

// ---- simple (type string) casts -------------------------------------------------------

function convertSimple(bytes: Uint8Array, n: number, a: Simple, b: Simple): Uint8Array {
  if (b.kind === "V") return toVoid(bytes, n, a, b);
  const reason = notConverted(a, b);
  if (reason !== undefined) throw unsupportedSimple(a, b, reason);
  if (FLEXIBLE.has(a.kind)) return convertText(bytes, n, a, b);
  if (sameButOrder(a, b)) {
    // Only the byte order differs: swap each element (each part of a complex).
    const part = a.kind === "c" ? a.itemsize / 2 : a.itemsize;
    return swappedCopy(bytes.subarray(0, n * a.itemsize), part);
  }
  const partSize = a.kind === "c" ? a.itemsize / 2 : a.itemsize;
  const host = hostOrder(bytes, a.kind === "c" ? 2 * n : n, partSize, a.littleEndian);
  const values = read(host, n, a);
  if (TIME.has(a.kind) && TIME.has(b.kind) && a.kind === b.kind) {
    return inOrder(write({ re: rescale(values.re as BigInt64Array, a, b), big: true }, b), b);
  }
  const out = write(values, b);
  if (FLOATS.has(a.kind) && FLOATS.has(b.kind)) {
    // NaNs as NumPy's cast makes them (sign, payload, quiet bit), from the source bits:
    // a JS number may not keep them. Complex to float takes the real parts.
    const outPart = b.kind === "c" ? b.itemsize / 2 : b.itemsize;
    const both = a.kind === "c" && b.kind === "c";
    copyNaNs(
      host,
      partSize,
      out,
      outPart,
      both ? 2 * n : n,
      both ? 1 : a.kind === "c" ? 2 : 1,
      both ? 1 : b.kind === "c" ? 2 : 1,
    );
  }
  return inOrder(out, b);
}

// Host-order elements of `b` in b's byte order (each part of a complex swapped).
function inOrder(out: Uint8Array, b: Simple): Uint8Array {
  const part = b.kind === "c" ? b.itemsize / 2 : b.itemsize;
  if (part > 1 && b.littleEndian !== HOST_LITTLE_ENDIAN) swapInPlace(out, part);
  return out;
}

function sameButOrder(a: Simple, b: Simple): boolean {
  return a.kind === b.kind && a.itemsize === b.itemsize && a.unit === b.unit &&
    a.unitCount === b.unitCount && a.littleEndian !== b.littleEndian;
}

/** Elements in host order: integers of 8 bytes and datetimes as bigints; complex split. */
interface Values {
  re: ArrayLike<number> | ArrayLike<bigint>;
  im?: ArrayLike<number>;
  big: boolean;
}

// n elements of `size` bytes in host byte order at an aligned offset: a view of `bytes`
// when they already are (only ever read), else a copy.
function hostOrder(bytes: Uint8Array, n: number, size: number, littleEndian: boolean) {
  const elems = bytes.subarray(0, n * size);
  if (size > 1 && littleEndian !== HOST_LITTLE_ENDIAN) return swappedCopy(elems, size);
  return elems.byteOffset % size === 0 ? elems : elems.slice();
}

// n elements of `a` from their host-order bytes.
function read(host: Uint8Array, n: number, a: Simple): Values {
  const partSize = a.kind === "c" ? a.itemsize / 2 : a.itemsize;
  const buf = host.buffer as ArrayBuffer;
  const at = host.byteOffset;
  switch (a.kind) {
    case "b":
      return { re: Uint8Array.from(host, (x) => (x === 0 ? 0 : 1)), big: false };
    case "M":
    case "m":
      return { re: new BigInt64Array(buf, at, n), big: true };
    case "i":
    case "u": {
      const signed = a.kind === "i";
      switch (a.itemsize) {
        case 1:
          return { re: signed ? new Int8Array(buf, at, n) : host, big: false };
        case 2:
          return {
            re: signed ? new Int16Array(buf, at, n) : new Uint16Array(buf, at, n),
            big: false,
          };
        case 4:
          return {
            re: signed ? new Int32Array(buf, at, n) : new Uint32Array(buf, at, n),
            big: false,
          };
        default:
          return {
            re: signed ? new BigInt64Array(buf, at, n) : new BigUint64Array(buf, at, n),
            big: true,
          };
      }
    }
    case "f":
      return { re: floats(host, partSize, n), big: false };
    case "c": {
      const both = floats(host, partSize, 2 * n);
      const re = new Float64Array(n), im = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        re[i] = both[2 * i]!;
        im[i] = both[2 * i + 1]!;
      }
      return { re, im, big: false };
    }
  }
  throw new NpyDtypeError(`Cannot cast '${a.descr}': unknown kind '${a.kind}'`, {
    descr: a.descr,
  });
}

function floats(host: Uint8Array, size: number, n: number): ArrayLike<number> {
  if (size === 8) return new Float64Array(host.buffer, host.byteOffset, n);
  if (size === 4) return new Float32Array(host.buffer, host.byteOffset, n);
  const bits = new Uint16Array(host.buffer, host.byteOffset, n);
  const out = new Float32Array(n);
  const out32 = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) out32[i] = halfToFloat32Bits(bits[i]!);
  return out;
}

// Values as host-order elements of `b` (inOrder() puts them in b's byte order).
function write(v: Values, b: Simple): Uint8Array {
  const n = v.re.length;
  const out = new Uint8Array(n * b.itemsize);
  const buf = out.buffer;
  switch (b.kind) {
    case "b": {
      for (let i = 0; i < n; i++) {
        const x = v.re[i]!;
        out[i] = (x !== 0 && x !== 0n) || (v.im !== undefined && v.im[i] !== 0) ? 1 : 0;
      }
      return out;
    }
    case "M":
    case "m": {
      const dst = new BigInt64Array(buf);
      if (v.big) dst.set(v.re as ArrayLike<bigint>);
      else {
        const re = v.re as ArrayLike<number>;
        for (let i = 0; i < n; i++) dst[i] = floatToInt64(re[i]!, true);
      }
      break;
    }
    case "i":
    case "u":
      writeInt(v, b, buf, n);
      break;
    case "f":
      writeFloat(v, b.itemsize, out, 0, 1);
      break;
    case "c": {
      writeFloat(v, b.itemsize / 2, out, 0, 2);
      if (v.im !== undefined) writeFloat({ re: v.im, big: false }, b.itemsize / 2, out, 1, 2);
      break;
    }
  }
  return out;
}

// A float as int64 the way NumPy's casts do on common hardware: truncated; NaN, ±inf and
// out-of-range values (undefined in C) become INT64_MIN, NaT for datetimes.
function floatToInt64(x: number, _time: boolean): bigint {
  if (!Number.isFinite(x) || x >= 2 ** 63 || x < -(2 ** 63)) return NAT;
  return BigInt(Math.trunc(x));
}

function writeInt(v: Values, b: Simple, buf: ArrayBuffer, n: number): void {
  const signed = b.kind === "i";
  const bits = b.itemsize * 8;
  if (b.itemsize === 8) {
    const dst = signed ? new BigInt64Array(buf) : new BigUint64Array(buf);
    if (v.big) dst.set(v.re as ArrayLike<bigint>);
    else {
      const re = v.re as ArrayLike<number>;
      const wrap = signed ? BigInt.asIntN : BigInt.asUintN;
      for (let i = 0; i < n; i++) dst[i] = wrap(64, floatToInt64(re[i]!, false));
    }
    return;
  }
  const Ctor = signed
    ? (bits === 8 ? Int8Array : bits === 16 ? Int16Array : Int32Array)
    : (bits === 8 ? Uint8Array : bits === 16 ? Uint16Array : Uint32Array);
  const dst = new Ctor(buf);
  if (v.big) {
    const re = v.re as ArrayLike<bigint>;
    for (let i = 0; i < n; i++) dst[i] = Number(BigInt.asIntN(bits, re[i]!));
  } else {
    // Typed-array stores truncate and wrap, as C casts do for the values NumPy defines.
    dst.set(v.re as ArrayLike<number>);
  }
}

function writeFloat(v: Values, size: number, out: Uint8Array, start: number, step: number) {
  const n = v.re.length;
  if (step === 1 && !v.big && size !== 2) {
    // A typed-array store rounds once to nearest, ties to even, as a C cast does.
    (size === 8 ? new Float64Array(out.buffer, 0, n) : new Float32Array(out.buffer, 0, n))
      .set(v.re as ArrayLike<number>);
    return;
  }
  const view = new DataView(out.buffer);
  const le = HOST_LITTLE_ENDIAN;
  for (let i = 0, at = start * size; i < n; i++, at += step * size) {
    const x = v.re[i]!;
    if (size === 8) view.setFloat64(at, typeof x === "bigint" ? Number(x) : x, le);
    else if (size === 4) view.setFloat32(at, typeof x === "bigint" ? bigintToFloat32(x) : x, le);
    else view.setUint16(at, floatToHalfBits(typeof x === "bigint" ? Number(x) : x), le);
  }
}

/** A bigint rounded once to the nearest float32 (ties to even), as a C cast does. */
export function bigintToFloat32(v: bigint): number {
  const f = Math.fround(Number(v));
  if (v >= -(2n ** 53n) && v <= 2n ** 53n) return f; // Number(v) was exact
  if (!Number.isFinite(f)) return f;
  // Rounding twice (to float64, then float32) can miss by one ulp at a tie: check both
  // neighbours of f against the exact value.
  const bits = new Uint32Array(new Float32Array([f]).buffer);
  const up = new Float32Array(new Uint32Array([bits[0]! + 1]).buffer)[0]!;
  const down = new Float32Array(new Uint32Array([bits[0]! - 1]).buffer)[0]!;
  let best = f;
  let bestErr = abs(BigInt(f) - v);
  for (const c of [up, down]) {
    if (!Number.isFinite(c)) continue;
    const err = abs(BigInt(c) - v);
    const cBits = new Uint32Array(new Float32Array([c]).buffer)[0]!;
    if (err < bestErr || (err === bestErr && (cBits & 1) === 0)) {
      best = c;
      bestErr = err;
    }
  }
  return best;
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

// ---- text and void ---------------------------------------------------------------------

function convertText(bytes: Uint8Array, n: number, a: Simple, b: Simple): Uint8Array {
  const out = new Uint8Array(n * b.itemsize);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    // The element's code units, trailing NULs stripped (NumPy's value of the string).
    const units: number[] = [];
    for (let k = 0; k < a.size; k++) {
      const at = i * a.itemsize + (a.kind === "U" ? 4 * k : k);
      units.push(a.kind === "U" ? view.getUint32(at, a.littleEndian) : bytes[at]!);
    }
    while (units.length > 0 && units[units.length - 1] === 0) units.pop();
    if (a.kind !== b.kind) {
      const bad = units.findIndex((u) => u > 0x7f);
      if (bad >= 0) {
        throw new NpyDtypeError(
          `Cannot cast element ${i} from '${a.descr}' to '${b.descr}': ${
            a.kind === "S" ? "byte" : "character"
          } ${units[bad]} at position ${bad} is not ASCII (NumPy refuses it too)`,
          { descr: a.descr },
        );
      }
    }
    const count = Math.min(units.length, b.size);
    for (let k = 0; k < count; k++) {
      if (b.kind === "U") outView.setUint32(i * b.itemsize + 4 * k, units[k]!, b.littleEndian);
      else out[i * b.itemsize + k] = units[k]!;
    }
  }
  return out;
}

// Into V<n>: the element's bytes in host order (as NumPy copies them), cut or zero-padded.
function toVoid(bytes: Uint8Array, n: number, a: Simple, b: Simple): Uint8Array {
  let src = bytes;
  if (a.kind !== "S" && a.kind !== "V") {
    const part = a.kind === "c" ? a.itemsize / 2 : a.kind === "U" ? 4 : a.itemsize;
    src = hostOrder(bytes, n * a.itemsize / part, part, a.littleEndian);
  }
  const out = new Uint8Array(n * b.itemsize);
  const width = Math.min(a.itemsize, b.itemsize);
  for (let i = 0; i < n; i++) {
    out.set(src.subarray(i * a.itemsize, i * a.itemsize + width), i * b.itemsize);
  }
  return out;
}

/** The `width`-byte field at `offset` of n records of `stride` bytes, as a packed column. */
function column(src: Uint8Array, n: number, stride: number, offset: number, width: number) {
  const out = new Uint8Array(n * width);
  gather(src, out, n, width, offset, stride);
  return out;
}
