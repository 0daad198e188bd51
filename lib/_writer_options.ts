/**
 * The options of {@link NpyAppendArray.open}: their type, and their checks, on their own
 * (unknown keys, values out of range) and against an existing file. Internal: `mod.ts`
 * exports the type through `lib/writer.ts`.
 *
 * @module
 */

import { type Descr, descrEquals } from "./descr.ts";
import { NpyDtypeError, NpyShapeError } from "./errors.ts";
import { type HeaderFields, rowShapeOf, sameShape } from "./header.ts";
import type { Casting, Dtype, DtypeRegistry } from "./registry.ts";
import { checkOptionKeys, type OptionKeys } from "./_suggest.ts";
import { shapeText } from "./_chunk.ts";
import { descrText } from "./registry.ts";

/**
 * Options of {@link NpyAppendArray.open}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { NpyAppendArray, type NpyAppendArrayOptions } from "@npy/append-array";
 *
 * const dir = mkdtempSync(join(tmpdir(), "npy-"));
 * const options: NpyAppendArrayOptions = {
 *   mode: "create", // fail if the file exists
 *   descr: "<f4",
 *   shape: [3], // rows of 3: the file exists, with shape (0, 3), right after open
 *   durability: "append", // fdatasync around every header rewrite
 *   bufferSize: 1 << 16, // coalesce small appends into 64 KiB writes
 * };
 * const w = await NpyAppendArray.open(join(dir, "a.npy"), options);
 * assert.deepEqual(w.shape, [0, 3]);
 * await w.append(Float32Array.of(1, 2, 3, 4, 5, 6));
 * assert.deepEqual(w.shape, [2, 3]);
 * await w.close();
 * rmSync(dir, { recursive: true });
 * ```
 */
export interface NpyAppendArrayOptions {
  /**
   * `"append"`: open the file if it exists (and append to it), else create it.
   * `"create"`: create the file; fail if it exists. `"overwrite"`: start a fresh file,
   * replacing any old one. A new file (or the replacement) is written beside the path and
   * gets its name only once it holds a valid header (at `open` when `descr` and `shape` are
   * given, else at the first append): a crash before leaves the path as it was.
   * @default {"append"}
   */
  mode?: "append" | "create" | "overwrite" | undefined;
  /**
   * The dtype of a new file, e.g. `"<f4"` or `[["t", "<i8"], ["xy", "<f4", [2]]]`. With
   * `shape` too, the file is created with 0 rows at once. By default the first chunk decides
   * (TypedArrays their type; JS numbers `<f8`, bigints `<i8`, booleans `|b1`). For an
   * existing file it must match the file's.
   * @default {undefined}
   */
  descr?: Descr | undefined;
  /**
   * The row shape (`[3, 4]`) or the full shape with 0 rows (`[0, 3, 4]`; `[3, 4, 0]` in
   * Fortran order) of a new file. By default the first chunk decides. For an existing file
   * it must match the file's.
   * @default {undefined}
   */
  shape?: readonly number[] | undefined;
  /**
   * Create the file in Fortran (column-major) order: it grows along its last axis, and
   * chunks (given in C order, shape `(...rowShape, k)`) are reordered before writing.
   * Ignored for an existing file unless it contradicts the file's order (an error).
   * @default {false}
   */
  fortranOrder?: boolean | undefined;
  /**
   * The dtype codecs.
   * @default {defaultRegistry}
   */
  registry?: DtypeRegistry | undefined;
  /**
   * How strictly TypedArray chunks, and chunks with a `descr` of their own (cast as NumPy's
   * `astype` does), must match the file's dtype: NumPy's `can_cast` rules. Plain JS numbers
   * are accepted when their value fits.
   * @default {"same_kind"}
   */
  casting?: Casting | undefined;
  /**
   * Rewrite the header after every append, so the file always shows every acknowledged
   * append. `false`: only at `flush`, at `close` and when the write buffer is written
   * (until then NumPy sees the old shape). The header is the commit record: after a crash,
   * `recover` rolls the file back to the rows it claims.
   * @default {true}
   */
  rewriteHeaderOnAppend?: boolean | undefined;
  /**
   * How durable appends are, by when they `fdatasync`: `"none"` never; `"close"` once when
   * closing; `"append"` around
   * every header write (the data is synced before the header that claims it, then the
   * header), which makes every acknowledged append survive a power loss.
   * @default {"close"}
   */
  durability?: "none" | "close" | "append" | undefined;
  /**
   * Coalesce appends smaller than this many bytes into one buffer written when full (and at
   * `flush`/`close`); 0 writes every append at once. Buffered rows reach the file, and its
   * header, only when the buffer is written; each such write rewrites the header, so a
   * crash keeps whole appends only.
   * @default {0}
   */
  bufferSize?: number | undefined;
  /**
   * Take the file's single-writer lock (`<path>.lock`, created exclusively, removed on
   * close): a second writer, in any process or runtime, gets an {@link NpyLockError} naming
   * the holder; a lock left by a dead process on this host is taken over. `false` for file
   * systems where exclusive creation does not work.
   * @default {true}
   */
  lock?: boolean | undefined;
  /**
   * What to do when an existing file's data does not match its header (a crash or a cut
   * copy): `"error"` throws {@link NpyRecoveryError}; `"truncate"` rolls a file this
   * library's writer left (its lock file is there) back to the rows its header claims,
   * else keeps the whole rows found and drops a partial last row; `"zeroFill"` does the
   * same but completes a partial last row of another tool's file with zeros. Both rewrite
   * the header to the rows kept (see `recover`).
   * @default {"error"}
   */
  onRecovery?: "error" | "truncate" | "zeroFill" | undefined;
  /**
   * Refuse existing headers longer than this many characters, as `numpy.load` does.
   * @default {10_000}
   */
  maxHeaderSize?: number | undefined;
  /**
   * With `bufferSize` or `rewriteHeaderOnAppend: false`: write the buffered rows and the
   * header at least every this many milliseconds, even when no append follows, so that
   * readers (NumPy in another process) are never more than about this far behind. Each such
   * flush is a commit, as any flush is. The timer does not keep the process alive.
   * @default {undefined (no timer: rows land when the buffer fills, at flush() and close())}
   */
  flushInterval?: number | undefined;
}

