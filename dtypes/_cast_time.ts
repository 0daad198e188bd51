/**
 * Internal: NumPy's casts between datetimes and between timedeltas, for dtypes/_cast.ts. The
 * casting level is NumPy's `time_to_time_resolve_descriptors`; the values are those of
 * `astype`: ticks rescaled by NumPy's conversion factor and floored (years and months of
 * datetimes through the calendar), NaT kept, and a value NumPy would wrap refused. Pure.
 *
 * @module
 */

import { DATETIME_UNITS, type DatetimeUnit } from "../lib/descr.ts";
import { NpyDtypeError } from "../lib/errors.ts";
import { LEVEL } from "./_common.ts";
import type { Simple } from "./_cast.ts";

const { NO, EQUIV, SAFE, SAME_KIND, UNSAFE } = LEVEL;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NAT = INT64_MIN;

// NumPy's NPY_DATETIMEUNIT order, and _datetime_factors: each unit in the next one.
export const UNITS: readonly DatetimeUnit[] = DATETIME_UNITS;
const FACTORS = [1n, 1n, 7n, 24n, 60n, 60n, 1000n, 1000n, 1000n, 1000n, 1000n, 1000n, 1n];
/** The unit index of the generic unit (`<M8`), after the 13 units. */
export const GENERIC = 13;
const Y = 0, M = 1, W = 2, D = 3;
const U64 = 2n ** 64n;
const TOP_BYTE = 0xff00000000000000n;

// NumPy's time_to_time_resolve_descriptors: the safety of a datetime or timedelta cast.
export function timeLevel(a: Simple, b: Simple): number {
  const sameOrder = a.littleEndian === b.littleEndian;
  if ((a.unit === b.unit && a.unitCount === b.unitCount) || metricPrefix(a, b)) {
    return sameOrder ? NO : EQUIV;
  }
  if (a.unit === GENERIC) return SAFE;
  if (b.unit === GENERIC) return UNSAFE; // and the cast itself fails
  const timedelta = a.kind === "m";
  if (timedelta && (a.unit <= M) !== (b.unit <= M)) return UNSAFE;
  if (a.unit <= b.unit) return metadataDivides(a, b, timedelta) ? SAFE : SAME_KIND;
  return SAME_KIND;
}

const S = 6;

// NumPy's shortcut for "common metric prefix conversions": from [1000ms], [1000000us] or
// [1000000000ns] to [s] (and so on down to [as]) is a "no" cast, like equal units. Its test
// divides the multipliers in C, truncating, so [2001ms] to [2s] passes too (while the values
// are still converted, 2001 ms a tick to 2 s).
function metricPrefix(a: Simple, b: Simple): boolean {
  const step = a.unit - b.unit;
  return b.unit >= S && b.unit !== GENERIC && step >= 1 && step <= 3 &&
    b.unitCount !== 0 && Math.trunc(a.unitCount / b.unitCount) === 1000 ** step;
}

function unitsFactor(big: number, little: number): bigint {
  let factor = 1n;
  for (let u = big; u < little; u++) {
    factor = (factor * FACTORS[u]!) % U64;
    if ((factor & TOP_BYTE) !== 0n) return 0n;
  }
  return factor;
}

// NumPy's datetime_metadata_divides(dividend = a, divisor = b), its crude overflow check too.
function metadataDivides(a: Simple, b: Simple, strict: boolean): boolean {
  if (a.unit === GENERIC) return true;
  if (b.unit === GENERIC) return false;
  let num1 = BigInt(a.unitCount), num2 = BigInt(b.unitCount);
  if (a.unit !== b.unit) {
    if (a.unit === Y) {
      if (b.unit === M) num1 *= 12n;
      else return !strict;
    } else if (b.unit === Y) {
      if (a.unit === M) num2 *= 12n;
      else return !strict;
    } else if (a.unit === M || b.unit === M) {
      return !strict;
    }
    // The finer unit's factor goes on the coarser side.
    if (a.unit > b.unit) {
      num2 = (num2 * unitsFactor(b.unit, a.unit)) % U64;
      if (num2 === 0n) return false;
    } else {
      num1 = (num1 * unitsFactor(a.unit, b.unit)) % U64;
      if (num1 === 0n) return false;
    }
  }
  if ((num1 & TOP_BYTE) !== 0n || (num2 & TOP_BYTE) !== 0n) return false;
  return num2 !== 0n && num1 % num2 === 0n; // (NumPy divides by zero for [0s])
}

/**
 * Why a cast between units with a zero multiplier (NumPy's `[0s]`, which it saves and loads)
 * is refused, or `undefined`: NumPy divides by the multiplier, so it fails (or crashes) on
 * any unit change to or from one. Byte swaps and casts from the generic unit are fine.
 */
