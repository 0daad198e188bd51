/**
 * Internal: "did you mean" for names a user misspells (options, descr names), and the check
 * that refuses unknown option keys instead of ignoring them. Pure.
 *
 * @module
 */

/**
 * The edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of
 * two neighbours each count 1 (optimal string alignment), so "bufferSzie" is 1 from
 * "bufferSize".
 */
export function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  // Three rows of the dynamic-programming table: two back (for swaps), one back, this one.
  let twoBack = new Array<number>(n + 1).fill(0);
  let oneBack = Array.from({ length: n + 1 }, (_, j) => j);
  let row = new Array<number>(n + 1).fill(0);
  // Every row holds n + 1 cells, and j runs from 1 to n: the `?? 0` never applies.
  for (let i = 1; i <= m; i++) {
    row[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const above = oneBack[j] ?? 0, left = row[j - 1] ?? 0, diagonal = oneBack[j - 1] ?? 0;
      let d = Math.min(above + 1, left + 1, diagonal + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (twoBack[j - 2] ?? 0) + 1);
      }
      row[j] = d;
    }
    [twoBack, oneBack, row] = [oneBack, row, twoBack];
  }
  return oneBack[n] ?? 0;
}

/**
 * The candidate closest to `word` (case-insensitively), when it is close enough to be what
 * the user meant: at most a third of the word's length away (at least 2 edits allowed), or
 * the start of the candidate.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    // A word cut short ("maxHeader") is as good as one typo away.
    const d = lower.length >= 3 && other.startsWith(lower) ? 1 : editDistance(lower, other);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= limit ? best : undefined;
}

/**
 * The keys an options type allows, as an object so that TypeScript checks the list is
 * complete: `{ mode: true, descr: true, … } satisfies OptionKeys<NpyAppendArrayOptions>`.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

// The Python package's argument names, and what they are here.
const PYTHON_NAMES: Readonly<Record<string, string>> = {
  delete_if_exists: `mode: "overwrite"`,
  rewrite_header_on_append: "rewriteHeaderOnAppend",
  zerofill_incomplete: "zeroFill",
  inplace: "inPlace",
};

// Options renamed before the first release, and their names now.
const RENAMED: Readonly<Record<string, string>> = { sync: "durability" };

/**
 * Refuses an options object with a key the API does not know, so that a misspelt or renamed
 * option fails loudly instead of silently running with its default.
 *
 * @param options What the user passed (`undefined` is fine).
 * @param known The keys the API takes.
 * @param action What the call does, for the message: `open "out.npy"`.
 * @throws {TypeError} `Cannot open "out.npy": unknown option "bufferSzie": did you mean
 *   "bufferSize"?`
 */
export function checkOptionKeys(
  options: object | undefined,
  known: OptionKeys<object> | Readonly<Record<string, true>>,
  action: string,
): void {
  if (options === undefined || options === null) return;
  if (typeof options !== "object") {
    throw new TypeError(`Cannot ${action}: options must be an object, not ${typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const python = PYTHON_NAMES[key];
    if (python !== undefined && Object.hasOwn(known, python.split(":")[0] ?? python)) {
      throw new TypeError(
        `Cannot ${action}: unknown option ${JSON.stringify(key)}: that is the Python ` +
          `package's name; here it is ${python}`,
      );
    }
    const renamed = RENAMED[key];
    if (renamed !== undefined && Object.hasOwn(known, renamed)) {
      throw new TypeError(
        `Cannot ${action}: unknown option ${JSON.stringify(key)}: it is now ` +
          `${JSON.stringify(renamed)} (the same values)`,
      );
    }
    const guess = closest(key, Object.keys(known));
    throw new TypeError(
      `Cannot ${action}: unknown option ${JSON.stringify(key)}` +
        (guess === undefined
          ? ` (options: ${Object.keys(known).join(", ")})`
          : `: did you mean ${JSON.stringify(guess)}?`),
    );
  }
}
