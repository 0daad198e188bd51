/**
 * The dtype registry: an ordered list of plugins, each of which may claim a descr and return
 * the {@link Dtype} codec for it. Readers and writers resolve the file's descr through the
 * registry they are given, so users can add dtypes of their own. Pure: no I/O.
 *
 * @module
 */

import { type Descr, descrEquals, formatDescr, normalizeDescr } from "./descr.ts";
import { NpyDtypeError } from "./errors.ts";

/**
 * NumPy's casting rules for strong (typed) inputs, from strictest to loosest:
 * `"no"` same type and byte order, `"equiv"` byte order may differ, `"safe"` only casts that
 * keep every value, `"same_kind"` safe casts or within a kind (float64 → float32), `"unsafe"`
 * any cast.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Casting, defaultRegistry, NpyDtypeError } from "@npy/append-array";
 *
 * const f4 = defaultRegistry.resolve("<f4");
 * const target = new Uint8Array(4);
 * const strict: Casting = "safe";
 * assert.throws(() => f4.encodeInto(Float64Array.of(0.1), target, { casting: strict }), NpyDtypeError);
 * f4.encodeInto(Float64Array.of(0.1), target, { casting: "same_kind" });
 * ```
 */
export type Casting = "no" | "equiv" | "safe" | "same_kind" | "unsafe";

/**
 * Options for {@link Dtype.encodeInto} and {@link Dtype.view}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type EncodeOptions } from "@npy/append-array";
 *
 * const options: EncodeOptions = { casting: "unsafe" };
 * const u1 = defaultRegistry.resolve("|u1");
 * const target = new Uint8Array(1);
 * u1.encodeInto(Int16Array.of(300), target, options); // wraps, as a C cast does
 * assert.equal(target[0], 44);
 * ```
 */
export interface EncodeOptions {
  /**
   * How strictly typed inputs (TypedArrays) must match the dtype. Plain JS numbers and
   * bigints are weak, as in NumPy's NEP 50: accepted when the value fits.
   * @default {"same_kind"}
   */
  casting?: Casting | undefined;
}

/**
 * Options for {@link Dtype.decode}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DecodeOptions, defaultRegistry } from "@npy/append-array";
 *
 * const rec = defaultRegistry.resolve([["x", "<f4"], ["n", "<i4"]]);
 * const bytes = new Uint8Array(16);
 * rec.encodeInto([{ x: 1.5, n: 1 }, { x: 2.5, n: 2 }], bytes);
 * const options: DecodeOptions = { layout: "columns" };
 * assert.deepEqual(rec.decode(bytes, options), {
 *   x: Float32Array.of(1.5, 2.5),
 *   n: Int32Array.of(1, 2),
 * });
 * ```
 */
export interface DecodeOptions {
  /**
   * For records: `"objects"` (an array of plain objects) or `"columns"` (an object of
   * per-field arrays). Ignored by other dtypes.
   * @default {"objects"}
   */
  layout?: "objects" | "columns" | undefined;
  /**
   * How many elements the bytes hold, for a dtype of itemsize 0 whose bytes cannot tell
   * (NumPy's structured dtype with no fields, `np.dtype([])`). Readers pass it.
   * @default {bytes.length / itemsize (0 for itemsize 0)}
   */
  count?: number | undefined;
}

/**
 * The codec for one descr: knows its canonical descr and itemsize, encodes JS values into
 * the bytes NumPy stores and decodes them back. Implementations come from plugins.
 *
 * @typeParam T What `decode` returns and `encodeInto` takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, type Dtype } from "@npy/append-array";
 *
 * const c16: Dtype = defaultRegistry.resolve(">c16");
 * assert.equal(c16.itemsize, 16);
 * const bytes = new Uint8Array(c16.count([[1, 2]]) * c16.itemsize);
 * c16.encodeInto([[1, 2]], bytes);
 * assert.deepEqual(c16.decode(bytes), Float64Array.of(1, 2));
 * ```
 */
