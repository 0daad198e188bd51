/**
 * Internal: what a stack directory holds, read and checked. The listing (`stack.json`, or for a
 * stack Dask wrote, `info` and the shards' headers) and every listed shard's header must agree;
 * shard files past the listing are a running or stopped writer's, kept apart as `unlisted`.
 *
 * @module
 */

import { descrEquals } from "./descr.ts";
import { NpyDtypeError, NpyFormatError, NpyIOError, NpyShapeError, quote } from "./errors.ts";
import { joinPath, listDirSync, readBytesSync, readTextSync } from "./file.ts";
import { numberShaped, type NumberShapedHeader } from "./_header_io.ts";
import { rowCountOf, rowShapeOf, sameShape } from "./header.ts";
import { NpyReader } from "./reader.ts";
import type { DtypeRegistry } from "./registry.ts";
import { defaultRegistry } from "./registry.ts";
import { WriterLock } from "./_lock.ts";
import { LOCK_NAME, shardPath } from "./_stack_journal.ts";
import { shapeText } from "./_chunk.ts";
import { descrText } from "./registry.ts";
import {
  INFO,
  parseStackJson,
  scanInfoAxis,
  shardIndices,
  STACK_JSON,
  stackAxis,
  type StackListing,
} from "./stack_listing.ts";

/**
 * Where a stack's codecs come from: the registry `options` name, else the default one (the
 * one place the stack modules pick it).
 */
export function registryOf(
  options: { readonly registry?: DtypeRegistry | undefined },
): DtypeRegistry {
  return options.registry ?? defaultRegistry;
}

/** What a stack directory holds, as read from `stack.json` (or `info`) and the shards. */
export interface StackLayout extends StackListing {
  /** Who wrote the listing: this library or Dask's `to_npy_stack`. */
  source: "npy-stack" | "dask";
  /** Indices of shard files present past the listing (a crashed or running writer's). */
  unlisted: number[];
}

/**
 * The rows a shard's header gives: the length of its growth axis (a shard is never 0-d:
 * {@link shardHeader} refuses one).
 */
export function shardRowsOf(header: NumberShapedHeader): number {
  return rowCountOf(header.shape, header.fortranOrder) ?? 0; // (?? 0: never taken)
}

/** The header of shard `index` (a complete shard: its data as long as its header says). */
export function shardHeader(
  dir: string,
  index: number,
  registry: DtypeRegistry,
): NumberShapedHeader {
  using r = NpyReader.openSync(shardPath(dir, index), { registry });
  const header = numberShaped(r.header, r.path); // the reader refused other shapes already
  if (header.shape.length === 0) {
    throw new NpyShapeError(
      `Cannot read the stack ${quote(dir)}: its shard ${quote(r.path)} holds a 0-d array, ` +
        `which has no axis to stack along`,
      { path: r.path, actual: [] },
    );
  }
  return header;
}

/**
 * Checks shard `index`'s header against the stack's `layout` (descr, order, row shape) and,
 * where the listing gives them, its `rows`.
 */
export function checkShard(
  layout: StackLayout,
  index: number,
  header: NumberShapedHeader,
  rows?: number,
): void {
  const path = shardPath(layout.dir, index);
  const where = `Cannot read the stack ${quote(layout.dir)}: its shard ${quote(path)}`;
  if (!descrEquals(header.descr, layout.descr)) {
    throw new NpyDtypeError(
      `${where} has descr ${descrText(header.descr)}, not the stack's ${descrText(layout.descr)}`,
      { path, descr: header.descr },
    );
  }
  if (header.fortranOrder !== layout.fortranOrder) {
    throw new NpyFormatError(
      `${where} is ${header.fortranOrder ? "" : "not "}in Fortran order, unlike the stack`,
      { path },
    );
  }
  const rowShape = rowShapeOf(header.shape, header.fortranOrder);
  if (!sameShape(rowShape, layout.rowShape)) {
    throw new NpyShapeError(
      `${where} has rows of shape ${shapeText(rowShape)}, not the stack's ` +
        `${shapeText(layout.rowShape)}`,
      { path, expected: layout.rowShape, actual: rowShape },
    );
  }
  if (rows !== undefined && shardRowsOf(header) !== rows) {
    throw new NpyFormatError(
      `${where} holds ${shardRowsOf(header)} rows, but ${STACK_JSON} lists ${rows}`,
      { path },
    );
  }
}

