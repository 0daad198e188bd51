/**
 * The built-in dtype plugins gathered into {@link defaultRegistry}. Importing this module
 * registers nothing in any registry: it builds the default one and hands it to the I/O
 * modules of `lib/` (which do not import `dtypes/`) as their default.
 *
 * @module
 */

import type { Descr } from "../lib/descr.ts";
import { NpyDtypeError } from "../lib/errors.ts";
import { type DtypePlugin, DtypeRegistry, installDefaultRegistry } from "../lib/registry.ts";
import { boolPlugin } from "./bool.ts";
import { bytesPlugin } from "./bytes.ts";
import { complexPlugin } from "./complex.ts";
import { datetimePlugin } from "./datetime.ts";
import { numericPlugin } from "./numeric.ts";
import { recordPlugin } from "./record.ts";

// Claims the object dtype only to refuse it with a clear message (instead of "no plugin").
const objectPlugin: DtypePlugin = {
  name: "object (refused)",
  resolve(descr: Descr) {
    if (typeof descr !== "string" || !/^[<>|=]?O\d*$/.test(descr)) return undefined;
    throw new NpyDtypeError(
      `Cannot use descr '${descr}': the object dtype holds pickled Python objects, which can ` +
        `be neither appended to nor memory-mapped`,
      { descr },
    );
  },
};

/**
 * Every built-in plugin, in the order {@link defaultRegistry} tries them. Build a registry
 * of your own from them to add plugins without touching the shared default one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BUILTIN_PLUGINS, DtypeRegistry } from "@npy/append-array";
 *
 * const mine = new DtypeRegistry(BUILTIN_PLUGINS);
 * assert.equal(mine.resolve("<f8").itemsize, 8);
 * ```
 */
export const BUILTIN_PLUGINS: readonly DtypePlugin[] = Object.freeze([
  numericPlugin,
  boolPlugin,
  complexPlugin,
  bytesPlugin,
  datetimePlugin,
  recordPlugin,
  objectPlugin,
]);

/**
 * The registry readers and writers use when given none: every built-in dtype (numeric,
 * bool, complex, bytes, datetime, records). Registries never change:
 * `defaultRegistry.register(plugin)` returns a new registry with the plugin, to pass as the
 * `registry` option; the default stays as it is for every other caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRegistry, NpyDtypeError } from "@npy/append-array";
 *
 * assert.equal(defaultRegistry.resolve("<i1").descr, "|i1");
 * assert.throws(() => defaultRegistry.resolve("|O"), NpyDtypeError);
 * ```
 */
export const defaultRegistry: DtypeRegistry = new DtypeRegistry(BUILTIN_PLUGINS);
installDefaultRegistry(defaultRegistry);