export interface Dtype<T = unknown> {
  /** The canonical descr, as NumPy writes it (e.g. `"<f4"`, `"|b1"`). */
  readonly descr: Descr;
  /** Bytes per element. */
  readonly itemsize: number;
  /**
   * The number of elements `values` holds, checking it is something this dtype encodes.
   * @throws {NpyDtypeError} When the values cannot be encoded as this dtype.
   */
  count(values: unknown, options?: EncodeOptions): number;
  /**
   * Whether one JS value is a single element of this dtype (a `[re, im]` pair for complex, a
   * plain object for a record, a `Uint8Array` for void). Lets a writer flatten nested JS
   * arrays without splitting elements apart. Absent: only scalars are elements.
   */
  isElement?(value: unknown): boolean;
  /**
   * Encodes `values` into `target`, which has room for `count(values) * itemsize` bytes.
   * @returns Bytes written.
   * @throws {NpyDtypeError} When a value cannot be cast under the casting rule.
   */
  encodeInto(values: T, target: Uint8Array, options?: EncodeOptions): number;
  /**
   * The bytes `values` would be encoded to, as a view of its own memory with no copy, when
   * it is already laid out as this dtype (a native TypedArray of the same type and byte
   * order); `undefined` otherwise.
   */
  view?(values: unknown, options?: EncodeOptions): Uint8Array | undefined;
  /** Decodes whole elements; `bytes.length` is a multiple of `itemsize`. */
  decode(bytes: Uint8Array, options?: DecodeOptions): T;
}

/**
 * A dtype module: claims the descrs it handles. Plugins are plain objects and register
 * nothing on import; a registry tries them in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DtypeRegistry, type DtypePlugin } from "@npy/append-array";
 *
 * const u1: DtypePlugin = {
 *   name: "bytes-as-is",
 *   resolve(descr) {
 *     if (descr !== "|u1") return undefined;
 *     return {
 *       descr: "|u1",
 *       itemsize: 1,
 *       count: (values) => (values as Uint8Array).length,
 *       encodeInto(values: Uint8Array, target) {
 *         target.set(values);
 *         return values.length;
 *       },
 *       decode: (bytes) => bytes.slice(),
 *     };
 *   },
 * };
 * assert.equal(new DtypeRegistry([u1]).resolve("|u1").itemsize, 1);
 * ```
 */
export interface DtypePlugin {
  /** A name for messages and listings, e.g. `"numeric"`. */
  readonly name: string;
  /**
   * The codec for `descr`, or `undefined` when this plugin does not handle it. Plugins for
   * compound dtypes (records) resolve their parts through `registry`.
   */
  resolve(descr: Descr, registry: DtypeRegistry): Dtype | undefined;
  /**
   * Converts `bytes`, elements of `cast.from`, into elements of `cast.to` as NumPy's
   * `astype` does, when `can_cast` allows it under `cast.casting`; `undefined` when this
   * plugin does not make casts between these two dtypes (the registry asks the next).
   * Absent: the plugin makes no casts. The built-in plugins share one engine, NumPy's casts
   * between its type strings and records.
   * @throws {NpyDtypeError} When the cast is this plugin's but is refused or a value does
   *   not fit.
   */
  cast?(bytes: Uint8Array, cast: Required<CastOptions>): Uint8Array | undefined;
}

/**
 * What {@link DtypeRegistry.cast} converts: elements of `from` into elements of `to`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CastOptions, defaultRegistry } from "@npy/append-array";
 *
 * const cast: CastOptions = {
 *   from: defaultRegistry.resolve("<i2"),
 *   to: defaultRegistry.resolve(">f4"),
 * };
 * const bytes = defaultRegistry.cast(new Uint8Array(Int16Array.of(-3).buffer), cast);
 * assert.deepEqual(bytes, Uint8Array.of(0xc0, 0x40, 0, 0)); // -3.0 big-endian
 * ```
 */