/**
 * Reads a stack directory's layout. `undefined` when `dir` is missing or holds no stack
 * file at all (no `stack.json`, `info` or shard).
 */
function readLayoutSync(dir: string, registry: DtypeRegistry): StackLayout | undefined {
  const names = listDirSync(dir);
  if (names === undefined) return undefined;
  const indices = shardIndices(names);
  const json = readTextSync(joinPath(dir, STACK_JSON));
  if (json !== undefined) {
    const listed = parseStackJson(dir, json);
    const layout: StackLayout = {
      ...listed,
      source: "npy-stack",
      unlisted: indices.filter((i) => i >= listed.shardRows.length),
    };
    const present = new Set(indices);
    layout.shardRows.forEach((rows, i) => {
      if (!present.has(i)) {
        throw new NpyFormatError(
          `Cannot read the stack ${quote(dir)}: its shard ${quote(shardPath(dir, i))}, listed in ` +
            `${STACK_JSON}, is missing`,
          { path: shardPath(dir, i) },
        );
      }
      checkShard(layout, i, shardHeader(dir, i, registry), rows);
    });
    return layout;
  }
  if (indices.length === 0) {
    if (names.includes(INFO)) {
      throw new NpyFormatError(
        `Cannot read the stack ${quote(dir)}: it has an info file but no shard 0.npy`,
        { path: joinPath(dir, INFO) },
      );
    }
    return undefined;
  }
  if (!names.includes(INFO)) {
    throw new NpyFormatError(
      `Cannot read the stack ${quote(dir)}: it holds shards but no ${STACK_JSON} or info file, ` +
        `so it is not a stack (a stack's writer writes ${STACK_JSON} before its first shard)`,
      { path: dir },
    );
  }
  // No stack.json: a stack Dask's to_npy_stack wrote. The facts come from the headers of
  // the shards 0, 1, … present without a gap.
  let count = 0;
  while (count < indices.length && indices[count] === count) count++;
  if (count === 0) {
    throw new NpyFormatError(`Cannot read the stack ${quote(dir)}: it has no shard 0.npy`, {
      path: shardPath(dir, 0),
    });
  }
  const first = shardHeader(dir, 0, registry);
  const layout: StackLayout = {
    dir,
    descr: first.descr,
    rowShape: rowShapeOf(first.shape, first.fortranOrder),
    fortranOrder: first.fortranOrder,
    shardRows: [shardRowsOf(first)],
    source: "dask",
    unlisted: indices.slice(count),
  };
  {
    const axis = scanInfoAxis(readBytesSync(joinPath(dir, INFO)) ?? new Uint8Array(0));
    const expected = stackAxis(layout.rowShape, layout.fortranOrder);
    if (axis !== undefined && axis !== expected) {
      throw new NpyShapeError(
        `Cannot read the stack ${quote(dir)}: its info stacks shards along axis ${axis}; only ` +
          `stacks along the shards' growth axis (${expected} here) can be read as rows`,
        { path: joinPath(dir, INFO) },
      );
    }
  }
  for (let i = 1; i < count; i++) {
    const header = shardHeader(dir, i, registry);
    checkShard(layout, i, header);
    layout.shardRows.push(shardRowsOf(header));
  }
  return layout;
}

/**
 * The layout of the stack in `dir`, for `action` ("read the stack"). A missing directory is
 * an error with code `ENOENT`, one that holds no stack an error with code `ENOTSTACK`.
 */
export function requireLayout(dir: string, registry: DtypeRegistry, action: string): StackLayout {
  const layout = readLayoutSync(dir, registry);
  if (layout !== undefined) return layout;
  const missing = listDirSync(dir) === undefined;
  const state = missing
    ? "no such directory"
    : `it holds no stack (no ${STACK_JSON}, info or 0.npy)`;
  throw new NpyIOError(`Cannot ${action} ${quote(dir)}: ${state}`, {
    code: missing ? "ENOENT" : "ENOTSTACK",
    path: dir,
  });
}

/**
 * Takes the stack's lock. `commit`: a writer's, marked as such: its open shard's header is
 * the commit record (see lib/_lock.ts), so recovery rolls that shard back to it.
 */
export function lockStack(
  dir: string,
  action: string,
  lock: boolean | undefined,
  commit = false,
): WriterLock | undefined {
  return lock === false
    ? undefined
    : WriterLock.acquireSync(joinPath(dir, LOCK_NAME), action, commit);
}