export function zeroMultiplierProblem(a: Simple, b: Simple): string | undefined {
  if (a.unitCount !== 0 && b.unitCount !== 0) return undefined;
  if ((a.unit === b.unit && a.unitCount === b.unitCount) || a.unit === GENERIC) return undefined;
  return "a zero unit multiplier has no scale to convert (NumPy's cast fails on it)";
}

/** Ticks of `b` per tick of `a` as a reduced fraction `[num, denom]`. */
type Fraction = [bigint, bigint];

/**
 * NumPy's get_datetime_conversion_factor, twice: `numpy` is the fraction NumPy computes (in
 * uint64 that wraps, then cast to int64), `exact` the one it means. They differ where NumPy's
 * own factor overflows, as from [3Y] to [ns] or from [1000m] to [1000fs]: there its astype
 * gives wrong values for all but the smallest ticks.
 */
function conversionFactors(a: Simple, b: Simple): { numpy: Fraction; exact: Fraction } {
  if (a.unit === GENERIC) return { numpy: [1n, 1n], exact: [1n, 1n] };
  if (b.unit === GENERIC) {
    throw new NpyDtypeError(
      `Cannot cast '${a.descr}' to '${b.descr}': NumPy cannot convert a specific unit to ` +
        `the generic one`,
      { descr: a.descr },
    );
  }
  const [small, big, swapped] = a.unit <= b.unit ? [a.unit, b.unit, false] : [b.unit, a.unit, true];
  let num = 1n, denom = 1n;
  if (small !== big) {
    if (small === Y || small === M) {
      // Years and months in other units: the 400-year Gregorian average, as NumPy does.
      const daysPer400 = 97n + 400n * 365n;
      if (small === Y && big === M) num = 12n;
      else if (big === W) {
        num = daysPer400;
        denom = small === Y ? 400n * 7n : 400n * 12n * 7n;
      } else {
        num = daysPer400 * unitsFactor(D, big);
        denom = small === Y ? 400n : 400n * 12n;
      }
    } else {
      num = unitsFactor(small, big);
    }
  }
  if (num === 0n) {
    throw new NpyDtypeError(
      `Cannot cast '${a.descr}' to '${b.descr}': the conversion factor between units ` +
        `${UNITS[small]} and ${UNITS[big]} overflows 64 bits (NumPy refuses it too)`,
      { descr: a.descr },
    );
  }
  if (swapped) [num, denom] = [denom, num];
  const count = [BigInt(a.unitCount), BigInt(b.unitCount)];
  const exact = reduce(num * count[0]!, denom * count[1]!);
  const wrapped = reduce((num % U64) * count[0]! % U64, denom * count[1]! % U64);
  return { exact, numpy: [BigInt.asIntN(64, wrapped[0]), BigInt.asIntN(64, wrapped[1])] };
}