const WRITER_OPTIONS = {
  mode: true,
  descr: true,
  shape: true,
  fortranOrder: true,
  registry: true,
  casting: true,
  rewriteHeaderOnAppend: true,
  durability: true,
  bufferSize: true,
  lock: true,
  onRecovery: true,
  maxHeaderSize: true,
  flushInterval: true,
} as const satisfies OptionKeys<NpyAppendArrayOptions>;

/**
 * Refuses unknown keys (with the closest known one) and values out of range, before
 * anything is opened.
 * @param where The file as messages quote it.
 * @throws {TypeError} `Cannot open "a.npy": options.bufferSize is -1 (expected a
 *   non-negative integer)`.
 */
export function checkWriterOptions(where: string, options: NpyAppendArrayOptions): void {
  checkOptionKeys(options, WRITER_OPTIONS, `open ${where}`);
  const bad = (name: string, value: unknown, expected: string): never => {
    throw new TypeError(
      `Cannot open ${where}: options.${name} is ${JSON.stringify(value)} (expected ${expected})`,
    );
  };
  const { mode, durability, onRecovery, bufferSize, casting, flushInterval } = options;
  if (mode !== undefined && !["append", "create", "overwrite"].includes(mode)) {
    bad("mode", mode, `"append", "create" or "overwrite"`);
  }
  if (durability !== undefined && !["none", "close", "append"].includes(durability)) {
    bad("durability", durability, `"none", "close" or "append"`);
  }
  if (onRecovery !== undefined && !["error", "truncate", "zeroFill"].includes(onRecovery)) {
    bad("onRecovery", onRecovery, `"error", "truncate" or "zeroFill"`);
  }
  if (bufferSize !== undefined && !(Number.isSafeInteger(bufferSize) && bufferSize >= 0)) {
    bad("bufferSize", bufferSize, "a non-negative integer");
  }
  if (
    flushInterval !== undefined &&
    !(typeof flushInterval === "number" && flushInterval > 0 && flushInterval < 2 ** 31)
  ) bad("flushInterval", flushInterval, "a number of milliseconds, above 0");
  if (
    casting !== undefined && !["no", "equiv", "safe", "same_kind", "unsafe"].includes(casting)
  ) bad("casting", casting, `"no", "equiv", "safe", "same_kind" or "unsafe"`);
}

/**
 * The row shape `options.shape` declares: a row shape (`[3, 4]`), or a full shape with 0
 * rows (`[0, 3, 4]`; `[3, 4, 0]` in Fortran order).
 * @throws {NpyShapeError} When it is not a list of non-negative integers.
 */
export function declaredRowShape(
  shape: readonly number[],
  fortran: boolean,
  where: string,
  path: string,
): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new NpyShapeError(
      `Cannot open ${where}: options.shape ${JSON.stringify(shape)} is not a list of ` +
        `non-negative integers`,
      { path },
    );
  }
  const growth = fortran ? shape.length - 1 : 0;
  return shape.length > 0 && shape[growth] === 0 ? rowShapeOf(shape, fortran) : [...shape];
}

/**
 * Refuses options that contradict an existing file: `fortranOrder`, `descr` (compared
 * resolved, so `"f4"` matches `'<f4'`) and `shape`.
 * @param file The file's header, and its row shape.
 * @param resolve Resolves `options.descr`, its errors worded for the file.
 * @throws {NpyShapeError} / {NpyDtypeError} Naming the option and the file's value.
 */
export function checkOptionsMatchFile(
  options: NpyAppendArrayOptions,
  file: HeaderFields & { readonly shape: readonly number[]; readonly rowShape: readonly number[] },
  dtype: Dtype,
  resolve: (descr: Descr) => Dtype,
  where: string,
  path: string,
): void {
  if (options.fortranOrder !== undefined && options.fortranOrder !== file.fortranOrder) {
    throw new NpyShapeError(
      `Cannot append to ${where}: options.fortranOrder is ${options.fortranOrder} ` +
        `but the file is in ${file.fortranOrder ? "Fortran" : "C"} order`,
      { path, actual: file.shape },
    );
  }
  if (options.descr !== undefined && !descrEquals(resolve(options.descr).descr, dtype.descr)) {
    throw new NpyDtypeError(
      `Cannot append to ${where}: options.descr ${descrText(options.descr)} does ` +
        `not match the file's ${descrText(file.descr)}`,
      { path, descr: options.descr },
    );
  }
  if (options.shape !== undefined) {
    const wanted = declaredRowShape(options.shape, file.fortranOrder, where, path);
    if (!sameShape(wanted, file.rowShape)) {
      throw new NpyShapeError(
        `Cannot append to ${where}: options.shape ${shapeText(options.shape)} does ` +
          `not match the file's shape ${shapeText(file.shape)}`,
        { path, expected: file.shape, actual: options.shape },
      );
    }
  }
}
