/**
 * IEEE 754 half-precision (binary16) conversions, exact and correctly rounded, for runtimes
 * without `Float16Array` (Node 20/22). Internal: not exported from `mod.ts`.
 *
 * @module
 */

import { castNaNBits } from "./_nan.ts";

const TWO_POW_24 = 2 ** 24;
const MIN_NORMAL = 2 ** -14;
// 65504 (largest half) plus half an ulp (16): at and above it, round-to-nearest-even
// gives infinity.
const HALF_OVERFLOW = 65520;

const SCRATCH = new Float64Array(1);
const SCRATCH_BITS = new BigUint64Array(SCRATCH.buffer);

/**
 * The binary16 bits of `x`, rounded to nearest, ties to even, straight from the double (no
 * double rounding through float32). A NaN keeps the sign and payload bits the number holds,
 * as NumPy's float64 to float16 cast does (`0x7e00` for JavaScript's usual NaN).
 */
export function floatToHalfBits(x: number): number {
  if (x !== x) {
    SCRATCH[0] = x;
    return Number(castNaNBits(SCRATCH_BITS[0]!, 8, 2));
  }
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= HALF_OVERFLOW) return sign | 0x7c00;
  if (a < MIN_NORMAL) return sign | roundHalfEven(a * TWO_POW_24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const r = roundHalfEven((a / 2 ** e) * 1024);
  // r is in [1024, 2048]; 2048 carries into the exponent, which the addition does for us.
  return sign | (((e + 15) << 10) + (r - 1024));
}

function roundHalfEven(m: number): number {
  const f = Math.floor(m);
  const d = m - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f + (f & 1);
}

/** The value of binary16 bits `h` as a number (exact). */
export function halfBitsToFloat(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

/** The binary32 bits of binary16 bits `h` (exact, NaN payloads kept). */
export function halfToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let e = (h >>> 10) & 0x1f;
  let m = h & 0x3ff;
  if (e === 0x1f) return (sign | 0x7f800000 | (m << 13)) >>> 0;
  if (e === 0) {
    if (m === 0) return sign >>> 0;
    e = 1;
    while ((m & 0x400) === 0) {
      m <<= 1;
      e--;
    }
    m &= 0x3ff;
  }
  return (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
}
