/**
 * The datetime dtype plugin: `M8[unit]` (datetime64) and `m8[unit]` (timedelta64) for every
 * NumPy unit, multiplied units such as `[10us]`, and the generic unit, in either byte order.
 * Values are int64 ticks since 1970-01-01T00:00 (datetimes) or tick counts (timedeltas);
 * NaT is −2^63.
 *
 * @module
 */

import type { DatetimeUnit } from "../lib/descr.ts";
import { NpyDtypeError } from "../lib/errors.ts";
import { castBytes } from "./_cast.ts";
import type { DecodeOptions, Dtype, DtypePlugin, EncodeOptions } from "../lib/registry.ts";
import {
  castingOf,
  checkTarget,
  checkWhole,
  swapInPlace,
  swappedCopy,
  typestrPlugin,
} from "./_common.ts";
import { bytesOf, describeValue, typedInfo, typedName } from "../lib/_typed.ts";

/**
 * NumPy's "not a time" value, −2^63, as stored in `M8`/`m8` data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, NAT } from "@npy/append-array";
 *
 * const m8 = defaultRegistry.resolve("<m8[s]");
 * const bytes = new Uint8Array(8);
 * m8.encodeInto([null], bytes);
 * assert.equal((m8.decode(bytes) as BigInt64Array)[0], NAT);
 * ```
 */
export const NAT: bigint = -(2n ** 63n);

/**
 * What the datetime dtype encodes from: a `BigInt64Array` of ticks (written with no copy when
 * in host order), another integer TypedArray, or an array of ticks (`bigint` or integer
 * `number`), `Date`s (`M8` with a unit only), and `null` or `NaN` for NaT.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DatetimeDtype, type DatetimeInput, defaultRegistry, NAT } from "@npy/append-array";
 *
 * const ms = defaultRegistry.resolve("<M8[ms]") as DatetimeDtype;
 * const input: DatetimeInput = [0n, 1500, new Date(2000), null, NaN];
 * const bytes = new Uint8Array(40);
 * ms.encodeInto(input, bytes);
 * assert.deepEqual([...ms.decode(bytes)], [0n, 1500n, 2000n, NAT, NAT]);
 * ```
 */
export type DatetimeInput =
  | BigInt64Array
  | ArrayLike<bigint | number | Date | null>
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

/**
 * The codec the datetime plugin returns for `'<M8[ns]'`, `'>m8[10s]'`, `'<M8'`…
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DatetimeDtype, defaultRegistry } from "@npy/append-array";
 *
 * const m8 = defaultRegistry.resolve(">m8[10us]") as DatetimeDtype;
 * assert.deepEqual([m8.kind, m8.unit, m8.unitCount], ["m", "us", 10]);
 * const day = defaultRegistry.resolve("<M8[D]") as DatetimeDtype;
 * assert.equal(day.fromDate(new Date("1970-01-03T12:00:00Z")), 2n); // floored to the day
 * assert.equal(day.toDate(2n)?.toISOString(), "1970-01-03T00:00:00.000Z");
 * ```
 */
export interface DatetimeDtype extends Dtype<BigInt64Array> {
  /** The canonical descr, e.g. `"<M8[ns]"`. */
  readonly descr: string;
  /** `"M"` datetime64, `"m"` timedelta64. */
  readonly kind: "M" | "m";
  /** The unit; `undefined` for the generic unit. */
  readonly unit: DatetimeUnit | undefined;
  /** The unit multiplier (`10` in `[10us]`). */
  readonly unitCount: number;
  /** Encodes ticks, `Date`s (`M8`) and NaT (`null`/`NaN`). */
  encodeInto(values: DatetimeInput, target: Uint8Array, options?: EncodeOptions): number;
  /** A view of a host-order `BigInt64Array`'s bytes. */
  view(values: unknown, options?: EncodeOptions): Uint8Array | undefined;
  /**
   * The `Date` for one tick value of this `M8` dtype (floored to milliseconds); `null` for
   * NaT or when the instant is outside the range `Date` holds.
   * @throws {NpyDtypeError} For `m8`, the generic unit or a zero multiplier (`[0s]`).
   */
  toDate(ticks: bigint): Date | null;
  /**
   * The ticks of this `M8` dtype for a `Date`, floored to the unit as NumPy casts; NaT for
   * an invalid `Date`.
   * @throws {NpyDtypeError} For `m8`, the generic unit, a zero multiplier, or a `Date` out of
   *   the int64 range.
   */
  fromDate(date: Date): bigint;
}

