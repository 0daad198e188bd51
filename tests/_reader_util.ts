/**
 * Helpers for the reader and repair tests: the bytes of a decoded array (re-encoded by its
 * dtype, so any dtype family compares against NumPy's `tobytes`), hex, and which descrs the
 * default registry handles yet.
 */
import { defaultRegistry, type Descr, type NpyArray } from "../mod.ts";

/** Whether the default registry has a codec for `descr`. */
export function supported(descr: Descr): boolean {
  try {
    defaultRegistry.resolve(descr);
    return true;
  } catch {
    return false;
  }
}

/** The bytes NumPy stores for `array.data`: each element re-encoded by its dtype. */
export function bytesOf(array: NpyArray): Uint8Array {
  const dtype = defaultRegistry.resolve(array.descr);
  let n = 1;
  for (const d of array.shape) n *= d;
  const out = new Uint8Array(n * dtype.itemsize);
  if (n > 0) dtype.encodeInto(array.data, out, { casting: "unsafe" });
  return out;
}

/** Lower-case hex of bytes, as Python's `bytes.hex()`. */
export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