export interface CastOptions {
  /** The dtype of the elements given. */
  from: Dtype;
  /** The dtype to convert them to. */
  to: Dtype;
  /**
   * Which casts NumPy's `can_cast` must allow.
   * @default {"same_kind"}
   */
  casting?: Casting;
  /**
   * How many elements the bytes hold (it matters only for elements of no bytes).
   * @default {bytes.length / from.itemsize (0 for itemsize 0)}
   */
  count?: number;
}

/**
 * An ordered, unchangeable list of dtype plugins. `resolve` asks each in turn and returns
 * the first codec offered. `register` returns a new registry with a plugin asked before the
 * others (so a user plugin can take over a descr from a built-in), and never changes the
 * registry it is called on: `defaultRegistry`, shared by every caller, stays as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BUILTIN_PLUGINS, defaultRegistry, DtypeRegistry, NpyDtypeError } from "@npy/append-array";
 *
 * const empty = new DtypeRegistry([]);
 * assert.throws(() => empty.resolve("<f4"), NpyDtypeError);
 * const mine = new DtypeRegistry(BUILTIN_PLUGINS).register({
 *   name: "half-as-bytes",
 *   resolve: (descr, registry) => descr === "<f2" ? registry.resolve("|V2") : undefined,
 * });
 * assert.equal(mine.resolve("<f2").descr, "|V2");
 * assert.equal(defaultRegistry.resolve("<f2").descr, "<f2"); // unchanged
 * ```
 */
export class DtypeRegistry {
  readonly #plugins: readonly DtypePlugin[];

  /**
   * Creates a registry that tries `plugins` in order.
   *
   * @param plugins The plugins to try, in order.
   */
  constructor(plugins: Iterable<DtypePlugin> = []) {
    this.#plugins = Object.freeze([...plugins]);
  }

  /** The plugins, in the order `resolve` tries them. */
  get plugins(): readonly DtypePlugin[] {
    return this.#plugins;
  }