// Milliseconds per unit as a fraction [numerator, denominator]; months and years are
// calendar-based and handled separately.
const MS_PER_UNIT: Record<string, readonly [bigint, bigint]> = {
  W: [604_800_000n, 1n],
  D: [86_400_000n, 1n],
  h: [3_600_000n, 1n],
  m: [60_000n, 1n],
  s: [1000n, 1n],
  ms: [1n, 1n],
  us: [1n, 1000n],
  ns: [1n, 1_000_000n],
  ps: [1n, 1_000_000_000n],
  fs: [1n, 1_000_000_000_000n],
  as: [1n, 1_000_000_000_000_000n],
};

const INT64_MAX = 2n ** 63n - 1n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

class DatetimeCodec implements DatetimeDtype {
  readonly descr: string;
  readonly itemsize = 8;
  readonly kind: "M" | "m";
  readonly unit: DatetimeUnit | undefined;
  readonly unitCount: number;
  readonly #native: boolean;

  constructor(
    descr: string,
    kind: "M" | "m",
    unit: DatetimeUnit | undefined,
    unitCount: number,
    native: boolean,
  ) {
    this.descr = descr;
    this.kind = kind;
    this.unit = unit;
    this.unitCount = unitCount;
    this.#native = native;
  }

  count(values: unknown, options?: EncodeOptions): number {
    const info = typedInfo(values);
    if (info !== undefined) {
      if (info.kind === "f" && castingOf(options) !== "unsafe") {
        throw new NpyDtypeError(
          `Cannot cast ${typedName(values as ArrayBufferView)} to '${this.descr}' under ` +
            `casting "${castingOf(options)}": ticks are integers (use a BigInt64Array), pass ` +
            `{ casting: "unsafe" } to truncate`,
          { descr: this.descr },
        );
      }
      return (values as ArrayLike<unknown>).length;
    }
    if (Array.isArray(values)) return values.length;
    throw new NpyDtypeError(
      `Cannot encode ${describeValue(values)} as '${this.descr}': expected a BigInt64Array of ` +
        `ticks or an array of bigints, integers${this.kind === "M" ? ", Dates" : ""} or null`,
      { descr: this.descr },
    );
  }

  isElement(value: unknown): boolean {
    return typeof value === "bigint" || typeof value === "number" || value === null ||
      value instanceof Date;
  }

  view(values: unknown): Uint8Array | undefined {
    if (!this.#native || !(values instanceof BigInt64Array)) return undefined;
    return bytesOf(values);
  }

  encodeInto(values: DatetimeInput, target: Uint8Array, options?: EncodeOptions): number {
    const n = this.count(values, options);
    const nbytes = 8 * n;
    checkTarget(target, nbytes, this.descr);
    if (values instanceof BigInt64Array) {
      target.set(bytesOf(values));
    } else {
      const aligned = target.byteOffset % 8 === 0;
      const dst = aligned
        ? new BigInt64Array(target.buffer as ArrayBuffer, target.byteOffset, n)
        : new BigInt64Array(n);
      const arr = values as ArrayLike<unknown>;
      const unsafe = castingOf(options) === "unsafe";
      for (let i = 0; i < n; i++) dst[i] = this.#tick(arr[i], i, unsafe);
      if (!aligned) target.set(new Uint8Array(dst.buffer, 0, nbytes));
    }
    if (!this.#native) swapInPlace(target.subarray(0, nbytes), 8);
    return nbytes;
  }

  #tick(v: unknown, i: number, unsafe: boolean): bigint {
    if (typeof v === "bigint") {
      if (v >= NAT && v <= INT64_MAX) return v;
      if (unsafe) return BigInt.asIntN(64, v);
      throw this.#error(v, i, "out of the int64 range");
    }
    if (typeof v === "number") {
      if (Number.isNaN(v)) return NAT;
      if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63) return BigInt(v);
      if (unsafe) return Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : NAT;
      throw this.#error(v, i, Number.isInteger(v) ? "out of the int64 range" : "not an integer");
    }
    if (v === null) return NAT;
    if (v instanceof Date) return this.fromDate(v, i);
    throw this.#error(v, i, "expected a bigint, an integer, a Date or null");
  }

