/**
 * Internal to the `npy` command: `npy head` and `npy tail`. Rows are read and decoded by
 * {@link NpyReader} with the command's registry, then printed by `cli/format.ts`.
 *
 * @module
 */

import { quote } from "../lib/errors.ts";
import { elementText, nestedText } from "./format.ts";
import { factsOf, openReader, recoveryText } from "./facts.ts";
import { rowShapeOf } from "../lib/header.ts";
import { EXIT_OK, type Io, UsageError, type Values } from "./io.ts";

/** Rows printed (and read) per batch by `head` and `tail`. */
const PRINT_BATCH_BYTES = 1 << 20;

/**
 * `-n` of head and tail: `N` rows; for head `-N`, all but the last N; for tail `+N`, from
 * row N on (counted from 1), as the POSIX commands read them.
 */
function parseCount(
  which: "head" | "tail",
  text: Values[string],
): { count: number; sign: string } {
  if (text === undefined) return { count: 10, sign: "" };
  const s = String(text);
  const [, sign, digits] = /^([-+]?)(\d+)$/.exec(s) ?? [];
  const allowed = which === "head" ? "-" : "+";
  if (
    sign === undefined || digits === undefined || !Number.isSafeInteger(Number(digits)) ||
    (sign !== "" && sign !== allowed)
  ) {
    throw new UsageError(
      `-n needs a whole number of rows${
        which === "head" ? ", or -N for all but the last N" : ", or +N to start at row N"
      }, not ${JSON.stringify(s)}`,
    );
  }
  return { count: Number(digits), sign };
}

/** The rows `[start, end)` that head or tail prints of `total`. */
function rowsToPrint(
  which: "head" | "tail",
  { count: n, sign }: ReturnType<typeof parseCount>,
  total: number,
): [number, number] {
  const [start, end] = which === "head"
    ? [0, sign === "-" ? Math.max(0, total - n) : n]
    : [sign === "+" ? Math.max(0, n - 1) : Math.max(0, total - n), total];
  return [start, Math.min(end, total)];
}

/** Runs `npy head` or `npy tail` on `path`. */
export async function runHeadTail(
  which: "head" | "tail",
  [path = ""]: string[],
  values: Values,
  io: Io,
): Promise<number> {
  const count = parseCount(which, values.rows);
  await using reader = await openReader(path, io);
  const f = factsOf(reader);
  // The reader's dtype: what decodes the values, and says how they print.
  const dtype = io.registry.resolve(reader.descr);
  if (f.actualBytes < f.dataBytes) {
    io.err(
      `npy ${which}: warning: ${quote(path)} needs recovery (${recoveryText(f)}); showing only ` +
        `its ${f.availableRows} complete rows\n`,
    );
  }
  if (f.shape.length === 0) {
    if (count.count === 0 || f.availableRows === 0) return EXIT_OK;
    const scalar = await reader.read(0, 1, { layout: "columns" });
    await io.out(elementText(dtype, scalar.data, 1)(0) + "\n");
    return EXIT_OK;
  }
  const total = f.availableRows;
  if (total === 0) {
    await io.out("[]\n"); // what NumPy prints for an empty array
    return EXIT_OK;
  }
  const [start, end] = rowsToPrint(which, count, total);
  const rowShape = rowShapeOf(f.shape, f.header.fortranOrder);
  const perRow = rowShape.reduce((a, b) => a * b, 1);
  const width = String(Math.max(0, end - 1)).length;
  const perBatch = Math.max(1, Math.floor(PRINT_BATCH_BYTES / Math.max(1, f.rowBytes)));
  for (let s = start; s < end; s += perBatch) {
    io.signal?.throwIfAborted();
    const e = Math.min(end, s + perBatch);
    const rows = await reader.read(s, e, { layout: "columns" });
    const text = elementText(dtype, rows.data, (e - s) * perRow);
    let lines = "";
    for (let r = s; r < e; r++) {
      const row = nestedText(text, (r - s) * perRow, rowShape, reader.fortranOrder);
      lines += `${String(r).padStart(width)}  ${row}\n`;
    }
    await io.out(lines);
  }
  return EXIT_OK;
}