  /**
   * A new registry that asks `plugin` first (so it wins for the descrs it claims), then
   * this one's plugins. This registry is not changed.
   *
   * @param plugin The plugin to add.
   * @returns The new registry.
   */
  register(plugin: DtypePlugin): DtypeRegistry {
    return new DtypeRegistry([plugin, ...this.#plugins]);
  }

  /**
   * The codec for `descr` from the first plugin that claims it. NumPy's names for
   * fixed-size types (`"float32"`, `"i8"`, `"datetime64[ns]"`, `"?"`) are taken too: the
   * plugins see, and the codec's `descr` shows, the canonical type string
   * ({@link normalizeDescr}).
   *
   * @param descr A descr value, e.g. `"<f4"`, `"float32"` or `[["x", "<f4"]]`.
   * @returns The codec.
   * @throws {NpyDtypeError} When no plugin handles `descr`; for an unknown name, with the
   *   closest canonical spelling (`did you mean "<f4" (float32)?`).
   */
  resolve(descr: Descr): Dtype {
    // NumPy's names ("float32", "f4", "b") reach the plugins as canonical type strings. A
    // string nothing in NumPy knows goes to the plugins as it is: it may be a plugin's own.
    let wanted = descr;
    let unknown: NpyDtypeError | undefined;
    if (typeof descr === "string") {
      try {
        wanted = normalizeDescr(descr);
      } catch (e) {
        if (!(e instanceof NpyDtypeError)) throw e;
        unknown = e;
      }
    }
    for (const plugin of this.#plugins) {
      const dtype = plugin.resolve(wanted, this);
      if (dtype !== undefined) return dtype;
    }
    if (unknown !== undefined) throw unknown;
    throw new NpyDtypeError(
      `Cannot resolve descr ${descrText(descr)}: no registered dtype plugin handles it ` +
        `(plugins: ${this.#names()})`,
      { descr },
    );
  }

  /**
   * Converts elements of one dtype into another as NumPy's `astype` does (datetime units
   * rescaled, records matched by position), if NumPy's `can_cast` allows it under
   * `casting`: the cast of a chunk whose own descr is not the file's. Plugins make the casts
   * ({@link DtypePlugin.cast}), asked in order; equal descrs need none.
   *
   * @param bytes Whole elements of `cast.from`.
   * @param cast `from`, `to`, `casting`, `count`.
   * @returns The elements as `cast.to` stores them; `bytes` itself when the descrs are equal.
   * @throws {NpyDtypeError} When the cast is refused, a value does not fit, or no plugin
   *   casts between the two dtypes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { defaultRegistry, NpyDtypeError } from "@npy/append-array";
   *
   * const from = defaultRegistry.resolve("<M8[s]");
   * const to = defaultRegistry.resolve("<M8[ms]");
   * const ms = defaultRegistry.cast(new Uint8Array(BigInt64Array.of(2n).buffer), { from, to });
   * assert.deepEqual(new BigInt64Array(ms.slice().buffer), BigInt64Array.of(2000n));
   * // float64 to int32 is not a "same_kind" cast.
   * const f8 = defaultRegistry.resolve("<f8"), i4 = defaultRegistry.resolve("<i4");
   * assert.throws(() => defaultRegistry.cast(new Uint8Array(8), { from: f8, to: i4 }), NpyDtypeError);
   * ```
   */
  cast(bytes: Uint8Array, cast: CastOptions): Uint8Array {
    const { from, to } = cast;
    if (descrEquals(from.descr, to.descr)) return bytes;
    const request: Required<CastOptions> = {
      from,
      to,
      casting: cast.casting ?? "same_kind",
      count: cast.count ?? (from.itemsize === 0 ? 0 : bytes.length / from.itemsize),
    };
    for (const plugin of this.#plugins) {
      const out = plugin.cast?.(bytes, request);
      if (out !== undefined) return out;
    }
    throw new NpyDtypeError(
      `Cannot cast ${descrText(from.descr)} to ${descrText(to.descr)}: no registered dtype ` +
        `plugin casts between them (plugins: ${this.#names()})`,
      { descr: from.descr },
    );
  }

  #names(): string {
    return this.#plugins.map((p) => p.name).join(", ") || "none";
  }
}

/** A descr as messages quote it: `'<f4'`, or its JSON when it is not a valid descr. */
export function descrText(descr: Descr): string {
  try {
    return formatDescr(descr);
  } catch {
    return JSON.stringify(descr);
  }
}

/**
 * Internal: the registry the I/O modules (`encodeNpy`, readers, writers, stacks) use when
 * given none. `lib/` does not import `dtypes/`, so the built-in registry is handed down:
 * `dtypes/mod.ts` builds it and installs it here with {@link installDefaultRegistry}, and
 * every entry point (`mod.ts`, `core.ts`, the `npy` command) imports `dtypes/mod.ts`. Until
 * then, resolving through it throws an error that says so. This is a live binding: read it
 * when a registry is needed, never copy it at load time. (package.json's `sideEffects`
 * names the entry points and `dtypes/mod`, so that bundlers keep the installation.)
 */
export let defaultRegistry: DtypeRegistry = new DtypeRegistry([{
  name: "built-in dtypes not loaded",
  resolve(descr) {
    throw new NpyDtypeError(
      `Cannot resolve descr ${descrText(descr)}: the built-in dtypes are not loaded; ` +
        `import the library from its entry point (mod.ts or core.ts), or pass a registry`,
      { descr },
    );
  },
}]);

/** Internal: makes `registry` the one {@link defaultRegistry} (called by `dtypes/mod.ts`). */
export function installDefaultRegistry(registry: DtypeRegistry): void {
  defaultRegistry = registry;
}