  /** Ticks of this `M8` unit for a `Date` (floored, as NumPy casts to coarser units). */
  fromDate(date: Date, i = 0): bigint {
    if (this.kind !== "M" || this.unit === undefined || this.unitCount === 0) {
      throw this.#error(
        date,
        i,
        this.kind === "m"
          ? "a Date is an instant, not a duration"
          : `the ${
            this.unit === undefined ? "generic unit" : "zero multiplier"
          } has no scale; use a descr with a unit such as '<M8[ms]'`,
      );
    }
    const ms = date.getTime();
    if (Number.isNaN(ms)) return NAT;
    const count = BigInt(this.unitCount);
    let ticks: bigint;
    if (this.unit === "Y" || this.unit === "M") {
      // Floor to the calendar year/month of the UTC date.
      const years = BigInt(date.getUTCFullYear() - 1970);
      ticks = this.unit === "Y" ? years : years * 12n + BigInt(date.getUTCMonth());
    } else {
      const [num, den] = MS_PER_UNIT[this.unit]!;
      ticks = floorDiv(BigInt(ms) * den, num);
    }
    ticks = floorDiv(ticks, count);
    if (ticks <= NAT || ticks > INT64_MAX) {
      throw this.#error(date, i, `out of the range of '${this.descr}'`);
    }
    return ticks;
  }

  toDate(ticks: bigint): Date | null {
    if (this.kind !== "M" || this.unit === undefined || this.unitCount === 0) {
      throw new NpyDtypeError(
        `Cannot convert ticks of '${this.descr}' to a Date: ${
          this.kind === "m"
            ? "a timedelta is not an instant"
            : `the ${this.unit === undefined ? "generic unit" : "zero multiplier"} has no scale`
        }`,
        { descr: this.descr },
      );
    }
    if (ticks === NAT) return null;
    const t = ticks * BigInt(this.unitCount);
    let ms: bigint;
    if (this.unit === "Y" || this.unit === "M") {
      const months = this.unit === "Y" ? t * 12n : t;
      const y = floorDiv(months, 12n);
      const m = months - y * 12n;
      if (y > 300_000n || y < -300_000n) return null;
      ms = BigInt(Date.UTC(Number(y) + 1970, Number(m), 1));
    } else {
      const [num, den] = MS_PER_UNIT[this.unit]!;
      ms = floorDiv(t * num, den);
    }
    if (ms > 8_640_000_000_000_000n || ms < -8_640_000_000_000_000n) return null;
    return new Date(Number(ms));
  }

  #error(v: unknown, i: number, reason: string): NpyDtypeError {
    return new NpyDtypeError(
      `Cannot cast ${
        v instanceof Date
          ? `Date ${Number.isNaN(v.getTime()) ? "Invalid" : v.toISOString()}`
          : describeValue(v)
      } (element ${i}) to '${this.descr}': ${reason}`,
      { descr: this.descr },
    );
  }

  decode(bytes: Uint8Array, _options?: DecodeOptions): BigInt64Array {
    const n = checkWhole(bytes, 8, this.descr);
    let b = bytes;
    if (!this.#native) b = swappedCopy(bytes, 8);
    else if (bytes.byteOffset % 8 !== 0) b = bytes.slice();
    return new BigInt64Array(b.buffer as ArrayBuffer, b.byteOffset, n);
  }
}

/**
 * The built-in plugin for `M8` (datetime64) and `m8` (timedelta64): every unit (`Y M W D h m
 * s ms us ns ps fs as`), multiplied units (`[10us]`) and the generic unit (`'<M8'`), in
 * either byte order. Decoding gives a `BigInt64Array` of ticks (NaT is {@link NAT}, −2^63);
 * encoding takes the same (no copy), bigints or integer numbers, `Date`s for `M8` with a unit
 * (floored to the unit, as NumPy casts), and `null`/`NaN` for NaT. The codec's `toDate`
 * turns ticks back into `Date`s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datetimePlugin, type DatetimeDtype, DtypeRegistry, NAT } from "@npy/append-array";
 *
 * const dt = new DtypeRegistry([datetimePlugin]).resolve("<M8[s]") as DatetimeDtype;
 * const bytes = new Uint8Array(16);
 * dt.encodeInto([new Date("2024-01-01T00:00:01.900Z"), null], bytes);
 * const ticks = dt.decode(bytes);
 * assert.deepEqual([...ticks], [1704067201n, NAT]);
 * assert.equal(dt.toDate(ticks[0]!)?.toISOString(), "2024-01-01T00:00:01.000Z");
 * ```
 */
export const datetimePlugin: DtypePlugin = typestrPlugin("datetime", (t) => {
  if (t.kind !== "M" && t.kind !== "m") return undefined;
  return new DatetimeCodec(t.canonical, t.kind, t.unit, t.unitCount ?? 1, t.native);
}, castBytes);
