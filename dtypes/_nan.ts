/**
 * Internal: the NaN a NumPy cast between float widths makes of a NaN, bit for bit (checked
 * against NumPy 2.4 on x86-64, and live by tests/cast_numpy_test.ts). Casts to and from
 * float16 use NumPy's own half-float code: the sign and the payload bits that fit are kept,
 * a signalling NaN stays signalling, and a payload that would vanish becomes 1. float32 to
 * float64 and back go through the CPU's conversion: sign and payload kept (shifted), the
 * quiet bit set. JavaScript engines may change a NaN that passes through a number (V8 and
 * JavaScriptCore differ), so the casts write NaNs from the source bits with
 * {@link copyNaNs} instead. Pure.
 *
 * @module
 */

import { HOST_LITTLE_ENDIAN } from "../lib/_typed.ts";

const MANTISSA_BITS: Record<number, bigint> = { 2: 10n, 4: 23n, 8: 52n };

/**
 * The bits of the NaN NumPy's cast from a `from`-byte float to a `to`-byte float (2, 4 or 8)
 * makes of the NaN with bits `bits`.
 */
export function castNaNBits(bits: bigint, from: number, to: number): bigint {
  if (from === to) return bits;
  const fromBits = MANTISSA_BITS[from]!, toBits = MANTISSA_BITS[to]!;
  const fromWidth = BigInt(8 * from), toWidth = BigInt(8 * to);
  const sign = (bits >> (fromWidth - 1n)) & 1n;
  let mantissa = bits & ((1n << fromBits) - 1n);
  mantissa = toBits > fromBits ? mantissa << (toBits - fromBits) : mantissa >> (fromBits - toBits);
  if (from !== 2 && to !== 2) mantissa |= 1n << (toBits - 1n); // the CPU sets the quiet bit
  else if (mantissa === 0n) mantissa = 1n; // NumPy's npy_half keeps it a NaN, never quiets
  const exponent = ((1n << (toWidth - 1n - toBits)) - 1n) << toBits;
  return (sign << (toWidth - 1n)) | exponent | mantissa;
}

/**
 * Writes into `dst` the NaNs of `src` as NumPy's cast makes them: `count` floats of
 * `srcSize` bytes, every `srcStep`-th one of `src`, go to every `dstStep`-th float of
 * `dstSize` bytes in `dst` (steps of 2 pick the real parts of complex numbers). Both in host
 * byte order; the other elements are left as they are.
 */
export function copyNaNs(
  src: Uint8Array,
  srcSize: number,
  dst: Uint8Array,
  dstSize: number,
  count: number,
  srcStep = 1,
  dstStep = 1,
): void {
  const from = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const to = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const le = HOST_LITTLE_ENDIAN;
  for (let i = 0; i < count; i++) {
    const at = i * srcStep * srcSize;
    let bits: bigint;
    if (srcSize === 8) {
      const x = from.getFloat64(at, le);
      if (x === x) continue;
      bits = from.getBigUint64(at, le);
    } else if (srcSize === 4) {
      const x = from.getFloat32(at, le);
      if (x === x) continue;
      bits = BigInt(from.getUint32(at, le));
    } else {
      const h = from.getUint16(at, le);
      if ((h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0) continue;
      bits = BigInt(h);
    }
    const out = castNaNBits(bits, srcSize, dstSize);
    const put = i * dstStep * dstSize;
    if (dstSize === 8) to.setBigUint64(put, out, le);
    else if (dstSize === 4) to.setUint32(put, Number(out), le);
    else to.setUint16(put, Number(out), le);
  }
}