function reduce(num: bigint, denom: bigint): Fraction {
  let [x, y] = [num, denom];
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? [num, denom] : [num / x, denom / x];
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

// NumPy's linear cast loop on one tick, in C's int64 arithmetic (it wraps, and truncates
// toward zero): `t < 0 ? (t * num - (denom - 1)) / denom : t * num / denom`. `undefined`
// where C traps (a division by zero, or INT64_MIN / -1).
function numpyScaled(t: bigint, [num, denom]: Fraction): bigint | undefined {
  const top = t < 0n
    ? BigInt.asIntN(64, BigInt.asIntN(64, t * num) - BigInt.asIntN(64, denom - 1n))
    : BigInt.asIntN(64, t * num);
  if (denom === 0n || (top === INT64_MIN && denom === -1n)) return undefined;
  return top / denom;
}

/**
 * The ticks of `a` as ticks of `b`, as NumPy's `astype` gives them, NaT kept.
 * @throws {NpyDtypeError} For an element whose value NumPy's cast does not give exactly: it
 * overflows int64 in `b`, NumPy's int64 arithmetic wraps on it, or NumPy's own conversion
 * factor between the units overflows (the message says which), and for casts NumPy refuses.
 */
export function rescale(ticks: BigInt64Array, a: Simple, b: Simple): BigInt64Array {
  const n = ticks.length;
  const out = new BigInt64Array(n);
  const factors = conversionFactors(a, b);
  const [num, denom] = factors.exact;
  const calendar = a.kind === "M" && (a.unit <= M || b.unit <= M);
  // (Calendar casts do not use the factor.)
  const factorWraps = !calendar && (factors.numpy[0] !== num || factors.numpy[1] !== denom);
  if (calendar && a.unit === GENERIC && ticks.some((t) => t !== NAT)) {
    throw new NpyDtypeError(
      `Cannot cast '${a.descr}' to '${b.descr}': a datetime with the generic unit has no ` +
        `date to put in years or months (NumPy refuses it too)`,
      { descr: a.descr },
    );
  }
  for (let i = 0; i < n; i++) {
    const t = ticks[i]!;
    if (t === NAT) {
      out[i] = NAT;
      continue;
    }
    // The exact value, and NumPy's (calendar casts: undefined where NumPy's wraps).
    let r: bigint | undefined, numpy: bigint | undefined;
    if (calendar) r = numpy = calendarCast(t, a, b);
    else {
      r = floorDiv(t * num, denom);
      numpy = numpyScaled(t, factors.numpy);
    }
    if (r !== undefined && r === numpy && r > INT64_MIN && r <= INT64_MAX) {
      out[i] = r;
      continue;
    }
    const fits = r !== undefined && r > INT64_MIN && r <= INT64_MAX;
    const astype = `so its astype ${numpy === undefined ? "fails" : `gives ${numpy}`}, not ${r}`;
    throw new NpyDtypeError(
      `Cannot cast ${t}n (element ${i}) from '${a.descr}' to '${b.descr}': ${
        factorWraps
          ? `NumPy's conversion factor between the units overflows 64 bits, ${astype}`
          : fits
          ? `NumPy's int64 arithmetic overflows on it, ${astype}`
          : `the value overflows the int64 ticks of '${b.descr}' (NumPy would wrap it silently)`
      }`,
      { descr: b.descr },
    );
  }
  return out;
}

// Ticks per day of a unit finer than a day (exact, however large).
function ticksPerDay(unit: number): bigint {
  let per = 1n;
  for (let u = D; u < unit; u++) per *= FACTORS[u]!;
  return per;
}

// A datetime with a year or month unit on one side: through the calendar, as NumPy's
// convert_datetime_to_datetimestruct / convert_datetimestruct_to_datetime do. `undefined`
// when an intermediate value leaves int64 (where NumPy wraps).
function calendarCast(t: bigint, a: Simple, b: Simple): bigint | undefined {
  const fits = (x: bigint) => x >= INT64_MIN && x <= INT64_MAX;
  const v = t * BigInt(a.unitCount);
  if (!fits(v)) return undefined;
  // To (days, ticks of unit `b` within the day) or (year, month).
  let year: bigint, month: bigint; // month 0..11
  let days: bigint | undefined;
  let sub = 0n; // attoseconds within the day
  if (a.unit === Y) {
    year = 1970n + v;
    month = 0n;
  } else if (a.unit === M) {
    year = 1970n + floorDiv(v, 12n);
    month = v - floorDiv(v, 12n) * 12n;
  } else {
    if (a.unit === W) days = v * 7n;
    else if (a.unit === D) days = v;
    else {
      const per = ticksPerDay(a.unit);
      days = floorDiv(v, per);
      sub = (v - days * per) * (10n ** 18n * 86_400n / per);
    }
    // NumPy's days_to_yearsdays subtracts up to 157053 days first, wrapping below int64.
    if (!fits(days) || days - 157_053n < INT64_MIN) return undefined;
    [year, month] = civilFromDays(days);
  }
  let r: bigint;
  if (b.unit === Y) r = year - 1970n;
  else if (b.unit === M) r = (year - 1970n) * 12n + month;
  else {
    days ??= daysFromCivil(year, month);
    if (!fits(days)) return undefined;
    if (b.unit === W) r = floorDiv(days, 7n);
    else if (b.unit === D) r = days;
    else {
      const per = ticksPerDay(b.unit);
      r = days * per + sub / (10n ** 18n * 86_400n / per);
    }
  }
  if (!fits(r) || r - BigInt(b.unitCount) < INT64_MIN) return undefined;
  return b.unitCount > 1 ? floorDiv(r, BigInt(b.unitCount)) : r;
}

// Howard Hinnant's days_from_civil / civil_from_days, on bigints (proleptic Gregorian).
function daysFromCivil(year: bigint, month0: bigint): bigint {
  const m = month0 + 1n;
  const y = m <= 2n ? year - 1n : year;
  const era = floorDiv(y, 400n);
  const yoe = y - era * 400n;
  const mp = (m + 9n) % 12n;
  const doy = (153n * mp + 2n) / 5n; // day 1 of the month
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146097n + doe - 719468n;
}

/**
 * The proleptic Gregorian date of a day count since 1970-01-01: year, month (0-11) and day
 * of the month (1-31), for any year (Howard Hinnant's days_from_civil, inverted).
 */
export function civilFromDays(days: bigint): [year: bigint, month: bigint, day: bigint] {
  const z = days + 719468n;
  const era = floorDiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  return [y, m - 1n, d];
}
